//! Repository automation for the payments workspace, run as `cargo xtask`.
//!
//! Commands:
//!
//! - `cargo xtask test-contracts [--provider NAME]` runs every contract test
//!   target (a `[[test]]` target whose name starts with `contract`) of every
//!   workspace package: it builds them with one `cargo test --workspace --no-run`
//!   (nothing to compile after `cargo test --workspace`), runs each binary, and prints a
//!   per-provider table of passed/failed counts and wall time, followed by
//!   the names of failing tests. A provider is a package name without its
//!   `payments-` prefix (`payments-core` -> `core`).
//! - `cargo xtask bench [verify|http|ledger]... [--quick]` runs the benchmarks (each a same-run ratio against
//!   its raw baseline), prints their tables and writes `target/bench/<name>.json`.
//! - `cargo xtask fuzz [--seconds N] [TARGET]` runs the libFuzzer targets of `fuzz/` (cargo-fuzz,
//!   nightly Rust), each for N seconds (600 by default), and prints executions, corpus size and
//!   crashes per target (docs/fuzzing.md).
//! - `cargo xtask help` prints usage.
//!
//! Exit codes: 0 when every contract test passed (and at least one ran),
//! 1 on failures or when no contract test exists, 2 on usage errors
//! (including an unknown `--provider`).

// Printing the report to stdout is this binary's whole job.
#![allow(clippy::print_stdout)]

mod discovery;
mod fuzz;
mod libtest;
mod report;
mod runner;

use std::process::ExitCode;

/// Usage text printed by `help` and on usage errors.
const USAGE: &str = "\
Usage: cargo xtask <COMMAND>

Commands:
  test-contracts [--provider NAME]
      Run every `contract*` test target of every workspace package and
      print passed/failed counts and wall time per provider. With
      --provider, run only that provider (e.g. `core` for payments-core).
  bench [verify|http|ledger]... [--quick]
      Run the benchmarks (all when none is named) in release mode: each
      prints a table of its figures as ratios against a baseline measured
      in the same run, and writes target/bench/<name>.json. --quick is a
      smoke run (debug build) that checks the harness, not the figures.
  fuzz [--seconds N] [TARGET]
      Run the libFuzzer targets of fuzz/ (all, or TARGET) one after the
      other for N seconds each (default 600) with `cargo +nightly fuzz run`,
      and print executions, corpus size and crashes per target. Needs
      cargo-fuzz (`cargo install cargo-fuzz --locked`) and a nightly
      toolchain. See docs/fuzzing.md.
  help
      Print this message.

Exit status: 0 all contract tests passed, 1 failures or no contract tests,
2 usage error.
";

/// Exit code for usage errors.
const USAGE_ERROR: u8 = 2;

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Cli {
    /// Print usage.
    Help,
    /// Run contract tests, optionally of a single provider.
    TestContracts {
        /// Provider selected with `--provider`.
        provider: Option<String>,
    },
    /// Run benchmarks.
    Bench {
        /// The benchmarks selected (all when empty).
        names: Vec<String>,
        /// A smoke run.
        quick: bool,
    },
    /// Run the fuzz targets.
    Fuzz {
        /// Seconds per target.
        seconds: u64,
        /// The target selected (all when `None`).
        target: Option<String>,
    },
}

/// Every benchmark: its name, the package and the example that runs it, and the package
/// features it needs.
const BENCHES: &[(&str, &str, &str, &str)] = &[
    ("verify", "payments-bench", "verify", ""),
    ("http", "payments-bench", "http", ""),
    ("ledger", "payments-ledger", "ingest_bench", "postgres"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Cli::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Cli::TestContracts { provider }) => test_contracts(provider.as_deref()),
        Ok(Cli::Bench { names, quick }) => bench(&names, quick),
        Ok(Cli::Fuzz { seconds, target }) => fuzz::run(seconds, target.as_deref()),
        Err(message) => {
            eprintln!("error: {message}\n");
            eprint!("{USAGE}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

/// Parses the arguments after the program name.
fn parse_args(args: &[String]) -> Result<Cli, String> {
    let mut args = args.iter().map(String::as_str);
    match args.next() {
        None => Err("missing command".to_owned()),
        Some("help" | "--help" | "-h") => Ok(Cli::Help),
        Some("test-contracts") => parse_test_contracts(args),
        Some("bench") => parse_bench(args),
        Some("fuzz") => fuzz::parse_args(args),
        Some(other) => Err(format!("unknown command `{other}`")),
    }
}

/// Parses the options of `test-contracts`.
fn parse_test_contracts<'a>(mut args: impl Iterator<Item = &'a str>) -> Result<Cli, String> {
    let mut provider = None;
    while let Some(arg) = args.next() {
        let value = match arg {
            "--help" | "-h" => return Ok(Cli::Help),
            "--provider" => args
                .next()
                .ok_or("`--provider` needs a provider name")?
                .to_owned(),
            _ => match arg.strip_prefix("--provider=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unexpected argument `{arg}` for test-contracts")),
            },
        };
        if value.is_empty() {
            return Err("`--provider` needs a provider name".to_owned());
        }
        if provider.replace(value).is_some() {
            return Err("`--provider` given more than once".to_owned());
        }
    }
    Ok(Cli::TestContracts { provider })
}

/// Parses the arguments of `bench`.
fn parse_bench<'a>(args: impl Iterator<Item = &'a str>) -> Result<Cli, String> {
    let mut names = Vec::new();
    let mut quick = false;
    for arg in args {
        match arg {
            "--help" | "-h" => return Ok(Cli::Help),
            "--quick" => quick = true,
            name if BENCHES.iter().any(|(known, ..)| *known == name) => {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            other => {
                let known: Vec<&str> = BENCHES.iter().map(|(name, ..)| *name).collect();
                return Err(format!(
                    "unknown benchmark `{other}` (known: {})",
                    known.join(", ")
                ));
            }
        }
    }
    Ok(Cli::Bench { names, quick })
}

/// Runs each selected benchmark: a release build of its example (for `--quick`, the debug build
/// `cargo test --workspace` already made), then the example's executable.
fn bench(names: &[String], quick: bool) -> ExitCode {
    match run_benches(names, quick) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_benches(names: &[String], quick: bool) -> Result<(), String> {
    let root = runner::cargo_metadata()
        .and_then(|json| discovery::discover(&json))?
        .root;
    let out = std::path::Path::new(&root).join("target").join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    // A smoke run checks the harness, not the figures. The workspace's examples with its
    // features unified, as `cargo test --workspace` builds them: after it (as in CI) nothing is
    // compiled again, where `cargo run -p` would rebuild the crates its own feature selection
    // changes.
    let quick_build = if quick {
        Some(runner::build_examples(
            &root,
            &["--workspace", "--examples"],
        )?)
    } else {
        None
    };
    let selected = BENCHES
        .iter()
        .filter(|(name, ..)| names.is_empty() || names.iter().any(|n| n == name));
    for (name, package, example, features) in selected {
        let executables = match &quick_build {
            Some(executables) => executables.clone(),
            None => {
                let mut args = vec!["--release", "-p", package, "--example", example];
                if !features.is_empty() {
                    args.extend(["--features", features]);
                }
                runner::build_examples(&root, &args)?
            }
        };
        let executable = executables
            .into_iter()
            .find(|((id, target), _)| target == example && discovery::is_package(id, package))
            .map(|(_, executable)| executable)
            .ok_or_else(|| format!("cargo built no example `{example}` of {package}"))?;
        let json = out.join(format!("{name}.json"));
        let mut command = std::process::Command::new(&executable);
        command.current_dir(&root).arg("--json").arg(&json);
        if quick {
            command.arg("--quick");
        }
        eprintln!("== bench {name}{}", if quick { " (quick)" } else { "" });
        let status = command
            .status()
            .map_err(|e| format!("running {executable}: {e}"))?;
        if !status.success() {
            return Err(format!("bench {name} failed ({status})"));
        }
    }
    Ok(())
}

/// Runs `test-contracts`: discover, filter, run, print, and decide the
/// exit code.
fn test_contracts(provider: Option<&str>) -> ExitCode {
    let workspace = match runner::cargo_metadata().and_then(|json| discovery::discover(&json)) {
        Ok(workspace) => workspace,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let providers = match discovery::select(workspace.providers, provider) {
        Ok(providers) => providers,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    if providers.is_empty() {
        eprintln!(
            "error: no contract tests found: no workspace package has a test target \
             whose name starts with `contract` (e.g. tests/contract_http.rs)"
        );
        return ExitCode::FAILURE;
    }

    let executables = match runner::build_contract_tests(&workspace.root) {
        Ok(executables) => executables,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut reports = Vec::with_capacity(providers.len());
    for provider in &providers {
        eprintln!(
            "running contract tests of {} ({})",
            provider.name,
            provider.targets.join(", ")
        );
        match runner::run_provider(provider, &executables) {
            Ok(report) => reports.push(report),
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        }
    }

    print!("{}", report::render_table(&reports));
    print!("{}", report::render_failures(&reports));
    match report::verdict(report::total_counts(&reports)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nerror: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        parse_args(&args)
    }

    fn contracts(provider: Option<&str>) -> Cli {
        Cli::TestContracts {
            provider: provider.map(str::to_owned),
        }
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse(&["help"]), Ok(Cli::Help));
        assert_eq!(parse(&["--help"]), Ok(Cli::Help));
        assert_eq!(parse(&["test-contracts", "--help"]), Ok(Cli::Help));
        assert_eq!(parse(&["test-contracts"]), Ok(contracts(None)));
        assert_eq!(
            parse(&["test-contracts", "--provider", "core"]),
            Ok(contracts(Some("core")))
        );
        assert_eq!(
            parse(&["test-contracts", "--provider=payconiq"]),
            Ok(contracts(Some("payconiq")))
        );
        assert_eq!(
            parse(&["bench", "--quick", "ledger", "ledger"]),
            Ok(Cli::Bench {
                names: vec!["ledger".to_owned()],
                quick: true
            })
        );
        assert_eq!(
            parse(&["bench"]),
            Ok(Cli::Bench {
                names: vec![],
                quick: false
            })
        );
    }

    #[test]
    fn rejects_bad_command_lines() {
        for args in [
            &[][..],
            &["frobnicate"],
            &["test-contracts", "--provider"],
            &["test-contracts", "--provider="],
            &["test-contracts", "--provider", "a", "--provider", "b"],
            &["test-contracts", "--verbose"],
            &["bench", "nonsense"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
