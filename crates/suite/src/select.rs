//! Choosing cases by id with Autobahn-style wildcards, and splitting them into shards.
//!
//! A pattern without `*` names one case. `*` matches any run of characters, and a pattern must match the
//! whole id: `1.*` selects 1.1.1 … 1.2.8, `5.1*` selects 5.1 and 5.10 … 5.19, and `*` selects everything.
//! (Autobahn anchors patterns at the start only; with the trailing `*` that everyone writes, the two agree.)
//! Patterns may be repeated or given as a comma list. An include pattern that selects nothing is an error,
//! because it is almost always a typo; an exclude pattern that selects nothing is only reported.
//!
//! Inside an Autobahn spec file, patterns follow Autobahn's own rule instead ([`Wildcards::Autobahn`]):
//! an entry with `*` is anchored at the start only, so `"1*"` also selects 10.x, 12.x and 13.x, and
//! `"6.1*"` selects 6.1.x and 6.10 … 6.19, exactly as `wstest` does.
//!
//! [`Shard`] splits a selection across CI jobs: `K/N` takes the cases at positions K-1, K-1+N, … of the
//! selection in id order, so every job gets a share of each section, the slow ones included.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::case::Case;

/// The sections `--quick` leaves out: limits and performance (9), and permessage-deflate (12, 13),
/// Autobahn's slow sections, which most Autobahn users exclude in CI.
pub const QUICK_EXCLUDES: [&str; 3] = ["9.*", "12.*", "13.*"];

/// A pattern selected no case.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no case matches `{pattern}` (see `wsspec list`)")]
pub struct SelectError {
    /// The pattern as given.
    pub pattern: String,
}

/// How a pattern's `*` is anchored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wildcards {
    /// wsspec's rule: the pattern matches the whole id (`1.*` is not 10.1.1).
    #[default]
    WholeId,
    /// Autobahn's rule for `cases` and `exclude-cases` in spec files: an entry without `*` is a literal
    /// id; an entry with `*` matches any id that starts with something it matches (`1*` is 10.1.1 too).
    Autobahn,
}

impl Wildcards {
    /// Does `pattern` match `id` under this rule?
    pub fn matches(self, pattern: &str, id: &str) -> bool {
        match self {
            Wildcards::WholeId => matches(pattern, id),
            Wildcards::Autobahn if pattern.contains('*') => matches(&format!("{pattern}*"), id),
            Wildcards::Autobahn => pattern == id,
        }
    }
}

/// The outcome of a selection.
#[derive(Debug)]
pub struct Selected<'a> {
    /// The chosen cases, in id order.
    pub cases: Vec<&'a Case>,
    /// How many cases the exclude patterns removed.
    pub excluded: usize,
    /// Include patterns that matched nothing.
    pub unused_includes: Vec<String>,
    /// Exclude patterns that matched nothing.
    pub unused_excludes: Vec<String>,
}

/// Splits repeated and comma-separated patterns into single trimmed patterns.
pub fn split_patterns(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Does `pattern` (with `*` wildcards) match the whole of `id`?
pub fn matches(pattern: &str, id: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = id.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(pos) => rest = &rest[pos + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Selects cases: those matching any include pattern (all when there is none), minus those matching
/// any exclude pattern. An include pattern that matches nothing is an error.
pub fn select<'a>(
    cases: &'a [Case],
    include: &[String],
    exclude: &[String],
) -> Result<Selected<'a>, SelectError> {
    let selected = select_with(cases, include, exclude, Wildcards::WholeId);
    match selected.unused_includes.first() {
        Some(pattern) => Err(SelectError {
            pattern: pattern.clone(),
        }),
        None => Ok(selected),
    }
}

/// Selects cases like [`select`], with either wildcard rule; patterns that match nothing are
/// reported, never an error.
pub fn select_with<'a, C: AsRef<Case>>(
    cases: &'a [C],
    include: &[String],
    exclude: &[String],
    wildcards: Wildcards,
) -> Selected<'a> {
    let include = split_patterns(include);
    let exclude = split_patterns(exclude);
    let hits = |pattern: &String| {
        cases
            .iter()
            .any(|case| wildcards.matches(pattern, case.as_ref().id.as_str()))
    };
    let unused_includes = include.iter().filter(|p| !hits(p)).cloned().collect();
    let unused_excludes = exclude.iter().filter(|p| !hits(p)).cloned().collect();
    let any = |patterns: &[String], case: &Case| {
        patterns
            .iter()
            .any(|p| wildcards.matches(p, case.id.as_str()))
    };
    let included: Vec<&Case> = cases
        .iter()
        .map(AsRef::as_ref)
        .filter(|case| include.is_empty() || any(&include, case))
        .collect();
    let before = included.len();
    let cases: Vec<&Case> = included
        .into_iter()
        .filter(|case| !any(&exclude, case))
        .collect();
    Selected {
        excluded: before - cases.len(),
        cases,
        unused_includes,
        unused_excludes,
    }
}

/// One of N parts of a selection, for splitting a run across CI jobs (`--shard K/N`, K from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// Which part, from 1.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

/// A shard that is not `K/N` with 1 ≤ K ≤ N.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4")]
pub struct ShardError(pub String);

impl Shard {
    /// The cases of this shard: of the selection in id order, the ones at positions `index - 1`,
    /// `index - 1 + count`, … (every count-th case). The shards of one selection are disjoint, and
    /// together they are the selection.
    pub fn take<T: Copy>(self, selection: &[T]) -> Vec<T> {
        let count = self.count.max(1) as usize;
        let first = self.index.saturating_sub(1) as usize;
        selection
            .iter()
            .skip(first)
            .step_by(count)
            .copied()
            .collect()
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let error = || ShardError(text.to_owned());
        let (index, count) = text.split_once('/').ok_or_else(error)?;
        let number = |part: &str| part.trim().parse::<u32>().map_err(|_| error());
        let shard = Shard {
            index: number(index)?,
            count: number(count)?,
        };
        if shard.index == 0 || shard.index > shard.count {
            return Err(error());
        }
        Ok(shard)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_ids() {
        assert!(matches("1.*", "1.1.8"));
        assert!(!matches("1.*", "10.1.1"));
        assert!(matches("5.1*", "5.1"));
        assert!(matches("5.1*", "5.19"));
        assert!(!matches("5.1*", "5.2"));
        assert!(matches("*", "13.7.18"));
        assert!(matches("2.10", "2.10"));
        assert!(!matches("2.1", "2.10"));
        assert!(matches("6.*.1", "6.4.1"));
        assert!(!matches("6.*.1", "6.4.10"));
        assert!(matches("*.1", "3.1"));
        assert!(matches("1.**", "1.1"));
        assert!(!matches("1.1*1", "1.1"));
    }

    #[test]
    fn autobahn_wildcards_anchor_at_the_start_only() {
        let autobahn = Wildcards::Autobahn;
        assert!(autobahn.matches("1*", "10.1.1"));
        assert!(autobahn.matches("1*", "1.1.1"));
        assert!(autobahn.matches("6.1*", "6.10.3"));
        assert!(autobahn.matches("2.1*", "2.11"));
        assert!(autobahn.matches("6.*.1", "6.4.10"), "a prefix is enough");
        assert!(!autobahn.matches("1.*", "10.1.1"));
        assert!(autobahn.matches("*", "13.7.18"));
        // Without `*`, an entry is a literal id.
        assert!(autobahn.matches("2.1", "2.1"));
        assert!(!autobahn.matches("2.1", "2.10"));
        assert!(!Wildcards::WholeId.matches("6.*.1", "6.4.10"));
    }

    #[test]
    fn comma_lists_and_repeats_split() {
        let got = split_patterns(&["1.*, 2.*".into(), "5.1*".into(), " ".into()]);
        assert_eq!(got, vec!["1.*", "2.*", "5.1*"]);
    }

    #[test]
    fn selection_reports_unused_patterns() {
        let suite = crate::Suite::builtin().unwrap();
        let picked = select_with(
            &suite.cases,
            &["2.1*".into(), "99.*".into()],
            &["98.*".into(), "2.11".into()],
            Wildcards::Autobahn,
        );
        let ids: Vec<&str> = picked.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["2.1", "2.10"]);
        assert_eq!(picked.excluded, 1);
        assert_eq!(picked.unused_includes, ["99.*"]);
        assert_eq!(picked.unused_excludes, ["98.*"]);
        let err = select(&suite.cases, &["99.*".into()], &[]).unwrap_err();
        assert_eq!(err.pattern, "99.*");
    }

    #[test]
    fn shards_are_disjoint_and_cover_the_selection() {
        let ids: Vec<u32> = (1..=10).collect();
        let parts: Vec<Vec<u32>> = (1..=3)
            .map(|index| Shard { index, count: 3 }.take(&ids))
            .collect();
        assert_eq!(parts[0], [1, 4, 7, 10]);
        assert_eq!(parts[1], [2, 5, 8]);
        assert_eq!(parts[2], [3, 6, 9]);
        assert_eq!(Shard { index: 1, count: 1 }.take(&ids), ids);
        assert_eq!(
            Shard { index: 4, count: 4 }.take(&[1, 2]),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn shards_parse_as_k_of_n() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard { index: 2, count: 4 }.to_string(), "2/4");
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(
            "5/4".parse::<Shard>().unwrap_err().to_string(),
            "`5/4` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4"
        );
    }
}
