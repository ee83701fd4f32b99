//! The embedded default: `wsspec server` with no URL tests the built-in tokio-tungstenite server.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use common::{ids_with, run_server, verdicts, wsspec};

#[test]
fn reference_server_passes_every_case() {
    // Every case, with sections 12 and 13 at 20 messages a case (the same sizes and parameters):
    // the full 1000 take a minute of compression (docs/performance.md).
    let cases = common::scaled_suite("reference", 20);
    let (code, results, stderr) =
        run_server("reference", None, &["--cases-dir", cases.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let listed = String::from_utf8(wsspec(&["list", "--role", "server"]).stdout)
        .unwrap()
        .lines()
        .count();
    assert_eq!(verdicts(&results).len(), listed);
    // tungstenite checks UTF-8 across frames as they arrive, but a single frame only once it is whole
    // (Autobahn 25.10.1 agrees); the informational cases only record what the server did.
    assert_eq!(ids_with(&results, "non-strict"), ["6.4.3", "6.4.4"]);
    assert_eq!(
        ids_with(&results, "informational"),
        ["7.1.6", "7.13.1", "7.13.2"]
    );
    // The connections that agree to permessage-deflate run on yawc: no case is UNIMPLEMENTED.
    assert_eq!(ids_with(&results, "pass").len(), listed - 5);
    assert_eq!(results["complete"], true);
    assert_eq!(results["schema"], 1);
}

#[test]
fn without_permessage_deflate_the_compression_cases_are_unimplemented() {
    // `wsspec echo --no-deflate` declines every offer: 17.1 and 17.6 check declining and RSV1
    // without compression, and pass; the other cases of 12, 13 and 17 need it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(async {
        let server = wsspec_reference::EchoServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            wsspec_reference::EchoConfig::default(),
        )
        .await
        .unwrap();
        let url = server.url();
        server.spawn();
        url
    });
    let (code, results, stderr) = run_server(
        "reference-no-deflate",
        Some(&url),
        &["--cases", "12.1.1,13.1.1,17.*"],
    );
    assert_eq!(code, 0, "{stderr}");
    let unimplemented = ids_with(&results, "unimplemented");
    assert!(unimplemented.contains(&"12.1.1".to_owned()));
    assert!(unimplemented.contains(&"13.1.1".to_owned()));
    let needs_deflate = ["12.", "13.", "17.2.", "17.3.", "17.4.", "17.5."];
    assert!(
        unimplemented
            .iter()
            .all(|id| needs_deflate.iter().any(|prefix| id.starts_with(prefix))),
        "{unimplemented:?}"
    );
    assert!(
        ids_with(&results, "pass")
            .iter()
            .any(|id| id.starts_with("17.1."))
    );
}

#[test]
fn index_json_has_autobahn_shape() {
    let out = common::out_dir("index");
    let out_str = out.to_string_lossy().into_owned();
    let junit = out.join("junit/wsspec.xml");
    let output = wsspec(&[
        "server",
        "--cases",
        "2.*",
        "--agent",
        "Ref Server",
        "--out",
        &out_str,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("index.json")).unwrap()).unwrap();
    let case = &index["Ref Server"]["2.10"];
    assert_eq!(case["behavior"], "OK");
    assert_eq!(case["behaviorClose"], "OK");
    assert_eq!(case["remoteCloseCode"], 1000);
    assert_eq!(case["reportfile"], "ref_server_case_2_10.json");
    assert!(out.join("ref_server_case_2_10.json").exists());
    assert_eq!(index["Ref Server"].as_object().unwrap().len(), 11);
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="Ref Server section 2" tests="11""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="2.10 Ten pings back to back""#),
        "{xml}"
    );
}

#[test]
fn selection_takes_wildcards_commas_and_excludes() {
    let (code, results, stderr) = run_server(
        "select",
        None,
        &["--cases", "1.1.*,2.1*", "--exclude", "2.11"],
    );
    assert_eq!(code, 0, "{stderr}");
    let ids: Vec<String> = verdicts(&results).into_iter().map(|(id, _)| id).collect();
    let mut expected: Vec<String> = (1..=8).map(|n| format!("1.1.{n}")).collect();
    expected.extend(["2.1".to_owned(), "2.10".to_owned()]);
    assert_eq!(ids, expected);
    assert_eq!(ids_with(&results, "pass").len(), 10);
}

#[test]
fn list_shows_every_case_with_level_and_rfc() {
    let output = wsspec(&["list"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 662, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("2.5 ") && l.contains("must") && l.contains("RFC 6455 §5.5")),
        "{text}"
    );
    let output = wsspec(&["list", "--json", "5.1*"]);
    let cases: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(cases.as_array().unwrap().len(), 11);
    assert_eq!(cases[0]["id"], "5.1");
    assert_eq!(cases[0]["level"], "must");
}
