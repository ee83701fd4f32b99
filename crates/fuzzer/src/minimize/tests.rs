//! Tests of minimization: candidates stay well-formed, and failures shrink to what causes them.

use wsspec_suite::Role;

use super::*;

/// Greedy minimization with a predicate instead of a server: what the fuzzer does.
fn minimize(mut scenario: Scenario, fails: impl Fn(&Scenario) -> bool) -> Scenario {
    while let Some(smaller) = candidates(&scenario).into_iter().find(|c| fails(c)) {
        scenario = smaller;
    }
    scenario
}

#[test]
fn candidates_are_simpler_and_stay_well_formed() {
    for i in 0..300 {
        let scenario = Scenario::generate(Role::Server, 11, i);
        for candidate in candidates(&scenario) {
            assert_ne!(candidate, scenario);
            // Every candidate still makes a case (no panic on slicing), and a message's pings
            // still sit between its fragments.
            let _ = candidate.step_count();
            for item in &candidate.items {
                if let Item::Message(m) = item {
                    assert!(
                        m.pings
                            .iter()
                            .all(|(after, _)| after + 1 < m.cuts.len() + 1)
                    );
                    if m.opcode == Opcode::Text {
                        if let Body::Bytes(bytes) = &m.body {
                            assert!(std::str::from_utf8(bytes).is_ok());
                        }
                    }
                }
            }
            if let Ending::Violation(v) = &candidate.ending {
                assert!(v.open.is_some() || !v.kind.needs_open());
                if let ViolationKind::InvalidUtf8 { bytes, .. } = &v.kind {
                    assert!(std::str::from_utf8(bytes).is_err());
                }
            }
        }
    }
}

#[test]
fn a_bug_in_one_item_minimizes_to_that_item() {
    // A "server" that mishandles any ping with a payload.
    let fails = |s: &Scenario| {
        s.items
            .iter()
            .any(|item| matches!(item, Item::Ping(p) if !p.is_empty()))
    };
    let mut found = 0;
    for i in 0..200 {
        let scenario = Scenario::generate(Role::Server, 3, i);
        if !fails(&scenario) {
            continue;
        }
        found += 1;
        let small = minimize(scenario, fails);
        assert_eq!(small.opening, Opening::Standard);
        assert_eq!(small.ending, Ending::Done);
        assert_eq!(small.items.len(), 1);
        assert!(
            matches!(&small.items[0], Item::Ping(p) if p.len() == 1),
            "{small:?}"
        );
        assert_eq!(small.step_count(), 2);
    }
    assert!(found > 10);
}

#[test]
fn a_bug_in_the_violation_minimizes_to_the_violation_alone() {
    let fails = |s: &Scenario| matches!(&s.ending, Ending::Violation(v) if matches!(v.kind, ViolationKind::InvalidUtf8 { .. }));
    let mut found = 0;
    for i in 0..400 {
        let scenario = Scenario::generate(Role::Server, 4, i);
        if !fails(&scenario) {
            continue;
        }
        found += 1;
        let small = minimize(scenario, fails);
        assert!(small.items.is_empty());
        let Ending::Violation(v) = &small.ending else {
            panic!()
        };
        let ViolationKind::InvalidUtf8 { bytes, cuts } = &v.kind else {
            panic!()
        };
        assert!(cuts.is_empty() && v.open.is_none() && v.chop.is_none());
        assert!(bytes.len() <= 2, "{bytes:02x?}");
        assert_eq!(small.step_count(), 2);
    }
    assert!(found > 5);
}

#[test]
fn a_character_split_across_fragments_stays_split_while_the_rest_goes() {
    let text = "abcdefghijκlmnopqrstuvwxyz";
    let split = text.find('κ').unwrap() as u64 + 1;
    let scenario = Scenario {
        role: Role::Server,
        opening: Opening::Standard,
        items: vec![Item::Message(Message {
            opcode: Opcode::Text,
            body: Body::Bytes(text.as_bytes().to_vec()),
            cuts: vec![3, split, 20],
            pings: vec![(2, b"ping".to_vec())],
            chop: None,
        })],
        ending: Ending::Done,
    };
    // A "server" that refuses any text fragment that does not end on a character boundary.
    let small = minimize(scenario, |s| {
        s.items.iter().any(|item| match item {
            Item::Message(m) if m.opcode == Opcode::Text => {
                let Body::Bytes(bytes) = &m.body else {
                    return false;
                };
                m.cuts
                    .iter()
                    .any(|cut| std::str::from_utf8(&bytes[..*cut as usize]).is_err())
            }
            _ => false,
        })
    });
    let Item::Message(m) = &small.items[0] else {
        panic!()
    };
    assert_eq!(m.body, Body::Bytes("κ".as_bytes().to_vec()), "{m:?}");
    assert_eq!(m.cuts, [1]);
    assert!(m.pings.is_empty());
}

#[test]
fn merging_fragments_keeps_the_pings_between_fragments() {
    let mut m = Message {
        opcode: Opcode::Binary,
        body: Body::Bytes(vec![0; 10]),
        cuts: vec![2, 4, 6],
        pings: vec![(0, vec![]), (2, vec![1])],
        chop: None,
    };
    merge_fragments(&mut m, 2);
    assert_eq!(m.cuts, [2, 4]);
    assert_eq!(m.pings, [(0, vec![]), (1, vec![1])]);
    merge_fragments(&mut m, 0);
    assert_eq!(m.pings, [(0, vec![]), (0, vec![1])]);
    merge_fragments(&mut m, 0);
    assert!(m.cuts.is_empty() && m.pings.is_empty());
}

#[test]
fn a_length_threshold_is_found_byte_by_byte_near_it() {
    let scenario = Scenario {
        role: Role::Server,
        opening: Opening::Standard,
        items: vec![Item::Message(Message {
            opcode: Opcode::Binary,
            body: Body::Repeat {
                pattern: vec![1, 2],
                len: 65540,
            },
            cuts: vec![],
            pings: vec![],
            chop: None,
        })],
        ending: Ending::Done,
    };
    let small = minimize(scenario, |s| {
        s.items
            .iter()
            .any(|item| matches!(item, Item::Message(m) if m.body.len() > 65535))
    });
    let Item::Message(m) = &small.items[0] else {
        panic!()
    };
    assert_eq!(m.body.len(), 65536);
}
