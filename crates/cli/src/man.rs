//! `wsspec man [DIR]`: manual pages generated from the CLI definition (clap_mangen). With DIR, one
//! page per command (`wsspec.1`, `wsspec-server.1`, …) written there; without, `wsspec.1` on stdout.

use std::path::PathBuf;

use clap::Args;

use crate::{exit::Exit, stdout::print_out};

#[derive(Args, Debug)]
pub(crate) struct ManArgs {
    /// Write a page per command into this folder (created if missing) instead of printing wsspec.1.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints or writes the manual pages of `command`.
pub(crate) fn man(args: ManArgs, command: clap::Command) -> Result<u8, Exit> {
    match args.dir {
        Some(dir) => {
            let failed = |err: std::io::Error| {
                Exit::usage(format!(
                    "cannot write the manual pages to {}: {err}",
                    dir.display()
                ))
            };
            std::fs::create_dir_all(&dir).map_err(failed)?;
            clap_mangen::generate_to(command, &dir).map_err(failed)?;
            eprintln!("wsspec: wrote the manual pages to {}", dir.display());
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|err| Exit::usage(format!("cannot render the manual page: {err}")))?;
            print_out(&String::from_utf8_lossy(&page));
        }
    }
    Ok(crate::exit::OK)
}
