//! Bad input gets one clear line and the documented exit code. (Hostile peers are in hostile.rs.)

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::net::TcpListener;

use common::{stderr_of, wsspec};

#[test]
fn unreachable_target_exits_3_with_one_line() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = common::out_dir("unreachable");
    let output = wsspec(&[
        "server",
        &format!("ws://127.0.0.1:{port}/"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("wsspec: error: cannot reach ws://127.0.0.1:"),
        "{stderr}"
    );
}

/// An output folder that cannot be written is refused before any work: exit 2 even though the
/// target is unreachable too (which would be exit 3 once the run started), in both roles.
#[test]
fn an_unwritable_output_folder_is_refused_before_the_run() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for args in [
        vec!["server".to_owned(), format!("ws://127.0.0.1:{port}/")],
        vec![
            "client".to_owned(),
            "--cases".to_owned(),
            "1.1.1".to_owned(),
        ],
    ] {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--out", "/proc/wsspec-cannot-write-here"]);
        let output = wsspec(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = stderr_of(&output);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(
                "wsspec: error: cannot write the reports to /proc/wsspec-cannot-write-here: "
            ),
            "{stderr}"
        );
    }
}

#[test]
fn malformed_case_file_exits_2_naming_file_and_line() {
    let dir = common::out_dir("bad-cases");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("01-bad.toml");
    std::fs::write(
        &file,
        "section = \"1\"\ntitle = \"Bad\"\n\n[[case]]\nid = \"1.1\"\ntitle = \"t\"\nrfc = \"r\"\nlevel = \"must\"\n\
         requirement = \"q\"\nsteps = [\n  { send = { opcode = \"text\", payload = \"x\" } },\n  { expect = \"echoo\" },\n]\n",
    )
    .unwrap();
    let output = wsspec(&["list", "--cases-dir", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    let expected = format!("wsspec: error: {}:12: ", file.display());
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("echoo"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["server", "http://127.0.0.1:1/"],
        vec!["server", "not a url"],
        vec!["server", "--cases", "99.*"],
        vec!["server", "--jobs", "0"],
        vec!["frobnicate"],
    ] {
        let output = wsspec(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
    let output = wsspec(&["server", "--cases", "99.*"]);
    assert!(stderr_of(&output).contains("no case matches `99.*`"));
}

#[test]
fn bad_values_exit_2_with_one_line_naming_the_value() {
    for (args, names) in [
        (vec!["server", "ws://"], "`ws://` is not a URL"),
        (
            vec!["server", "ws://127.0.0.1:99999/"],
            "`ws://127.0.0.1:99999/` is not a URL: invalid port number",
        ),
        (
            vec!["server", "http://127.0.0.1:1/"],
            "`http://127.0.0.1:1/`: the scheme must be ws://",
        ),
        (vec!["server", "--cases", "1..*"], "no case matches `1..*`"),
        (
            vec!["server", "--exclude", "*"],
            "no case left to run: --exclude removes every selected case",
        ),
        (
            vec!["list", "--cases-dir", "/nonexistent-wsspec-cases"],
            "/nonexistent-wsspec-cases:1: cannot read the case folder",
        ),
    ] {
        let output = wsspec(&args);
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("wsspec: error: {names}")),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_busy_port_exits_2_naming_the_address() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let output = wsspec(&["echo", "--listen", &addr]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("wsspec: error: cannot listen on {addr}: ")),
        "{stderr}"
    );
}
