//! Every step and expectation kind works end to end, through a user's own case folder, against the
//! built-in reference server.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use common::{run_server, verdicts};

const CASES: &str = r#"
section = "90"
title = "Step kinds"

[[case]]
id = "90.1"
title = "Raw bytes: the masked 'Hello' of RFC 6455 §5.7"
rfc = "RFC 6455 §5.7"
level = "must"
requirement = "A single-frame masked text message"
steps = [
  { send_raw = { hex = "81 85 37 fa 21 3d 7f 9f 4d 51 58" } },
  { expect = { message = { opcode = "text", payload = "Hello" } } },
]

[[case]]
id = "90.2"
title = "Silence, then a ping"
rfc = "RFC 6455 §5.5.2"
level = "must"
requirement = "r"
steps = [
  { expect = { nothing = 150 } },
  { send = { opcode = "ping", payload = "x" } },
  { expect = { pong = "x" } },
]

[[case]]
id = "90.3"
title = "Close with a reason, written in 2-byte pieces"
rfc = "RFC 6455 §5.5.1"
level = "must"
requirement = "r"
steps = [
  { close = { code = 1001, reason = "going away" }, chop = 2 },
  { expect = { close = [1001, 1000] } },
]

[[case]]
id = "90.4"
title = "Drop TCP after a message"
rfc = "RFC 6455 §7.1.5"
level = "info"
requirement = "r"
steps = [
  { send = { opcode = "text", payload = "bye" } },
  { expect = "echo" },
  { drop = true },
]

[[case]]
id = "90.5"
title = "Half close: the server sees EOF and ends the connection"
rfc = "RFC 6455 §7.1.1"
level = "must"
requirement = "r"
steps = [
  { half_close = true },
  { expect = "fail" },
]

[[case]]
id = "90.{n}"
title = "A {len}-byte message with its length in the {form} form"
rfc = "RFC 6455 §5.2"
level = "must"
requirement = "r"
params = [{ n = 6, len = 5, form = "u16" }, { n = 7, len = 200, form = "u64" }]
steps = [
  { send = { opcode = "binary", payload = { repeat = "ab", count = "{len}" }, length_form = "{form}" } },
  { expect = { one_of = [{ expect = ["echo"] }, { expect = ["fail"], verdict = "informational" }] } },
]

[[case]]
id = "90.8"
title = "An expectation that cannot be met fails within its time"
rfc = "RFC 6455 §5.2"
level = "must"
requirement = "r"
steps = [
  { send = { opcode = "text", payload = "a" } },
  { expect = { message = { opcode = "text", payload = "b" } }, within_ms = 300 },
]
"#;

#[test]
fn step_kinds_work_against_the_reference_server() {
    let dir = common::out_dir("step-cases");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("90-steps.toml"), CASES).unwrap();
    let (code, results, stderr) =
        run_server("steps", None, &["--cases-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let got = verdicts(&results);
    let expect = [
        ("90.1", "pass"),
        ("90.2", "pass"),
        ("90.3", "pass"),
        ("90.4", "informational"),
        ("90.5", "pass"),
        ("90.6", "pass"),
        ("90.7", "pass"),
        ("90.8", "fail"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, expect, "{results:#}");
    let failed = &results["cases"][7];
    assert!(
        failed["actual"]
            .as_str()
            .unwrap()
            .contains("expected a text message \"b\""),
        "{failed:#}"
    );
    let close = &results["cases"][2]["close"];
    assert_eq!(
        (close["harness_code"].as_u64(), close["clean"].as_bool()),
        (Some(1001), Some(true)),
        "{close}"
    );
}
