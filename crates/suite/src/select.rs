//! Choosing cases by id with Autobahn-style wildcards.
//!
//! A pattern without `*` names one case. `*` matches any run of characters, and a pattern must match the
//! whole id: `1.*` selects 1.1.1 … 1.2.8, `5.1*` selects 5.1 and 5.10 … 5.19, and `*` selects everything.
//! (Autobahn anchors patterns at the start only; with the trailing `*` that everyone writes, the two agree.)
//! Patterns may be repeated or given as a comma list. An include pattern that selects nothing is an error,
//! because it is almost always a typo; an exclude pattern that selects nothing is only reported.

use crate::case::Case;

/// A pattern selected no case.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no case matches `{pattern}` (see `wsspec list`)")]
pub struct SelectError {
    /// The pattern as given.
    pub pattern: String,
}

/// The outcome of a selection.
#[derive(Debug)]
pub struct Selected<'a> {
    /// The chosen cases, in id order.
    pub cases: Vec<&'a Case>,
    /// How many cases the exclude patterns removed.
    pub excluded: usize,
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
/// any exclude pattern.
pub fn select<'a>(
    cases: &'a [Case],
    include: &[String],
    exclude: &[String],
) -> Result<Selected<'a>, SelectError> {
    let include = split_patterns(include);
    let exclude = split_patterns(exclude);
    for pattern in &include {
        if !cases.iter().any(|case| matches(pattern, case.id.as_str())) {
            return Err(SelectError {
                pattern: pattern.clone(),
            });
        }
    }
    let unused_excludes = exclude
        .iter()
        .filter(|pattern| !cases.iter().any(|case| matches(pattern, case.id.as_str())))
        .cloned()
        .collect();
    let included: Vec<&Case> = cases
        .iter()
        .filter(|case| include.is_empty() || include.iter().any(|p| matches(p, case.id.as_str())))
        .collect();
    let before = included.len();
    let cases: Vec<&Case> = included
        .into_iter()
        .filter(|case| !exclude.iter().any(|p| matches(p, case.id.as_str())))
        .collect();
    Ok(Selected {
        excluded: before - cases.len(),
        cases,
        unused_excludes,
    })
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
    fn comma_lists_and_repeats_split() {
        let got = split_patterns(&["1.*, 2.*".into(), "5.1*".into(), " ".into()]);
        assert_eq!(got, vec!["1.*", "2.*", "5.1*"]);
    }
}
