//! `wsspec completions` and `wsspec man`: what they generate from the CLI definition is a script the
//! shell accepts and manual pages that name every command and its options.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common::{out_dir, wsspec};

#[test]
fn the_bash_completions_parse_and_complete_every_command() {
    let output = wsspec(&["completions", "bash"]);
    assert_eq!(output.status.code(), Some(0));
    let script = String::from_utf8(output.stdout).unwrap();
    for command in ["server", "client", "report", "fuzz", "requirements", "man"] {
        assert!(script.contains(command), "{command}");
    }
    assert!(script.contains("--baseline"));
    let file = out_dir("completions").with_extension("bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = wsspec(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(!output.stdout.is_empty(), "{shell}");
    }
    assert_eq!(wsspec(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn the_manual_pages_cover_each_command() {
    let output = wsspec(&["man"]);
    assert_eq!(output.status.code(), Some(0));
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    assert!(page.contains(".TH wsspec 1"), "{page}");
    assert!(page.contains("wsspec\\-server(1)"), "{page}");

    let dir = out_dir("man-pages");
    let output = wsspec(&["man", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let server = std::fs::read_to_string(dir.join("wsspec-server.1")).unwrap();
    assert!(server.contains(".TH wsspec-server 1"), "{server}");
    assert!(server.contains("\\-\\-baseline"), "{server}");
    for command in [
        "client",
        "report",
        "fuzz",
        "list",
        "requirements",
        "completions",
    ] {
        assert!(
            dir.join(format!("wsspec-{command}.1")).exists(),
            "{command}"
        );
    }
}
