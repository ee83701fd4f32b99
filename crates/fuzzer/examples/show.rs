//! Prints generated scenarios as case files.
fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for i in 0..4 {
        let s = wsspec_fuzzer::scenario::Scenario::generate(seed, i);
        let case = s.to_case(&wsspec_fuzzer::scenario::CaseOptions {
            id: wsspec_suite::CaseId::parse(&format!("99.{i}")).unwrap(),
            title: s.describe(),
            note: None,
            wait_ms: 1000,
            timeout_ms: 10000,
        });
        println!("{}", wsspec_suite::write_file(99, "x", &[case]));
    }
}
