//! The HTML report as a browser sees it, and `wsspec report`: headless Chromium renders `index.html`,
//! and the verdict counts and matrix cells in its DOM must match `results.json`; runs of two agents
//! merge into one matrix, shards of one agent into one column.
//!
//! Without Chromium (Debian `chromium`, installed by `scripts/install-peers`) the browser test says so
//! and passes, unless `WSSPEC_REQUIRE_PEERS` is set (as `scripts/test` and CI do).

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]

use crate::common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use common::{chromium, headless, out_dir, read_json, verdicts, wsspec};

/// The DOM of a page after Chromium loaded it and ran its script, and Chromium's log.
fn dump_dom(browser: &Path, page: &Path) -> (String, String) {
    dump_dom_at(browser, page, "", &[])
}

/// The DOM of a page opened at a fragment (`#…`, or `""`), with more Chromium arguments.
fn dump_dom_at(browser: &Path, page: &Path, fragment: &str, extra: &[&str]) -> (String, String) {
    let profile = out_dir("chromium-profile");
    let output = headless(browser, &profile)
        .arg("--enable-logging=stderr")
        .args(extra)
        .arg("--dump-dom")
        .arg(format!(
            "file://{}{fragment}",
            page.canonicalize().unwrap().display()
        ))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "chromium failed: {stderr}");
    (String::from_utf8(output.stdout).unwrap(), stderr)
}

/// The attributes of every `<tag …>` start tag in some markup, as name → value maps (values are
/// left as serialized: these tests only read plain ids and verdict names).
fn start_tags(markup: &str, tag: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{tag} ");
    markup
        .match_indices(&open)
        .map(|(at, _)| {
            let rest = &markup[at + open.len()..];
            let inside = &rest[..rest.find('>').unwrap()];
            let mut attrs = BTreeMap::new();
            let mut text = inside;
            while let Some(eq) = text.find("=\"") {
                let name = text[..eq].trim().to_owned();
                let value_start = eq + 2;
                let value_end = value_start + text[value_start..].find('"').unwrap();
                attrs.insert(name, text[value_start..value_end].to_owned());
                text = &text[value_end + 1..];
            }
            attrs
        })
        .collect()
}

/// The `data-count` of the element with this id.
fn count(dom: &str, id: &str) -> usize {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[at..];
    let value = rest["data-count=\"".len() + rest.find("data-count=\"").unwrap()..]
        .split('"')
        .next()
        .unwrap();
    value.parse().unwrap()
}

/// Runs `wsspec server` against the built-in server into a fresh folder and returns the folder.
fn run_reference(name: &str, agent: &str, cases: &str) -> PathBuf {
    let out = out_dir(name);
    let output = wsspec(&[
        "server",
        "--cases",
        cases,
        "--agent",
        agent,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn rendered_page_matches_results_json() {
    // Sections with OK, NON-STRICT (6.4.3, 6.4.4) and INFORMATIONAL (7.1.6) verdicts.
    let out = run_reference("html-dom", "reference", "1.*,2.*,6.4.*,7.1.*");
    assert!(out.join("badge.svg").exists(), "every run writes the badge");
    let page = out.join("index.html");
    let Some(browser) = chromium() else { return };
    let (dom, log) = dump_dom(&browser, &page);
    assert!(!log.contains("Uncaught"), "script error: {log}");

    let results = read_json(&out.join("results.json"));
    let expected: BTreeMap<String, String> = verdicts(&results).into_iter().collect();
    let cells: BTreeMap<String, String> = start_tags(&dom, "td")
        .into_iter()
        .filter(|attrs| attrs.contains_key("data-verdict"))
        .map(|attrs| {
            assert_eq!(attrs["data-agent"], "reference");
            (attrs["data-case"].clone(), attrs["data-verdict"].clone())
        })
        .collect();
    assert_eq!(
        cells, expected,
        "one matrix cell per case, with its verdict"
    );

    let mut by_verdict: BTreeMap<&str, usize> = BTreeMap::new();
    for verdict in expected.values() {
        *by_verdict.entry(verdict).or_default() += 1;
    }
    for verdict in [
        "pass",
        "non-strict",
        "informational",
        "unimplemented",
        "fail",
        "error",
    ] {
        assert_eq!(
            count(&dom, &format!("count-0-{verdict}")),
            by_verdict.get(verdict).copied().unwrap_or(0),
            "{verdict}"
        );
    }
    assert_eq!(count(&dom, "total-0"), expected.len());
    assert!(by_verdict["non-strict"] > 0 && by_verdict["informational"] > 0);
    // Rows that need attention come first.
    let first_row = start_tags(&dom, "tr")
        .into_iter()
        .find_map(|attrs| attrs.get("data-case").cloned())
        .unwrap();
    assert_eq!(expected[&first_row], "non-strict");

    // A link to an agent's outcome draws the case's outcomes from the compressed case data (the
    // virtual time lets the inflating finish before the DOM is dumped).
    let (dom, log) = dump_dom_at(
        &browser,
        &page,
        &format!("#r0-{first_row}"),
        &["--virtual-time-budget=5000"],
    );
    assert!(!log.contains("Uncaught"), "script error: {log}");
    let outcome = start_tags(&dom, "section")
        .into_iter()
        .find(|attrs| attrs.get("id") == Some(&format!("r0-{first_row}")))
        .unwrap_or_else(|| panic!("no outcome drawn for {first_row}"));
    assert_eq!(outcome["data-verdict"], "non-strict");
    assert!(outcome["class"].contains("targeted"), "{outcome:?}");
    assert!(
        dom.contains("Wire transcript: "),
        "the transcript's summary"
    );
}

#[test]
fn report_merges_agents_and_shards() {
    let alpha = run_reference("merge-alpha", "alpha", "1.1.*");
    let beta = run_reference("merge-beta", "beta", "1.1.*");
    let alpha_more = run_reference("merge-alpha-2", "alpha", "1.2.*");
    let merged = out_dir("merged");
    let file = |dir: &Path| dir.join("results.json").to_str().unwrap().to_owned();
    let output = wsspec(&[
        "report",
        &file(&alpha),
        &file(&beta),
        &file(&alpha_more),
        "--out",
        merged.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(alpha): 16 passed"), "{stdout}");
    assert!(stdout.contains("(beta): 8 passed"), "{stdout}");
    let page = std::fs::read_to_string(merged.join("index.html")).unwrap();
    let cells = start_tags(&page, "td");
    let in_column = |agent: &str| {
        cells
            .iter()
            .filter(|attrs| attrs.get("data-agent").is_some_and(|a| a == agent))
            .filter(|attrs| attrs.get("data-verdict").is_some_and(|v| v == "pass"))
            .count()
    };
    assert_eq!(in_column("alpha"), 16, "the shards of alpha share a column");
    assert_eq!(in_column("beta"), 8);
    assert_eq!(
        start_tags(&page, "th")
            .iter()
            .filter(|attrs| attrs.contains_key("data-col"))
            .count(),
        2
    );
    let badge = std::fs::read_to_string(merged.join("badge.svg")).unwrap();
    assert!(badge.contains("A+ · MUST 100%"), "{badge}");

    // Each agent's merged results, compressed; Autobahn's per-case files only when asked for.
    let index = read_json(&merged.join("index.json"));
    assert_eq!(index["alpha"]["1.2.1"]["behavior"], "OK");
    assert!(index["alpha"]["1.2.1"].get("reportfile").is_none());
    assert!(merged.join("alpha/results.json.gz").exists());
    assert!(!merged.join("alpha/results.json").exists());
    assert!(!merged.join("alpha/alpha_case_1_2_1.json").exists());
    let again = out_dir("merged-again");
    let output = wsspec(&[
        "report",
        merged.join("alpha/results.json.gz").to_str().unwrap(),
        &file(&beta),
        "--autobahn-case-files",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::stderr_of(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("(alpha): 16 passed"),
        "a merge reads a merge: {stdout}"
    );
    let index = read_json(&again.join("index.json"));
    assert_eq!(
        index["alpha"]["1.2.1"]["reportfile"],
        "alpha/alpha_case_1_2_1.json"
    );
    assert!(again.join("alpha/alpha_case_1_2_1.json").exists());
}

#[test]
fn report_names_the_file_of_bad_json_and_exits_2() {
    let dir = out_dir("bad-json");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("results.json");
    std::fs::write(&bad, "{\n  \"schema\": 1,\n  oops\n}\n").unwrap();
    let output = wsspec(&[
        "report",
        bad.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("wsspec: error: {}:3: ", bad.display())),
        "{stderr}"
    );
    let missing = dir.join("missing.json");
    let output = wsspec(&["report", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!dir.join("index.html").exists());
}
