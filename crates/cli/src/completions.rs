//! `wsspec completions SHELL`: the shell completion script, generated from the CLI definition
//! (clap_complete), on stdout. For bash: `wsspec completions bash > ~/.local/share/bash-completion/completions/wsspec`.

use clap::Args;
use clap_complete::Shell;

use crate::{exit::Exit, stdout::print_out};

#[derive(Args, Debug)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the completion script of `command` for the shell.
pub(crate) fn completions(args: CompletionsArgs, mut command: clap::Command) -> Result<u8, Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "wsspec", &mut script);
    print_out(&String::from_utf8_lossy(&script));
    Ok(crate::exit::OK)
}
