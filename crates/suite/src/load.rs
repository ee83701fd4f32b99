//! Loading case files: TOML in, validated [`Case`]s out, and every error names `file:line` and what is wrong.
//!
//! A file holds one section:
//!
//! ```toml
//! section = "2"
//! title = "Pings and pongs"
//!
//! [[case]]
//! id = "2.{n}"
//! title = "Ping with a {len}-byte payload"
//! rfc = "RFC 6455 §5.5.2"
//! level = "must"
//! requirement = "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response"
//! params = [{ n = 1, len = 0 }, { n = 4, len = 125 }]
//! steps = [
//!   { send = { opcode = "ping", payload = { repeat = "*", count = "{len}" } } },
//!   { expect = { pong = { repeat = "*", count = "{len}" } } },
//! ]
//! ```
//!
//! A case with `params` is a family: it stands for one case per row, with `{name}` replaced in every string.
//! A string that is only `{name}` takes the parameter's own type, so `count = "{len}"` becomes a number.
//! The file is parsed once into a spanned tree, families are expanded in that tree, and each case is then
//! deserialized from it, so that even an error inside an expanded family points at the line that caused it.

use std::{borrow::Cow, collections::BTreeMap, fmt, ops::Range, path::Path};

use serde::Deserialize;
use toml::{
    Spanned,
    de::{DeArray, DeString, DeTable, DeValue, ValueDeserializer},
};

use crate::{
    case::{Case, CaseId, Role, Source},
    spec::RawCase,
};

/// A case file could not be loaded. The message is one line: `file:line: what is wrong`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// The 1-based line (1 when the problem is not tied to a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The loaded cases of one or more files, sorted by id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Suite {
    /// The cases, in id order.
    pub cases: Vec<Case>,
    /// Section titles by top-level section number.
    pub sections: BTreeMap<u32, String>,
}

impl Suite {
    /// The built-in cases, embedded from the workspace's `cases/` folder at build time.
    pub fn builtin() -> Result<Suite, LoadError> {
        Suite::from_sources(
            crate::BUILTIN_CASE_FILES
                .iter()
                .map(|(name, text)| (format!("cases/{name}"), Cow::Borrowed(*text))),
        )
    }

    /// Loads every `*.toml` file in a folder (not recursive), in file-name order.
    pub fn from_dir(dir: &Path) -> Result<Suite, LoadError> {
        let io_error = |err: std::io::Error| LoadError {
            file: dir.display().to_string(),
            line: 1,
            message: format!("cannot read the case folder: {err}"),
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_error)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(LoadError {
                file: dir.display().to_string(),
                line: 1,
                message: "no *.toml case files in this folder".into(),
            });
        }
        let mut files = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|err| LoadError {
                file: path.display().to_string(),
                line: 1,
                message: format!("cannot read: {err}"),
            })?;
            files.push((path.display().to_string(), Cow::Owned(text)));
        }
        Suite::from_sources(files)
    }

    /// Loads case files given as (name, text) pairs. Ids must be unique across all of them.
    pub fn from_sources<'a>(
        files: impl IntoIterator<Item = (String, Cow<'a, str>)>,
    ) -> Result<Suite, LoadError> {
        let mut suite = Suite::default();
        let mut seen: BTreeMap<CaseId, Source> = BTreeMap::new();
        for (name, text) in files {
            let file = load_file(&name, &text)?;
            for case in file.cases {
                if let Some(first) = seen.get(&case.id) {
                    return Err(LoadError {
                        file: case.source.file.clone(),
                        line: case.source.line,
                        message: format!("case id {} is already defined at {first}", case.id),
                    });
                }
                seen.insert(case.id.clone(), case.source.clone());
                suite.cases.push(case);
            }
            if let Some(number) = file.section_number {
                suite.sections.insert(number, file.title);
            }
        }
        suite.cases.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(suite)
    }
}

#[derive(Debug)]
struct LoadedFile {
    section_number: Option<u32>,
    title: String,
    cases: Vec<Case>,
}

/// Loads one file's text.
fn load_file(name: &str, text: &str) -> Result<LoadedFile, LoadError> {
    let lines = LineIndex::new(text);
    // One line per error, even when a quoted key or parameter name holds a newline.
    let error = |span: Option<Range<usize>>, message: String| LoadError {
        file: name.to_owned(),
        line: span.map_or(1, |span| lines.line_of(span.start)),
        message: message.replace('\n', "\\n").replace('\r', "\\r"),
    };
    let root =
        DeTable::parse(text).map_err(|err| error(err.span(), clean_message(err.message())))?;
    let root_span = root.span();
    let mut root = root.into_inner();

    let mut section = None;
    let mut title = None;
    let mut entries = None;
    for (key, value) in std::mem::take(&mut root) {
        let span = value.span();
        match (key.get_ref().as_ref(), value.into_inner()) {
            ("section", DeValue::String(s)) => section = Some((s.into_owned(), span)),
            ("title", DeValue::String(s)) => title = Some(s.into_owned()),
            ("case", DeValue::Array(cases)) => entries = Some(cases),
            ("section" | "title", other) => {
                return Err(error(
                    Some(span),
                    format!(
                        "`{}` must be a string, not {}",
                        key.get_ref(),
                        other.type_str()
                    ),
                ));
            }
            ("case", _) => {
                return Err(error(
                    Some(span),
                    "`case` must be written as [[case]] tables".into(),
                ));
            }
            (other, _) => {
                return Err(error(
                    Some(key.span()),
                    format!("unknown top-level key `{other}` (expected section, title, [[case]])"),
                ));
            }
        }
    }
    let (section, section_span) = section
        .ok_or_else(|| error(Some(root_span.clone()), "missing `section = \"N\"`".into()))?;
    let section_number = section.parse::<u32>().map_err(|_| {
        error(
            Some(section_span.clone()),
            format!("section `{section}` is not a number"),
        )
    })?;
    let title = title.ok_or_else(|| error(Some(root_span), "missing `title = \"...\"`".into()))?;

    let mut cases = Vec::new();
    for entry in entries.unwrap_or_else(DeArray::new).iter() {
        let entry_span = entry.span();
        let DeValue::Table(table) = entry.get_ref() else {
            return Err(error(
                Some(entry_span),
                "each [[case]] must be a table".into(),
            ));
        };
        let line = lines.line_of(entry_span.start);
        for instance in expand_family(table.clone(), entry_span.clone())
            .map_err(|(span, msg)| error(Some(span), msg))?
        {
            let raw = RawCase::deserialize(ValueDeserializer::from(instance)).map_err(|err| {
                error(
                    err.span().or(Some(entry_span.clone())),
                    clean_message(err.message()),
                )
            })?;
            let source = Source {
                file: name.to_owned(),
                line,
            };
            let case = raw
                .into_case(&title, source)
                .map_err(|(span, msg)| error(span.or(Some(entry_span.clone())), msg))?;
            if case.id.section() != section_number {
                return Err(error(
                    Some(entry_span.clone()),
                    format!(
                        "case {} is not in section {section_number}, the section of this file",
                        case.id
                    ),
                ));
            }
            cases.push(case);
        }
    }
    Ok(LoadedFile {
        section_number: Some(section_number),
        title,
        cases,
    })
}

/// A span-carrying error from family expansion.
type SpanError = (Range<usize>, String);

/// Expands a `params` family into one spanned table per row (or returns the table as is).
fn expand_family<'i>(
    mut table: DeTable<'i>,
    span: Range<usize>,
) -> Result<Vec<Spanned<DeValue<'i>>>, SpanError> {
    let params_key = table.keys().find(|key| key.get_ref() == "params").cloned();
    let Some(params_key) = params_key else {
        return Ok(vec![Spanned::new(span, DeValue::Table(table))]);
    };
    let params = table.remove(&params_key).map(Spanned::into_inner);
    let Some(DeValue::Array(rows)) = params else {
        return Err((
            params_key.span(),
            "`params` must be an array of tables, one per case".into(),
        ));
    };
    if rows.is_empty() {
        return Err((
            params_key.span(),
            "`params` is empty: the family would have no cases".into(),
        ));
    }
    // An array of arrays of rows is their product: every combination, one row from each.
    let mut combined: Vec<BTreeMap<String, Spanned<DeValue<'i>>>> = vec![BTreeMap::new()];
    let products = rows
        .iter()
        .all(|row| matches!(row.get_ref(), DeValue::Array(_)));
    let groups: Vec<Vec<&Spanned<DeValue<'i>>>> = if products {
        rows.iter()
            .map(|group| match group.get_ref() {
                DeValue::Array(items) => items.iter().collect(),
                _ => Vec::new(),
            })
            .collect()
    } else {
        vec![rows.iter().collect()]
    };
    for group in groups {
        let mut next = Vec::with_capacity(combined.len() * group.len());
        for vars in &combined {
            for row in &group {
                let DeValue::Table(row_table) = row.get_ref() else {
                    return Err((
                        row.span(),
                        "each `params` row must be a table such as { n = 1, len = 0 } (or `params` an array of arrays of such rows, for their product)".into(),
                    ));
                };
                let mut vars = vars.clone();
                for (key, value) in row_table.iter() {
                    if vars
                        .insert(key.get_ref().to_string(), value.clone())
                        .is_some()
                    {
                        return Err((
                            key.span(),
                            format!(
                                "parameter `{}` is in two of the arrays whose product `params` is",
                                key.get_ref()
                            ),
                        ));
                    }
                }
                next.push(vars);
            }
        }
        combined = next;
    }
    if combined.is_empty() {
        return Err((
            params_key.span(),
            "`params` has an empty array: the family would have no cases".into(),
        ));
    }
    let mut out = Vec::with_capacity(combined.len());
    for vars in &combined {
        let mut instance = Spanned::new(span.clone(), DeValue::Table(table.clone()));
        substitute(&mut instance, vars)?;
        out.push(instance);
    }
    Ok(out)
}

/// Replaces `{name}` in every string of `value` with the row's parameters.
fn substitute<'i>(
    value: &mut Spanned<DeValue<'i>>,
    vars: &BTreeMap<String, Spanned<DeValue<'i>>>,
) -> Result<(), SpanError> {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(text) => {
            if let Some(name) = whole_placeholder(text) {
                let replacement = vars.get(name).ok_or_else(|| {
                    (
                        span.clone(),
                        format!("unknown parameter `{{{name}}}` (not in this row of `params`)"),
                    )
                })?;
                *value = Spanned::new(span, replacement.get_ref().clone());
            } else if text.contains('{') {
                let expanded = interpolate(text, vars).map_err(|msg| (span.clone(), msg))?;
                *text = DeString::Owned(expanded);
            }
        }
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                substitute(item, vars)?;
            }
        }
        DeValue::Table(table) => {
            for (_, item) in table.iter_mut() {
                substitute(item, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `Some("len")` for the string `{len}`.
fn whole_placeholder(text: &str) -> Option<&str> {
    let name = text.strip_prefix('{')?.strip_suffix('}')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Replaces each `{name}` in `text`; `{{` and `}}` stand for literal braces.
fn interpolate(
    text: &str,
    vars: &BTreeMap<String, Spanned<DeValue<'_>>>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('{') {
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in {text:?}"))?;
            let name = &after[..end];
            let value = vars
                .get(name)
                .ok_or_else(|| format!("unknown parameter `{{{name}}}` in {text:?}"))?;
            out.push_str(
                &scalar_text(value.get_ref())
                    .ok_or_else(|| format!("parameter `{name}` is not a number or string"))?,
            );
            rest = &after[end + 1..];
        } else {
            out.push('}');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn scalar_text(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// toml's messages can span several lines; keep the first, which says what is wrong.
pub(crate) fn clean_message(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// Maps byte offsets to 1-based line numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

/// Roles default to both when a case does not name them.
pub(crate) fn default_roles() -> Vec<Role> {
    vec![Role::Server, Role::Client]
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases in {} sections",
            self.cases.len(),
            self.sections.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Expect, Payload, Step};

    fn load(text: &str) -> Result<LoadedFile, LoadError> {
        load_file("t.toml", text)
    }

    const HEAD: &str = "section = \"2\"\ntitle = \"Pings\"\n";

    #[test]
    fn family_expands_with_typed_parameters() {
        let text = format!(
            "{HEAD}\n[[case]]\nid = \"2.{{n}}\"\ntitle = \"Ping of {{len}} bytes\"\nrfc = \"RFC 6455 §5.5.2\"\n\
             level = \"must\"\nrequirement = \"MUST send a Pong\"\nparams = [{{ n = 1, len = 0 }}, {{ n = 4, len = 125 }}]\n\
             steps = [\n  {{ send = {{ opcode = \"ping\", payload = {{ repeat = \"*\", count = \"{{len}}\" }} }} }},\n  \
             {{ expect = {{ pong = {{ repeat = \"*\", count = \"{{len}}\" }} }} }},\n]\n"
        );
        let file = load(&text).unwrap();
        assert_eq!(file.cases.len(), 2);
        assert_eq!(file.cases[1].id.as_str(), "2.4");
        assert_eq!(file.cases[1].title, "Ping of 125 bytes");
        assert_eq!(file.cases[1].source.line, 4);
        let Step::Expect {
            expect: Expect::Pong(Payload::Repeat { count, .. }),
            ..
        } = &file.cases[1].steps[1]
        else {
            panic!("{:?}", file.cases[1].steps[1]);
        };
        assert_eq!(*count, 125);
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = load(&format!("{HEAD}\n[[case]]\nid = \n")).unwrap_err();
        assert_eq!(err.line, 5, "{err}");
        assert!(err.to_string().starts_with("t.toml:5: "), "{err}");
    }

    #[test]
    fn unknown_step_key_names_its_line() {
        let text = format!(
            "{HEAD}\n[[case]]\nid = \"2.1\"\ntitle = \"x\"\nrfc = \"r\"\nlevel = \"must\"\nrequirement = \"q\"\nsteps = [\n  \
             {{ expect = \"echo\" }},\n  {{ sned = {{ opcode = \"ping\" }} }},\n]\n"
        );
        let err = load(&text).unwrap_err();
        assert_eq!(err.line, 12, "{err}");
        assert!(err.message.contains("sned"), "{err}");
    }

    #[test]
    fn bad_level_and_unknown_parameter_are_reported() {
        let base = "[[case]]\nid = \"2.1\"\ntitle = \"{x}\"\nrfc = \"r\"\nrequirement = \"q\"\nsteps = [{ expect = \"echo\" }]\n";
        let err = load(&format!(
            "{HEAD}{base}level = \"sometimes\"\nparams = [{{ y = 1 }}]\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("unknown parameter `{x}`"), "{err}");
        assert_eq!(err.line, 5, "{err}");
        let err = load(&format!(
            "{HEAD}{}level = \"sometimes\"\n",
            base.replace("{x}", "t")
        ))
        .unwrap_err();
        assert!(err.message.contains("sometimes"), "{err}");
        assert_eq!(err.line, 9, "{err}");
    }

    #[test]
    fn errors_stay_on_one_line() {
        let err = load(&format!("{HEAD}\"a\\nb\" = 1\n")).unwrap_err();
        assert_eq!(err.to_string().lines().count(), 1, "{err}");
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let case = "[[case]]\nid = \"2.1\"\ntitle = \"t\"\nrfc = \"r\"\nlevel = \"must\"\nrequirement = \"q\"\nsteps = [{ expect = \"echo\" }]\n";
        let err = Suite::from_sources([(
            "a.toml".to_string(),
            Cow::Owned(format!("{HEAD}{case}{case}")),
        )])
        .unwrap_err();
        assert!(err.message.contains("already defined at a.toml:3"), "{err}");
    }

    #[test]
    fn case_outside_its_section_is_rejected() {
        let case = "[[case]]\nid = \"3.1\"\ntitle = \"t\"\nrfc = \"r\"\nlevel = \"must\"\nrequirement = \"q\"\nsteps = [{ expect = \"echo\" }]\n";
        let err = load(&format!("{HEAD}{case}")).map(|_| ()).unwrap_err();
        assert!(err.message.contains("not in section 2"), "{err}");
    }

    #[test]
    fn builtin_cases_load() {
        let suite = Suite::builtin().unwrap();
        assert!(!suite.cases.is_empty());
    }

    #[test]
    fn paced_cases_are_the_ones_that_pause() {
        let suite = Suite::builtin().unwrap();
        let paced: Vec<&str> = suite
            .cases
            .iter()
            .filter(|case| case.paced())
            .map(|case| case.id.as_str())
            .collect();
        for id in ["6.4.1", "6.4.3", "5.19", "5.20", "2.6", "14.1.18"] {
            assert!(paced.contains(&id), "{id} pauses");
        }
        for id in ["1.1.1", "6.2.1", "7.1.1", "9.1.1"] {
            assert!(!paced.contains(&id), "{id} does not pause");
        }
        let pause = |id: &str| {
            let case = suite.cases.iter().find(|case| case.id.as_str() == id);
            case.map(Case::pause_ms)
        };
        // 6.4.1: nothing for 500 ms, then up to 1000 ms for a fail that may come late.
        assert_eq!(pause("6.4.1"), Some(1500));
        assert_eq!(pause("5.19"), Some(500));
        assert_eq!(pause("1.1.1"), Some(0));
        // 2.6: a ping of 125 bytes (139 with the largest header) written a byte at a time, 1 ms apart.
        assert_eq!(pause("2.6"), Some(138));
        // 14.1.18: the request head written a byte at a time.
        assert!(pause("14.1.18") > Some(100));
    }
}
