//! `payments`: the whole checkout flow of every provider, offline, with one command.
//!
//! ```text
//! payments demo [--provider NAME] [--json]      create → pay → webhook → status → reconcile
//! payments sandbox [--port N] [--json]          the provider emulator, standalone
//! payments webhook verify --provider NAME --body FILE --header 'Name: value'... [key options]
//! ```
//!
//! Errors are one line on stderr (`error: ...: cause`) and a non-zero exit status: 1 when a demo
//! step failed or a webhook was rejected, 2 for usage errors and anything that stopped the
//! command itself.

// Printing reports to stdout is this binary's job.
#![allow(clippy::print_stdout)]

mod args;
mod demo;
mod flow;
mod providers;
mod receiver;
mod sandbox_cmd;
#[cfg(test)]
mod test_support;
mod verify;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::args::{Cli, Command, WebhookCommand};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            // clap's own message, as one line: what was wrong, without the usage block.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("error: {message} (see `payments --help`)");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Sandbox(args) => sandbox_cmd::run(args).await,
            Command::Webhook {
                command: WebhookCommand::Verify(args),
            } => verify::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
