//! `wsspec list`: the cases, as a table (id, level, RFC section, title) or as JSON.

use std::path::PathBuf;

use clap::Args;
use wsspec_suite::{Role, select};

use crate::{
    cases::load_suite,
    exit::{self, Exit},
    stdout::print_out,
};

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only cases matching these patterns (same syntax as --cases).
    patterns: Vec<String>,
    /// Only the cases that run against this kind of target.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Load case files from this folder instead of the built-in cases.
    #[arg(long = "cases-dir", value_name = "DIR")]
    cases_dir: Option<PathBuf>,
}

/// A kind of target, for `list --role`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum RoleArg {
    /// Cases that test servers.
    Server,
    /// Cases that test clients.
    Client,
}

/// Prints the selected cases: the table on stdout and their count on stderr, or the JSON on stdout.
pub(crate) fn list(args: ListArgs) -> Result<u8, Exit> {
    let mut suite = load_suite(args.cases_dir.as_ref())?;
    if let Some(role) = args.role {
        let role = match role {
            RoleArg::Server => Role::Server,
            RoleArg::Client => Role::Client,
        };
        suite.cases.retain(|case| case.roles.contains(&role));
    }
    let selected = select::select(&suite.cases, &args.patterns, &[])
        .map_err(|err| Exit::usage(err.to_string()))?;
    if args.json {
        let cases: Vec<serde_json::Value> = selected
            .cases
            .iter()
            .map(|case| {
                serde_json::json!({
                    "id": case.id.as_str(),
                    "title": case.title,
                    "section": case.section_title,
                    "rfc": case.rfc,
                    "level": case.level.name(),
                    "requirement": case.requirement,
                    "roles": case.roles,
                    "expected": case.expectation(),
                    "paced": case.paced(),
                    "source": case.source.to_string(),
                })
            })
            .collect();
        let text =
            serde_json::to_string_pretty(&cases).map_err(|err| Exit::usage(err.to_string()))?;
        print_out(&format!("{text}\n"));
    } else {
        let mut text = String::new();
        for case in &selected.cases {
            text.push_str(&format!(
                "{:<10} {:<6} {:<28} {}\n",
                case.id.as_str(),
                case.level.name(),
                case.rfc,
                case.title
            ));
        }
        print_out(&text);
        eprintln!("{} cases", selected.cases.len());
    }
    Ok(exit::OK)
}
