//! Bad input gets one clear line and the documented exit code; a garbage peer never panics or hangs.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

mod common;

use std::{
    io::{Read, Write},
    net::TcpListener,
    time::{Duration, Instant},
};

use common::{run_server, wsspec};

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn unreachable_target_exits_3_with_one_line() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = wsspec(&[
        "server",
        &format!("ws://127.0.0.1:{port}/"),
        "--out",
        "/nonexistent/never-written",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("wsspec: error: cannot reach ws://127.0.0.1:"),
        "{stderr}"
    );
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

/// What a hostile test server does with each connection.
#[derive(Clone, Copy)]
enum Hostile {
    /// Answers the request with these bytes instead of HTTP.
    Raw(&'static [u8]),
    /// Completes a correct opening handshake, then sends these bytes.
    AfterUpgrade(&'static [u8]),
}

/// A server that treats every connection as `behaviour` says, then holds it open for a while.
fn hostile(behaviour: Hostile) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut request = vec![0u8; 4096];
                let n = stream.read(&mut request).unwrap_or(0);
                let reply = match behaviour {
                    Hostile::Raw(bytes) => bytes.to_vec(),
                    Hostile::AfterUpgrade(bytes) => {
                        let request = String::from_utf8_lossy(&request[..n]).into_owned();
                        let key = request
                            .lines()
                            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                            .unwrap_or_default()
                            .trim()
                            .to_owned();
                        let mut reply = wsspec_wire::Response::switching_protocols(&key).to_bytes();
                        reply.extend_from_slice(bytes);
                        reply
                    }
                };
                let _ = stream.write_all(&reply);
                std::thread::sleep(Duration::from_secs(20));
            });
        }
    });
    format!("ws://{addr}/")
}

#[test]
fn garbage_instead_of_http_fails_every_case_quickly() {
    let url = hostile(Hostile::Raw(b"\x00\xff garbage \r\n\r\n\x13\x37"));
    let started = Instant::now();
    let (code, results, stderr) = run_server("garbage", Some(&url), &["--cases", "1.1.*,2.*"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15));
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 19);
    for case in cases {
        assert_eq!(case["verdict"], "fail");
        assert!(
            case["actual"]
                .as_str()
                .unwrap()
                .contains("handshake response is not valid HTTP"),
            "{case}"
        );
    }
}

#[test]
fn a_declared_length_of_2_pow_63_fails_without_allocating_or_hanging() {
    // fin=1 op=2, 64-bit length 0x7fff_ffff_ffff_ffff, then three payload bytes and silence.
    let url = hostile(Hostile::AfterUpgrade(
        b"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xffabc",
    ));
    let started = Instant::now();
    let (code, results, stderr) = run_server("huge", Some(&url), &["--cases", "1.1.1,2.1"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    for case in results["cases"].as_array().unwrap() {
        assert_eq!(case["verdict"], "fail", "{case}");
        assert_eq!(case["behavior_close"], "unclean", "{case}");
    }
}
