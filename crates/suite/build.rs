//! Embeds every `cases/*.toml` file of the workspace into the library, so that an installed `wsspec`
//! binary carries its cases and needs no checkout.

use std::{env, fs, path::Path};

fn main() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cases");
    println!("cargo:rerun-if-changed={}", cases.display());
    let mut files: Vec<_> = fs::read_dir(&cases)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out =
        String::from("/// The built-in case files: (file name, contents), in file-name order.\n");
    out.push_str("pub const BUILTIN_CASE_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let full = fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            full.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest =
        Path::new(&env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("builtin_cases.rs");
    if let Err(err) = fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {err}", dest.display());
    }
}
