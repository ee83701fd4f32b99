//! Embeds every `cases/*.toml` and `requirements/*.toml` file of the workspace into the library, so
//! that an installed `wsspec` binary carries its cases and its requirement registry and needs no
//! checkout.

use std::{env, fs, path::Path};

fn main() {
    let mut out = String::new();
    embed(
        "cases",
        "The built-in case files",
        "BUILTIN_CASE_FILES",
        &mut out,
    );
    embed(
        "requirements",
        "The requirement registry's files",
        "BUILTIN_REQUIREMENT_FILES",
        &mut out,
    );
    let dest =
        Path::new(&env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("builtin_files.rs");
    if let Err(err) = fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {err}", dest.display());
    }
}

/// Appends a constant `name` holding (file name, contents) of every `*.toml` file of the workspace's
/// `folder`, in file-name order.
fn embed(folder: &str, what: &str, name: &str, out: &mut String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(folder);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    out.push_str(&format!(
        "/// {what}: (file name, contents), in file-name order.\npub const {name}: &[(&str, &str)] = &[\n"
    ));
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let full = fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        out.push_str(&format!(
            "    ({file:?}, include_str!({:?})),\n",
            full.display().to_string()
        ));
    }
    out.push_str("];\n");
}
