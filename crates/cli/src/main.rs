//! `payments`: the whole checkout flow of every provider over a durable ledger, offline, with one
//! command.
//!
//! ```text
//! payments demo [--provider NAME]... [--scenario NAME] [--db URL] [--json]
//!     create once → payer pays → webhook received → stored → applied → handler notified →
//!     reconciled; or what the ledger guarantees (duplicate, out-of-order, lost-webhook,
//!     create-500, all)
//! payments sandbox [--port N] [--json]          the provider emulator, standalone
//! payments ledger [--db URL] [--json] list|show REF|history REF|needs-review|dead-letters|retry ID|reconcile --once
//! payments webhook verify PROVIDER --body FILE --header 'Name: value'... [the provider's key options]
//! ```
//!
//! Errors are one line on stderr (`error: ...: cause`) and a non-zero exit status: 1 when a demo
//! step failed or a webhook was rejected, 2 for usage errors and anything that stopped the
//! command itself.

// Printing reports to stdout is this binary's job.
#![allow(clippy::print_stdout)]

mod args;
mod checkout;
mod demo;
mod flow;
mod ledger_cmd;
mod providers;
mod receiver;
mod sandbox_cmd;
mod scenarios;
#[cfg(test)]
mod test_support;
mod verify;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command, WebhookCommand};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand
            ) =>
        {
            let args: Vec<String> = std::env::args().skip(1).collect();
            eprintln!("error: {}", missing_subcommand(&args));
            return ExitCode::from(2);
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
            Command::Ledger(args) => ledger_cmd::run(args).await,
            Command::Webhook {
                command: WebhookCommand::Verify(command),
            } => verify::run(command).await,
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

/// "`payments webhook verify` needs a subcommand: payconiq, ..." for the command `args` stop
/// at: what is missing and what may follow, instead of the command's description.
fn missing_subcommand(args: &[String]) -> String {
    let mut command = Cli::command();
    let mut path = vec!["payments".to_owned()];
    for arg in args {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            break;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(clap::Command::get_name)
        .filter(|name| *name != "help")
        .collect();
    let path = path.join(" ");
    format!(
        "`{path}` needs a subcommand: {} (see `{path} --help`)",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_subcommand_lists_the_subcommands_of_the_command_given() {
        assert_eq!(
            missing_subcommand(&[]),
            "`payments` needs a subcommand: demo, sandbox, ledger, webhook (see `payments --help`)"
        );
        let webhook = missing_subcommand(&["webhook".to_owned()]);
        assert!(
            webhook.starts_with("`payments webhook` needs a subcommand: verify"),
            "{webhook}"
        );
        let verify = missing_subcommand(&["webhook".to_owned(), "verify".to_owned()]);
        assert!(
            verify.contains("payconiq, fintecture, hub2, banq, paylican"),
            "{verify}"
        );
        let ledger = missing_subcommand(&["ledger".to_owned(), "--json".to_owned()]);
        assert!(ledger.starts_with("`payments ledger` needs"), "{ledger}");
    }
}
