//! The requirement registry: the normative sentences of RFC 6455, RFC 7692 and the HTTP rules the
//! opening handshake relies on, as data.
//!
//! Each [`Requirement`] has a stable id (`6455-5.1-3`: the RFC, the section, and the sentence's place
//! among that section's sentences with a BCP 14 keyword), the exact sentence, its keyword, the party it
//! binds, and, when no peer's bytes can show it broken, why not. The files are the workspace's
//! `requirements/*.toml`, embedded at build time; `requirements/README.md` documents them. Cases name
//! the ids they check, and a case that names an id the registry lacks does not load.

use std::{borrow::Cow, collections::BTreeMap, fmt, sync::OnceLock};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::{
    case::{Level, Role},
    load::{LineIndex, LoadError, clean_message},
};

/// The BCP 14 keyword of a requirement: the strongest one in its sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keyword {
    /// MUST, REQUIRED, SHALL.
    Must,
    /// MUST NOT, SHALL NOT.
    MustNot,
    /// SHOULD, RECOMMENDED.
    Should,
    /// SHOULD NOT, NOT RECOMMENDED.
    ShouldNot,
    /// MAY, OPTIONAL.
    May,
}

impl Keyword {
    /// Every keyword, strongest first.
    pub const ALL: [Keyword; 5] = [
        Keyword::Must,
        Keyword::MustNot,
        Keyword::Should,
        Keyword::ShouldNot,
        Keyword::May,
    ];

    /// The keyword as the RFCs write it.
    pub fn name(self) -> &'static str {
        match self {
            Keyword::Must => "MUST",
            Keyword::MustNot => "MUST NOT",
            Keyword::Should => "SHOULD",
            Keyword::ShouldNot => "SHOULD NOT",
            Keyword::May => "MAY",
        }
    }

    /// The verdict level a case checking this keyword has: what breaking it costs.
    pub fn level(self) -> Level {
        match self {
            Keyword::Must | Keyword::MustNot => Level::Must,
            Keyword::Should | Keyword::ShouldNot => Level::Should,
            Keyword::May => Level::May,
        }
    }

    /// The spellings of the keyword that may stand in a sentence of this level (RFC 2119).
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Keyword::Must => &["MUST", "REQUIRED", "SHALL"],
            Keyword::MustNot => &["MUST NOT", "SHALL NOT"],
            Keyword::Should => &["SHOULD", "RECOMMENDED"],
            Keyword::ShouldNot => &["SHOULD NOT", "NOT RECOMMENDED"],
            Keyword::May => &["MAY", "OPTIONAL"],
        }
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whom a requirement binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binds {
    /// A WebSocket client.
    Client,
    /// A WebSocket server.
    Server,
    /// Either endpoint (a sender's or a receiver's rule).
    Endpoint,
    /// A proxy or other intermediary.
    Intermediary,
    /// Someone who is not on the wire: authors of extensions or specifications, IANA, APIs.
    Other,
}

impl Binds {
    /// The lower-case name used in the registry and the reports.
    pub fn name(self) -> &'static str {
        match self {
            Binds::Client => "client",
            Binds::Server => "server",
            Binds::Endpoint => "endpoint",
            Binds::Intermediary => "intermediary",
            Binds::Other => "other",
        }
    }

    /// Whether a target in `role` is bound.
    pub fn binds_role(self, role: Role) -> bool {
        match self {
            Binds::Client => role == Role::Client,
            Binds::Server => role == Role::Server,
            Binds::Endpoint => true,
            Binds::Intermediary | Binds::Other => false,
        }
    }
}

impl fmt::Display for Binds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One normative sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The stable id, such as `6455-5.1-3`.
    pub id: String,
    /// The document, such as `RFC 6455`.
    pub rfc: String,
    /// The section, such as `5.1`.
    pub section: String,
    /// The strongest keyword of the sentence.
    pub keyword: Keyword,
    /// Whom it binds.
    pub binds: Binds,
    /// The sentence, verbatim (white space joined).
    pub text: String,
    /// Why no peer's bytes can show it broken, when they cannot.
    pub untestable: Option<String>,
    /// For a testable requirement that no case checks yet: what a case for it needs.
    pub pending: Option<String>,
    /// Where the text comes from, when it is not checked against the document itself.
    pub source: Option<String>,
}

impl Requirement {
    /// Whether a harness on the wire can see the requirement broken by a client or a server.
    pub fn testable(&self) -> bool {
        self.untestable.is_none()
            && matches!(self.binds, Binds::Client | Binds::Server | Binds::Endpoint)
    }

    /// `RFC 6455 §5.1`.
    pub fn reference(&self) -> String {
        format!("{} §{}", self.rfc, self.section)
    }
}

/// Every requirement of the registry, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    requirements: Vec<Requirement>,
    by_id: BTreeMap<String, usize>,
}

impl Registry {
    /// The built-in registry, embedded from the workspace's `requirements/` folder.
    pub fn builtin() -> Result<Registry, LoadError> {
        Registry::from_sources(
            crate::BUILTIN_REQUIREMENT_FILES
                .iter()
                .map(|(name, text)| (format!("requirements/{name}"), Cow::Borrowed(*text))),
        )
    }

    /// Loads registry files given as (name, text) pairs. Ids must be unique across all of them.
    pub fn from_sources<'a>(
        files: impl IntoIterator<Item = (String, Cow<'a, str>)>,
    ) -> Result<Registry, LoadError> {
        let mut registry = Registry::default();
        for (name, text) in files {
            let lines = LineIndex::new(&text);
            let error = |offset: Option<usize>, message: String| LoadError {
                file: name.clone(),
                line: offset.map_or(1, |offset| lines.line_of(offset)),
                message,
            };
            let file: RawFile = toml::from_str(&text).map_err(|err| {
                error(
                    err.span().map(|span| span.start),
                    clean_message(err.message()),
                )
            })?;
            for raw in file.requirement {
                let offset = raw.span().start;
                let requirement = raw
                    .into_inner()
                    .into_requirement(&file.rfc)
                    .map_err(|message| error(Some(offset), message))?;
                if registry.by_id.contains_key(&requirement.id) {
                    return Err(error(
                        Some(offset),
                        format!("requirement id {} is already defined", requirement.id),
                    ));
                }
                registry
                    .by_id
                    .insert(requirement.id.clone(), registry.requirements.len());
                registry.requirements.push(requirement);
            }
        }
        Ok(registry)
    }

    /// The requirement with this id.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id).map(|&index| &self.requirements[index])
    }

    /// Every requirement, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter()
    }

    /// How many requirements there are.
    pub fn len(&self) -> usize {
        self.requirements.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The built-in registry, loaded once.
fn builtin() -> &'static Result<Registry, LoadError> {
    static REGISTRY: OnceLock<Result<Registry, LoadError>> = OnceLock::new();
    REGISTRY.get_or_init(Registry::builtin)
}

/// Checks that each id is in the built-in registry, once: what a case's `requirements` must be.
pub(crate) fn check_ids(ids: &[String]) -> Result<(), String> {
    let registry = builtin()
        .as_ref()
        .map_err(|err| format!("the requirement registry does not load: {err}"))?;
    if let Some(unknown) = ids.iter().find(|id| registry.get(id).is_none()) {
        return Err(format!(
            "requirement `{unknown}` is not in the registry (`wsspec requirements` lists it)"
        ));
    }
    if let Some(twice) = ids
        .iter()
        .enumerate()
        .find_map(|(i, id)| ids[..i].contains(id).then_some(id))
    {
        return Err(format!("requirement `{twice}` is named twice"));
    }
    Ok(())
}

/// A registry file: the document's name and title, then its requirements.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rfc: String,
    #[allow(dead_code, reason = "the document's title is for readers of the file")]
    title: String,
    #[serde(default)]
    requirement: Vec<Spanned<RawRequirement>>,
}

/// One `[[requirement]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: String,
    section: String,
    level: Keyword,
    binds: Binds,
    text: String,
    #[serde(default)]
    untestable: Option<String>,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

impl RawRequirement {
    /// Checks the entry against its file's document: the id names the document and the section, and
    /// the sentence carries the keyword of its level.
    fn into_requirement(self, rfc: &str) -> Result<Requirement, String> {
        let number = rfc
            .split_whitespace()
            .find(|word| word.chars().all(|c| c.is_ascii_digit()))
            .unwrap_or_default();
        let expected_prefix = format!("{number}-{}-", self.section);
        let ordinal = self.id.strip_prefix(&expected_prefix);
        if !ordinal.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
            return Err(format!(
                "requirement id `{}` should be `{expected_prefix}N` (the document's number, the section, the sentence's place)",
                self.id
            ));
        }
        if !self
            .level
            .spellings()
            .iter()
            .any(|keyword| self.text.contains(keyword))
        {
            return Err(format!(
                "requirement {}: the text has no {} ({}), so it is not of level {:?}",
                self.id,
                self.level,
                self.level.spellings().join(", "),
                self.level.name()
            ));
        }
        for (field, reason) in [("untestable", &self.untestable), ("pending", &self.pending)] {
            if reason.as_deref().is_some_and(str::is_empty) {
                return Err(format!(
                    "requirement {}: `{field}` needs the reason",
                    self.id
                ));
            }
        }
        if self.untestable.is_some() && self.pending.is_some() {
            return Err(format!(
                "requirement {}: `pending` is for testable requirements; it has `untestable`",
                self.id
            ));
        }
        Ok(Requirement {
            id: self.id,
            rfc: rfc.to_owned(),
            section: self.section,
            keyword: self.level,
            binds: self.binds,
            text: self.text,
            untestable: self.untestable,
            pending: self.pending,
            source: self.source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Registry, LoadError> {
        Registry::from_sources([("r.toml".to_owned(), Cow::Borrowed(text))])
    }

    const HEAD: &str = "rfc = \"RFC 6455\"\ntitle = \"The WebSocket Protocol\"\n";

    #[test]
    fn the_builtin_registry_loads_and_ids_are_unique() {
        let registry = Registry::builtin().expect("the registry loads");
        assert!(registry.len() > 150, "{}", registry.len());
        let masking = registry
            .iter()
            .find(|r| r.text.contains("upon receiving a frame that is not masked"))
            .expect("§5.1's rule for servers");
        assert_eq!(
            (masking.keyword, masking.binds),
            (Keyword::Must, Binds::Server)
        );
        assert_eq!(registry.get(&masking.id), Some(masking));
    }

    #[test]
    fn an_entry_is_checked_against_its_document_and_names_its_line() {
        let entry = |id: &str, level: &str, text: &str| {
            format!(
                "{HEAD}\n[[requirement]]\nid = \"{id}\"\nsection = \"5.1\"\nlevel = \"{level}\"\nbinds = \"server\"\ntext = \"{text}\"\n"
            )
        };
        assert!(load(&entry("6455-5.1-1", "must", "A server MUST close it.")).is_ok());
        let wrong_id = load(&entry("6455-5.2-1", "must", "A server MUST close it.")).unwrap_err();
        assert_eq!(wrong_id.line, 4, "{wrong_id}");
        assert!(wrong_id.message.contains("6455-5.1-N"), "{wrong_id}");
        let wrong_level =
            load(&entry("6455-5.1-1", "must", "A server SHOULD close it.")).unwrap_err();
        assert!(wrong_level.message.contains("has no MUST"), "{wrong_level}");
        let typo = load(&format!("{HEAD}\n[[requirement]]\nid = \"6455-5.1-1\"\nsection = \"5.1\"\nlevel = \"must\"\nbinds = \"servers\"\ntext = \"MUST\"\n")).unwrap_err();
        assert_eq!(typo.line, 8, "{typo}");
        let twice = format!(
            "{}{}",
            entry("6455-5.1-1", "may", "A server MAY."),
            &entry("6455-5.1-1", "may", "A server MAY.")[HEAD.len()..]
        );
        assert!(
            load(&twice)
                .unwrap_err()
                .message
                .contains("already defined")
        );
    }

    /// Every built-in case names what it checks, and its level is never above the strongest of
    /// those requirements that bind a role it runs in: a case fails (FAILED) only where a MUST is at
    /// stake, and is NON-STRICT at worst where only a SHOULD is. (A level below its requirements is a
    /// deliberate leniency that the case's note explains, as 14.4.1's does.) Cases that only record
    /// behaviour (`info`, or `may` with no requirement) may name none.
    #[test]
    fn no_builtin_case_is_graded_above_its_requirements() {
        let rank = |level: Level| match level {
            Level::Must => 0,
            Level::Should => 1,
            Level::May => 2,
            Level::Info => 3,
        };
        let suite = crate::Suite::builtin().unwrap();
        let registry = Registry::builtin().unwrap();
        let mut wrong = Vec::new();
        for case in &suite.cases {
            let strongest = case
                .requirements
                .iter()
                .filter_map(|id| registry.get(id))
                .filter(|r| case.roles.iter().any(|role| r.binds.binds_role(*role)))
                .map(|r| r.keyword.level())
                .min_by_key(|level| rank(*level));
            let graded_above = match strongest {
                Some(strongest) => rank(case.level) < rank(strongest),
                None => !matches!(case.level, Level::Info | Level::May),
            };
            if graded_above {
                wrong.push(format!(
                    "{} ({}): level {} but its requirements for its roles give {}",
                    case.id,
                    case.source,
                    case.level.name(),
                    strongest.map_or("none", Level::name)
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} cases:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn keywords_cap_verdicts_at_their_level() {
        assert_eq!(Keyword::MustNot.level(), Level::Must);
        assert_eq!(Keyword::ShouldNot.level(), Level::Should);
        assert_eq!(Keyword::May.level(), Level::May);
        assert!(Binds::Endpoint.binds_role(Role::Client));
        assert!(!Binds::Server.binds_role(Role::Client));
    }
}
