//! The compliance score: how many of the RFC's requirements a peer met, per section and overall, and a
//! letter grade that sums it up. The terminal summary, the HTML report and the badge all use it.
//!
//! The rule (also in docs/reports.md and in every HTML report, from [`RULE`]):
//!
//! - **MUST score**: MUST-level cases met over MUST-level cases scored. A MUST case is met unless its
//!   verdict is FAILED (OK, NON-STRICT, which passes in a less preferred way, and INFORMATIONAL meet it).
//! - **SHOULD score**: SHOULD-level cases met over SHOULD-level cases scored. A SHOULD case is met when
//!   its verdict is OK or INFORMATIONAL.
//! - Not scored: ERROR (a fault of wsspec, never blamed on the peer), UNIMPLEMENTED (an optional feature
//!   the peer declined), and MAY or informational cases.
//! - **Grade**: A+ when every MUST and every SHOULD case is met and no case is NON-STRICT; A when every
//!   MUST case is met and at least 90% of the SHOULD cases; B when every MUST case is met; C from 95% of
//!   the MUST cases; D from 80%; F below. No MUST case scored: no grade (`–`).

use std::{collections::BTreeMap, fmt};

use wsspec_suite::{
    Level,
    results::{CaseResult, RunResults, Verdict},
};

/// The grading rule in one paragraph, as the reports print it.
pub const RULE: &str = "MUST score: MUST-level cases met (any verdict but FAILED) over MUST-level \
cases scored. SHOULD score: SHOULD-level cases met (OK or INFORMATIONAL) over SHOULD-level cases scored. \
ERROR (a fault of wsspec) and UNIMPLEMENTED (an optional feature declined) are not scored. Grade: A+ when \
every MUST and SHOULD case is met and no case is NON-STRICT; A when every MUST case and at least 90% of \
the SHOULD cases are met; B when every MUST case is met; C from 95% of the MUST cases; D from 80%; F below.";

/// Requirements met out of requirements scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ratio {
    /// How many were met.
    pub met: usize,
    /// How many were scored.
    pub scored: usize,
}

impl Ratio {
    /// The share met, from 0 to 1; `None` when nothing was scored.
    pub fn fraction(self) -> Option<f64> {
        (self.scored > 0).then(|| self.met as f64 / self.scored as f64)
    }

    /// Whether every scored requirement was met (true when none was scored).
    pub fn is_full(self) -> bool {
        self.met == self.scored
    }

    /// The percentage met, rounded down to one decimal so that 99.97% never shows as 100%; `–` when
    /// nothing was scored.
    pub fn percent(self) -> String {
        match self.fraction() {
            None => "–".to_owned(),
            Some(_) if self.is_full() => "100%".to_owned(),
            Some(fraction) => {
                let tenths = (fraction * 1000.0).floor() / 10.0;
                let text = format!("{tenths:.1}");
                format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
            }
        }
    }

    fn add(&mut self, met: bool) {
        self.scored += 1;
        if met {
            self.met += 1;
        }
    }
}

impl fmt::Display for Ratio {
    /// `299/301 (99.3%)`, or `none` when nothing was scored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scored == 0 {
            f.write_str("none")
        } else {
            write!(f, "{}/{} ({})", self.met, self.scored, self.percent())
        }
    }
}

/// The score of a set of case results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// MUST-level cases.
    pub must: Ratio,
    /// SHOULD-level cases.
    pub should: Ratio,
    /// Cases rated NON-STRICT, at any level.
    pub non_strict: usize,
    /// Cases left out of the score: ERROR and UNIMPLEMENTED.
    pub not_scored: usize,
}

impl Score {
    /// The score of some results.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Score {
        let mut score = Score::default();
        for case in cases {
            score.add(case.level, case.verdict);
        }
        score
    }

    /// Counts one case.
    pub fn add(&mut self, level: Level, verdict: Verdict) {
        if verdict == Verdict::NonStrict {
            self.non_strict += 1;
        }
        if matches!(verdict, Verdict::Error | Verdict::Unimplemented) {
            self.not_scored += 1;
            return;
        }
        match level {
            Level::Must => self.must.add(verdict != Verdict::Fail),
            Level::Should => self
                .should
                .add(matches!(verdict, Verdict::Pass | Verdict::Informational)),
            Level::May | Level::Info => {}
        }
    }

    /// The letter grade, by the rule in [`RULE`].
    pub fn grade(&self) -> Grade {
        let Some(must) = self.must.fraction() else {
            return Grade::Ungraded;
        };
        let should_met = self.should.fraction().unwrap_or(1.0);
        if self.must.is_full() {
            if self.should.is_full() && self.non_strict == 0 {
                Grade::APlus
            } else if should_met >= 0.9 {
                Grade::A
            } else {
                Grade::B
            }
        } else if must >= 0.95 {
            Grade::C
        } else if must >= 0.8 {
            Grade::D
        } else {
            Grade::F
        }
    }

    /// `A (MUST 301/301 (100%), SHOULD none)`.
    pub fn summary(&self) -> String {
        format!(
            "{} (MUST {}, SHOULD {})",
            self.grade(),
            self.must,
            self.should
        )
    }
}

/// A letter grade, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    /// Every MUST and SHOULD case met, nothing NON-STRICT.
    APlus,
    /// Every MUST case and at least 90% of the SHOULD cases met.
    A,
    /// Every MUST case met.
    B,
    /// At least 95% of the MUST cases met.
    C,
    /// At least 80% of the MUST cases met.
    D,
    /// Fewer than 80% of the MUST cases met.
    F,
    /// No MUST case was scored.
    Ungraded,
}

impl Grade {
    /// The label: `A+`, `A` … `F`, or `–`.
    pub fn label(self) -> &'static str {
        match self {
            Grade::APlus => "A+",
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::F => "F",
            Grade::Ungraded => "–",
        }
    }

    /// A lower-case name for CSS classes and data attributes (`a-plus`, `a` … `f`, `none`).
    pub fn slug(self) -> &'static str {
        match self {
            Grade::APlus => "a-plus",
            Grade::A => "a",
            Grade::B => "b",
            Grade::C => "c",
            Grade::D => "d",
            Grade::F => "f",
            Grade::Ungraded => "none",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The score of one section of the suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionScore {
    /// The section number (`6`).
    pub number: u32,
    /// Its title (`UTF-8 handling`), empty when the results do not say.
    pub title: String,
    /// The score of its cases.
    pub score: Score,
}

/// The score per section of the suite, in section order.
pub fn by_section(results: &RunResults) -> Vec<SectionScore> {
    results
        .by_section()
        .into_iter()
        .map(|(number, cases)| SectionScore {
            number,
            title: cases
                .iter()
                .map(|case| case.section_title.as_str())
                .find(|title| !title.is_empty())
                .unwrap_or_default()
                .to_owned(),
            score: Score::of(cases),
        })
        .collect()
}

/// The titles of RFC 6455's top-level sections.
const RFC_SECTIONS: [(u32, &str); 11] = [
    (1, "Introduction"),
    (2, "Conformance Requirements"),
    (3, "WebSocket URIs"),
    (4, "Opening Handshake"),
    (5, "Data Framing"),
    (6, "Sending and Receiving Data"),
    (7, "Closing the Connection"),
    (8, "Error Handling"),
    (9, "Extensions"),
    (10, "Security Considerations"),
    (11, "IANA Considerations"),
];

/// The title of a top-level section of RFC 6455 (`Data Framing` for 5), if it has one.
pub fn rfc_section_title(number: u32) -> Option<&'static str> {
    RFC_SECTIONS
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, title)| *title)
}

/// The top-level RFC sections a reference cites: `RFC 6455 §5.4, §10.7` gives `[5, 10]`.
pub fn cited_rfc_sections(rfc: &str) -> Vec<u32> {
    let mut sections: Vec<u32> = rfc
        .split('§')
        .skip(1)
        .filter_map(|cited| {
            let digits: String = cited.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    sections.sort_unstable();
    sections.dedup();
    sections
}

/// The score per top-level section of RFC 6455: a case counts once under every section it cites.
pub fn by_rfc_section(results: &RunResults) -> BTreeMap<u32, Score> {
    let mut scores: BTreeMap<u32, Score> = BTreeMap::new();
    for case in &results.cases {
        for section in cited_rfc_sections(&case.rfc) {
            scores
                .entry(section)
                .or_default()
                .add(case.level, case.verdict);
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{case, run};

    fn score(cases: &[(Level, Verdict)]) -> Score {
        let mut score = Score::default();
        for (level, verdict) in cases {
            score.add(*level, *verdict);
        }
        score
    }

    #[test]
    fn must_is_met_by_anything_but_failed() {
        let s = score(&[
            (Level::Must, Verdict::Pass),
            (Level::Must, Verdict::NonStrict),
            (Level::Must, Verdict::Informational),
            (Level::Must, Verdict::Fail),
        ]);
        assert_eq!(s.must, Ratio { met: 3, scored: 4 });
        assert_eq!(s.non_strict, 1);
    }

    #[test]
    fn should_is_met_only_by_ok_or_informational() {
        let s = score(&[
            (Level::Should, Verdict::Pass),
            (Level::Should, Verdict::Informational),
            (Level::Should, Verdict::NonStrict),
        ]);
        assert_eq!(s.should, Ratio { met: 2, scored: 3 });
        assert_eq!(s.must.scored, 0);
    }

    #[test]
    fn errors_unimplemented_and_may_are_not_scored() {
        let s = score(&[
            (Level::Must, Verdict::Error),
            (Level::Must, Verdict::Unimplemented),
            (Level::May, Verdict::Pass),
            (Level::Info, Verdict::Informational),
        ]);
        assert_eq!(s.must.scored + s.should.scored, 0);
        assert_eq!(s.not_scored, 2);
        assert_eq!(s.grade(), Grade::Ungraded);
        assert_eq!(s.grade().label(), "–");
    }

    #[test]
    fn grades_follow_the_rule() {
        let must = |met: usize, failed: usize| {
            let mut s = Score::default();
            (0..met).for_each(|_| s.add(Level::Must, Verdict::Pass));
            (0..failed).for_each(|_| s.add(Level::Must, Verdict::Fail));
            s
        };
        assert_eq!(must(10, 0).grade(), Grade::APlus);
        let mut non_strict = must(10, 0);
        non_strict.add(Level::Must, Verdict::NonStrict);
        assert_eq!(non_strict.grade(), Grade::A);
        let mut weak_should = must(10, 0);
        weak_should.add(Level::Should, Verdict::Pass);
        weak_should.add(Level::Should, Verdict::NonStrict);
        assert_eq!(weak_should.grade(), Grade::B, "SHOULD at 50%");
        assert_eq!(must(95, 5).grade(), Grade::C);
        assert_eq!(must(94, 6).grade(), Grade::D);
        assert_eq!(must(80, 20).grade(), Grade::D);
        assert_eq!(must(79, 21).grade(), Grade::F);
        assert!(Grade::APlus < Grade::F, "best first");
    }

    #[test]
    fn percent_never_rounds_up_to_full() {
        assert_eq!(
            Ratio {
                met: 300,
                scored: 301
            }
            .percent(),
            "99.6%"
        );
        assert_eq!(Ratio { met: 3, scored: 3 }.percent(), "100%");
        assert_eq!(Ratio { met: 0, scored: 0 }.percent(), "–");
        assert_eq!(Ratio { met: 1, scored: 2 }.percent(), "50%");
        assert_eq!(Ratio { met: 1, scored: 3 }.to_string(), "1/3 (33.3%)");
    }

    #[test]
    fn sections_carry_titles_and_rfc_citations_count_once_each() {
        let mut ping = case("2.5", Verdict::Fail);
        ping.rfc = "RFC 6455 §5.5, §10.7".into();
        let mut text = case("6.1.1", Verdict::Pass);
        text.section_title = "UTF-8 handling".into();
        text.rfc = "RFC 6455 §5.4, §5.6".into();
        let results = run("echo", vec![ping, text]);
        let sections = by_section(&results);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[1].title, "UTF-8 handling");
        assert_eq!(sections[0].score.must, Ratio { met: 0, scored: 1 });
        assert_eq!(cited_rfc_sections("RFC 6455 §5.4, §5.6"), [5]);
        let rfc = by_rfc_section(&results);
        assert_eq!(rfc[&5].must, Ratio { met: 1, scored: 2 });
        assert_eq!(rfc[&10].must, Ratio { met: 0, scored: 1 });
        assert_eq!(rfc_section_title(10), Some("Security Considerations"));
    }
}
