//! Tests of scenarios: generation, the cases they become, and their descriptions.

use std::borrow::Cow;

use wsspec_suite::{Suite, case::Step};

use super::*;

fn options() -> CaseOptions {
    CaseOptions {
        id: CaseId::parse("99.1").unwrap(),
        title: "t".into(),
        note: Some("n".into()),
        wait_ms: 500,
        timeout_ms: 5000,
    }
}

#[test]
fn the_same_seed_and_index_give_the_same_scenario() {
    assert_eq!(
        Scenario::generate(Role::Server, 7, 3),
        Scenario::generate(Role::Server, 7, 3)
    );
    let distinct: std::collections::HashSet<String> = (0..50)
        .map(|i| format!("{:?}", Scenario::generate(Role::Server, 7, i)))
        .collect();
    assert!(distinct.len() > 45, "{}", distinct.len());
    assert_ne!(scenario_seed(1, 0), scenario_seed(0, 1));
}

#[test]
fn generated_scenarios_cover_every_kind() {
    let mut shapes = std::collections::BTreeSet::new();
    for i in 0..3000 {
        for word in Scenario::generate(Role::Server, 1, i).shape() {
            shapes.insert(word.split(['+', ':']).take(2).collect::<Vec<_>>().join(":"));
        }
    }
    for word in [
        "refuse:remove",
        "refuse:version",
        "accept:header-case",
        "text:u64",
        "binary:u16",
        "ping:short",
        "pong",
        "close",
        "violation:rsv",
        "violation:reserved-opcode",
        "violation:oversized-control",
        "violation:fragmented-control",
        "violation:stray-continuation",
        "violation:new-message-mid-fragment",
        "violation:invalid-utf8",
        "violation:invalid-close-code",
        "violation:one-byte-close",
        "violation:invalid-close-reason",
        "violation:unmasked",
    ] {
        assert!(shapes.contains(word), "{word} never generated: {shapes:?}");
    }
}

#[test]
fn client_scenarios_vary_the_response_and_mask_the_bad_frame() {
    let mut shapes = std::collections::BTreeSet::new();
    for i in 0..3000 {
        let scenario = Scenario::generate(Role::Client, 1, i);
        assert_eq!(scenario.role, Role::Client);
        assert!(!matches!(
            scenario.opening,
            Opening::Accepted(_) | Opening::Refused(_)
        ));
        for word in scenario.shape() {
            shapes.insert(word.split(['+', ':']).take(2).collect::<Vec<_>>().join(":"));
        }
        let case = scenario.to_case(&options());
        assert_eq!(case.roles, [Role::Client]);
        assert!(!case.handshake.then_connect);
    }
    for word in [
        "refuse-response:status",
        "refuse-response:accept",
        "refuse-response:extension",
        "accept-response:value-case",
        "accept-response:lower-case-names",
        "violation:masked",
        "violation:rsv",
        "text:u64",
    ] {
        assert!(shapes.contains(word), "{word} never generated: {shapes:?}");
    }
    assert!(!shapes.contains("violation:unmasked"), "{shapes:?}");
    assert!(
        !shapes.iter().any(|s| s.starts_with("refuse:")),
        "{shapes:?}"
    );
}

#[test]
fn a_refused_response_sends_a_message_that_must_not_be_echoed() {
    let scenario = Scenario {
        role: Role::Client,
        opening: Opening::ResponseRefused(ResponseRefuseEdit::KeyAsAccept),
        items: vec![Item::Ping(Vec::new())],
        ending: Ending::Done,
    };
    let case = scenario.to_case(&options());
    assert!(matches!(
        &case.handshake.response,
        ResponseSpec::Edit(edit) if edit.set == [("Sec-WebSocket-Accept".to_owned(), "$key".to_owned())]
    ));
    assert!(matches!(&case.steps[0], Step::Send { .. }));
    assert!(matches!(
        &case.steps[1],
        Step::Expect { expect: Expect::Fail(codes), on_timeout: OnTimeout::Fail, .. } if codes.is_empty()
    ));
    assert_eq!(
        case.steps.len(),
        2,
        "the items are not sent: {:?}",
        case.steps
    );
    let status = Scenario {
        opening: Opening::ResponseRefused(ResponseRefuseEdit::Status(200)),
        ..scenario
    };
    let case = status.to_case(&options());
    assert!(matches!(
        &case.steps[1],
        Step::Expect {
            on_timeout: OnTimeout::Pass,
            ..
        }
    ));
    assert!(matches!(&case.steps[2], Step::Drop));
}

#[test]
fn accepted_response_edits_combine() {
    let ResponseSpec::Edit(edit) = ResponseAcceptEdit::response(&[
        ResponseAcceptEdit::ValueCase {
            upgrade: "WebSocket",
            connection: "upgrade",
        },
        ResponseAcceptEdit::LowerCaseNames,
        ResponseAcceptEdit::FillerFields(2),
    ]) else {
        panic!()
    };
    let set: Vec<(&str, &str)> = edit
        .set
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        set,
        [
            ("upgrade", "WebSocket"),
            ("connection", "upgrade"),
            ("sec-websocket-accept", "$accept")
        ]
    );
    assert_eq!(edit.add.len(), 2);
    assert!(edit.remove.is_empty() && edit.status.is_none());
}

#[test]
fn every_case_is_valid_and_round_trips_through_a_case_file() {
    for (role, i) in (0..400).flat_map(|i| [(Role::Server, i), (Role::Client, i)]) {
        let scenario = Scenario::generate(role, 99, i);
        let case = scenario.to_case(&options());
        let text = wsspec_suite::write_file(99, "Fuzz findings", std::slice::from_ref(&case));
        let suite = Suite::from_sources([("f.toml".to_string(), Cow::Borrowed(text.as_str()))])
            .unwrap_or_else(|err| panic!("scenario {i}: {err}\n{text}"));
        let mut loaded = suite.cases[0].clone();
        loaded.source = case.source.clone();
        loaded.section_title = String::new();
        assert_eq!(loaded, case, "scenario {i}:\n{text}");
    }
}

#[test]
fn texts_are_utf8_and_invalid_ones_are_not() {
    for i in 0..500 {
        let scenario = Scenario::generate(Role::Server, 5, i);
        for item in &scenario.items {
            if let Item::Message(Message {
                opcode: Opcode::Text,
                body: Body::Bytes(bytes),
                ..
            }) = item
            {
                assert!(std::str::from_utf8(bytes).is_ok());
            }
        }
        if let Ending::Violation(Violation {
            kind: ViolationKind::InvalidUtf8 { bytes, .. },
            ..
        }) = &scenario.ending
        {
            assert!(std::str::from_utf8(bytes).is_err());
        }
    }
}

#[test]
fn a_fragmented_message_with_pings_becomes_frames_and_expectations() {
    let scenario = Scenario {
        role: Role::Server,
        opening: Opening::Standard,
        items: vec![Item::Message(Message {
            opcode: Opcode::Text,
            body: Body::Bytes("κόσμε".as_bytes().to_vec()),
            cuts: vec![1, 1, 5],
            pings: vec![(1, b"p".to_vec())],
            chop: Some(3),
        })],
        ending: Ending::Violation(Violation {
            kind: ViolationKind::OneByteClose(3),
            open: None,
            chop: None,
        }),
    };
    let case = scenario.to_case(&options());
    let Step::Send { frames, write } = &case.steps[0] else {
        panic!("{:?}", case.steps[0]);
    };
    let shape: Vec<(u8, bool, u64)> = frames
        .iter()
        .map(|f| (f.opcode.as_u8(), f.fin, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (1, false, 1),
            (0, false, 0),
            (9, true, 1),
            (0, false, 4),
            (0, true, 5)
        ]
    );
    assert_eq!(write.chop, Some(3));
    assert!(matches!(
        &case.steps[1],
        Step::Expect { expect: Expect::OneOf(alts), within_ms: 500, .. } if alts.len() == 2
    ));
    assert!(matches!(&case.steps[2], Step::Close { .. }));
    assert!(matches!(
        &case.steps[3],
        Step::Expect { expect: Expect::Fail(codes), .. } if codes == &[CloseCode::PROTOCOL_ERROR]
    ));
    assert!(case.handshake.then_connect);
    assert_eq!(scenario.step_count(), 4);
    assert_eq!(
        scenario.shape(),
        [
            "text:short+fragments+pings+chopped",
            "violation:one-byte-close"
        ]
    );
    assert!(scenario.contains_shape(&["violation:one-byte-close".into()]));
    assert!(!scenario.contains_shape(&["ping:short".into()]));
}

#[test]
fn a_refused_handshake_has_no_steps() {
    let scenario = Scenario {
        role: Role::Server,
        opening: Opening::Refused(RefuseEdit::Version("25".into())),
        items: vec![Item::Ping(Vec::new())],
        ending: Ending::Done,
    };
    let case = scenario.to_case(&options());
    assert!(case.steps.is_empty());
    let HandshakeExpect::Refuse(refusal) = &case.handshake.expect else {
        panic!()
    };
    assert!(refusal.version_header);
}
