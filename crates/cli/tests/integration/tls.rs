//! wss://: the whole suite over TLS, certificates trusted only when they should be, and one-line errors
//! for bad certificate files.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use common::{run_server, stderr_of, verdicts, wsspec};

/// `wsspec echo` in its own process, killed when dropped.
struct Echo {
    child: Child,
    url: String,
}

impl Echo {
    fn start(args: &[&str]) -> Echo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
            .args(["echo", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("echo prints its URL").unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split(' ').next().unwrap().to_owned();
            }
        };
        Echo { child, url }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_whole_suite_gives_the_same_verdicts_over_wss_as_over_ws() {
    // Sections 12 and 13 at 20 messages a case.
    let cases = common::scaled_suite("tls", 20);
    let cases = ["--cases-dir", cases.to_str().unwrap()];
    let (code, plain, stderr) = run_server("plain", None, &cases);
    assert_eq!(code, 0, "{stderr}");
    let (code, tls, stderr) = run_server("tls", None, &[&cases[..], &["--tls"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        tls["target"]["url"]
            .as_str()
            .unwrap()
            .starts_with("wss://127.0.0.1:"),
        "{}",
        tls["target"]
    );
    let (plain, tls) = (verdicts(&plain), verdicts(&tls));
    assert_eq!(plain.len(), tls.len());
    for (over_ws, over_wss) in plain.iter().zip(&tls) {
        assert_eq!(over_ws, over_wss);
    }
}

#[test]
fn a_self_signed_server_needs_insecure_or_its_certificate() {
    let dir = common::out_dir("echo-cert");
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("echo.pem");
    let echo = Echo::start(&["--tls", "--write-cert", cert.to_str().unwrap()]);
    assert!(echo.url.starts_with("wss://127.0.0.1:"), "{}", echo.url);
    // 7.1.6 is informational against the reference server.
    let cases = ["--cases", "1.*,2.*,7.1.*", "--exclude", "7.1.6"];

    let (code, results, stderr) = run_server("untrusted", Some(&echo.url), &cases);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(results, serde_json::Value::Null, "nothing is run");
    let error: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("wsspec: error"))
        .collect();
    assert_eq!(
        error,
        [format!(
            "wsspec: error: cannot reach {}: TLS handshake with 127.0.0.1 failed: invalid peer \
             certificate: UnknownIssuer (use --insecure for a self-signed certificate, or --ca FILE)",
            echo.url
        )]
    );

    for trust in [vec!["--insecure"], vec!["--ca", cert.to_str().unwrap()]] {
        let mut args = cases.to_vec();
        args.extend(&trust);
        let (code, results, stderr) = run_server("trusted", Some(&echo.url), &args);
        assert_eq!(code, 0, "{trust:?}: {stderr}");
        let verdicts = verdicts(&results);
        assert_eq!(verdicts.len(), 32, "{trust:?}");
        assert!(
            verdicts.iter().all(|(_, verdict)| verdict == "pass"),
            "{trust:?}: {verdicts:?}"
        );
    }
}

#[test]
fn echo_serves_given_pem_files() {
    // Let one echo server generate a certificate and key, then serve them from another.
    let dir = common::out_dir("given-pem");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let output = wsspec(&[
        "echo",
        "--cert",
        "/nonexistent/cert.pem",
        "--key",
        "/nonexistent/key.pem",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_of(&output),
        "wsspec: error: cannot use /nonexistent/cert.pem: No such file or directory (os error 2)\n"
    );
    write_self_signed(&cert, &key);
    let echo = Echo::start(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(echo.url.starts_with("wss://"), "{}", echo.url);
    let (code, results, stderr) = run_server(
        "given",
        Some(&echo.url),
        &["--cases", "1.1.*", "--ca", cert.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(verdicts(&results).len(), 8);
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files.
fn write_self_signed(cert: &Path, key: &Path) {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(cert, generated.cert.pem()).unwrap();
    std::fs::write(key, generated.signing_key.serialize_pem()).unwrap();
}

#[test]
fn bad_ca_files_exit_2_with_one_line_naming_the_file() {
    let dir = common::out_dir("bad-ca");
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "this is no certificate\n").unwrap();
    let missing = dir.join("missing.pem");
    for (file, reason) in [
        (&missing, "cannot read the CA file"),
        (&garbage, "is not a PEM certificate bundle"),
    ] {
        let output = wsspec(&[
            "server",
            "wss://127.0.0.1:1/",
            "--ca",
            file.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2));
        let stderr = stderr_of(&output);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
    }
}

#[test]
fn tls_flags_that_make_no_sense_exit_2() {
    for args in [
        vec!["server", "ws://127.0.0.1:1/", "--tls"],
        vec!["echo", "--write-cert", "/tmp/never-written.pem"],
        vec!["echo", "--cert", "cert.pem"],
    ] {
        let output = wsspec(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
}
