//! `cargo xtask fuzz [--seconds N] [TARGET]`: runs the libFuzzer targets of `fuzz/` (cargo-fuzz,
//! nightly Rust) one after the other, each for N seconds, and prints per target the executions,
//! the corpus size and whether it crashed (docs/fuzzing.md).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::Cli;

/// The targets, in the order they run: `fuzz/fuzz_targets/<name>.rs` (a test checks the list).
pub(crate) const TARGETS: &[&str] = &[
    "core_parsers",
    "payconiq",
    "fintecture",
    "hub2",
    "banq",
    "paylican",
    "sandbox_control",
];

/// How long each target runs without `--seconds`.
pub(crate) const DEFAULT_SECONDS: u64 = 600;

/// The toolchain cargo-fuzz runs with (libFuzzer's sanitizer flags need nightly); the
/// environment variable `PAYMENTS_FUZZ_TOOLCHAIN` names another.
const DEFAULT_TOOLCHAIN: &str = "nightly";

/// Parses the arguments of `fuzz`.
pub(crate) fn parse_args<'a>(mut args: impl Iterator<Item = &'a str>) -> Result<Cli, String> {
    let mut seconds = None;
    let mut target: Option<String> = None;
    while let Some(arg) = args.next() {
        let value = match arg {
            "--help" | "-h" => return Ok(Cli::Help),
            "--seconds" => Some(args.next().ok_or("`--seconds` needs a number")?),
            _ => arg.strip_prefix("--seconds="),
        };
        if let Some(value) = value {
            let parsed = value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("`--seconds` needs a positive number, not `{value}`"))?;
            if seconds.replace(parsed).is_some() {
                return Err("`--seconds` given more than once".to_owned());
            }
        } else if arg.starts_with('-') {
            return Err(format!("unexpected argument `{arg}` for fuzz"));
        } else if !TARGETS.contains(&arg) {
            return Err(format!(
                "unknown fuzz target `{arg}` (known: {})",
                TARGETS.join(", ")
            ));
        } else if target.replace(arg.to_owned()).is_some() {
            return Err("name at most one fuzz target".to_owned());
        }
    }
    Ok(Cli::Fuzz {
        seconds: seconds.unwrap_or(DEFAULT_SECONDS),
        target,
    })
}

/// What one run of a target gave.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    /// Executions: libFuzzer's `Done N runs`, or its last status line when it stopped early.
    runs: Option<u64>,
    /// Seconds libFuzzer reported (`in S second(s)`), else the wall time.
    seconds: u64,
    /// The input libFuzzer saved when the target crashed.
    crash: Option<String>,
    /// Whether cargo-fuzz exited successfully.
    success: bool,
}

/// Reads libFuzzer's output line by line into an [`Outcome`].
fn observe(outcome: &mut Outcome, line: &str) {
    if let Some((runs, seconds)) = parse_done(line) {
        outcome.runs = Some(runs);
        outcome.seconds = seconds;
    } else if let Some(runs) = parse_status(line) {
        outcome.runs = Some(runs);
    }
    if let Some(path) = line.split("Test unit written to ").nth(1) {
        outcome.crash = Some(path.trim().to_owned());
    }
}

/// libFuzzer's last line: `Done 123456 runs in 600 second(s)`.
fn parse_done(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("Done ")?;
    let (runs, rest) = rest.split_once(" runs in ")?;
    let seconds = rest.strip_suffix(" second(s)")?;
    Some((runs.parse().ok()?, seconds.parse().ok()?))
}

/// A status line: `#123456\tNEW    cov: ...` or `#1048576\tpulse  cov: ...`.
fn parse_status(line: &str) -> Option<u64> {
    let rest = line.strip_prefix('#')?;
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    let after = rest.strip_prefix(digits)?;
    if digits.is_empty() || !after.starts_with(['\t', ' ']) {
        return None;
    }
    digits.parse().ok()
}

/// Runs the selected targets (all when `target` is `None`) for `seconds` each.
pub(crate) fn run(seconds: u64, target: Option<&str>) -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fuzz_dir = root.join("fuzz");
    let toolchain =
        std::env::var("PAYMENTS_FUZZ_TOOLCHAIN").unwrap_or_else(|_| DEFAULT_TOOLCHAIN.to_owned());
    if let Err(message) = check_cargo_fuzz(&toolchain) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let selected: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|name| target.is_none_or(|t| t == *name))
        .collect();
    let mut rows = Vec::new();
    for name in selected {
        eprintln!("== fuzz {name} for {seconds} s (cargo +{toolchain} fuzz run {name})");
        let outcome = match run_target(&fuzz_dir, &toolchain, name, seconds) {
            Ok(outcome) => outcome,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        };
        let corpus = count_files(&fuzz_dir.join("corpus").join(name));
        rows.push((name, outcome, corpus));
    }
    print!("{}", render(&rows));
    if rows
        .iter()
        .all(|(_, outcome, _)| outcome.success && outcome.crash.is_none())
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A `cargo` that understands `+toolchain`: the rustup proxy on `PATH`, not `$CARGO` (which,
/// under `cargo run`, is one toolchain's cargo binary).
fn cargo(toolchain: &str) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg(format!("+{toolchain}"))
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN");
    command
}

fn check_cargo_fuzz(toolchain: &str) -> Result<(), String> {
    let output = cargo(toolchain)
        .args(["fuzz", "--version"])
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err(format!(
            "`cargo +{toolchain} fuzz` does not run. Install cargo-fuzz with \
             `cargo install cargo-fuzz --locked` and the toolchain with \
             `rustup toolchain install {toolchain}` (libFuzzer needs nightly Rust; \
             PAYMENTS_FUZZ_TOOLCHAIN names another toolchain)"
        )),
    }
}

/// Runs one target, echoing libFuzzer's output, and reads the outcome from it.
fn run_target(
    fuzz_dir: &Path,
    toolchain: &str,
    name: &str,
    seconds: u64,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let mut child = cargo(toolchain)
        .current_dir(fuzz_dir)
        .args(["fuzz", "run", name, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    let mut outcome = Outcome::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            observe(&mut outcome, &line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo fuzz: {e}"))?;
    outcome.success = status.success();
    if outcome.seconds == 0 {
        outcome.seconds = started.elapsed().as_secs();
    }
    Ok(outcome)
}

fn count_files(dir: &PathBuf) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).count())
        .unwrap_or(0)
}

/// The report: one row per target.
fn render(rows: &[(&str, Outcome, usize)]) -> String {
    let mut out =
        String::from("\ntarget            seconds   executions   exec/s   corpus   result\n");
    for (name, outcome, corpus) in rows {
        let runs = outcome.runs.map_or("?".to_owned(), |r| r.to_string());
        let rate = match outcome.runs {
            Some(runs) if outcome.seconds > 0 => (runs / outcome.seconds).to_string(),
            _ => "?".to_owned(),
        };
        let result = match (&outcome.crash, outcome.success) {
            (Some(path), _) => format!("CRASH: {path}"),
            (None, true) => "no crash".to_owned(),
            (None, false) => "cargo fuzz failed".to_owned(),
        };
        out.push_str(&format!(
            "{name:<16}  {:>7}  {runs:>11}  {rate:>7}  {corpus:>7}   {result}\n",
            outcome.seconds
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        crate::parse_args(&args)
    }

    fn fuzz(seconds: u64, target: Option<&str>) -> Cli {
        Cli::Fuzz {
            seconds,
            target: target.map(str::to_owned),
        }
    }

    #[test]
    fn parses_fuzz_command_lines() {
        assert_eq!(parse(&["fuzz"]), Ok(fuzz(DEFAULT_SECONDS, None)));
        assert_eq!(parse(&["fuzz", "--help"]), Ok(Cli::Help));
        assert_eq!(
            parse(&["fuzz", "hub2"]),
            Ok(fuzz(DEFAULT_SECONDS, Some("hub2")))
        );
        assert_eq!(
            parse(&["fuzz", "--seconds", "30", "core_parsers"]),
            Ok(fuzz(30, Some("core_parsers")))
        );
        assert_eq!(
            parse(&["fuzz", "payconiq", "--seconds=5"]),
            Ok(fuzz(5, Some("payconiq")))
        );
    }

    #[test]
    fn rejects_bad_fuzz_command_lines() {
        for args in [
            &["fuzz", "--seconds"][..],
            &["fuzz", "--seconds", "0"],
            &["fuzz", "--seconds", "ten"],
            &["fuzz", "--seconds=-1"],
            &["fuzz", "--seconds", "1", "--seconds", "2"],
            &["fuzz", "nonsense"],
            &["fuzz", "hub2", "banq"],
            &["fuzz", "--verbose"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn reads_libfuzzer_output() {
        assert_eq!(
            parse_done("Done 1234567 runs in 600 second(s)"),
            Some((1234567, 600))
        );
        assert_eq!(parse_done("Done 5 runs in 1 second(s)\n"), Some((5, 1)));
        assert_eq!(parse_done("Done many runs in 600 second(s)"), None);
        assert_eq!(parse_done("INFO: Done"), None);
        assert_eq!(
            parse_status("#1048576\tpulse  cov: 2012 ft: 9000 corp: 312/40Kb exec/s: 3495"),
            Some(1048576)
        );
        assert_eq!(parse_status("#2\tINITED cov: 10"), Some(2));
        assert_eq!(parse_status("#include"), None);
        assert_eq!(parse_status("#"), None);

        let mut outcome = Outcome::default();
        for line in [
            "INFO: Seed: 42",
            "#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb",
            "#4096\tpulse  cov: 20 ft: 30 corp: 5/80b exec/s: 2048 rss: 31Mb",
            "==7== ERROR: libFuzzer: deadly signal",
            "artifact_prefix='/w/fuzz/artifacts/hub2/'; Test unit written to /w/fuzz/artifacts/hub2/crash-da39a3ee",
        ] {
            observe(&mut outcome, line);
        }
        assert_eq!(outcome.runs, Some(4096));
        assert_eq!(
            outcome.crash.as_deref(),
            Some("/w/fuzz/artifacts/hub2/crash-da39a3ee")
        );

        let mut outcome = Outcome::default();
        observe(&mut outcome, "#99999\tpulse  cov: 1");
        observe(&mut outcome, "Done 123456 runs in 601 second(s)");
        assert_eq!(outcome.runs, Some(123456));
        assert_eq!(outcome.seconds, 601);
        assert_eq!(outcome.crash, None);
    }

    #[test]
    fn targets_are_the_fuzz_projects() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                Some(path.file_stem()?.to_str()?.to_owned())
            })
            .collect();
        found.sort();
        let mut known: Vec<&str> = TARGETS.to_vec();
        known.sort_unstable();
        assert_eq!(found, known);
    }

    #[test]
    fn renders_a_row_per_target() {
        let rows = [
            (
                "hub2",
                Outcome {
                    runs: Some(1_200_000),
                    seconds: 600,
                    crash: None,
                    success: true,
                },
                42,
            ),
            (
                "banq",
                Outcome {
                    runs: Some(10),
                    seconds: 1,
                    crash: Some("artifacts/banq/crash-1".to_owned()),
                    success: false,
                },
                3,
            ),
        ];
        let table = render(&rows);
        assert!(table.contains("hub2"), "{table}");
        assert!(table.contains("1200000"), "{table}");
        assert!(table.contains("2000"), "{table}");
        assert!(table.contains("no crash"), "{table}");
        assert!(table.contains("CRASH: artifacts/banq/crash-1"), "{table}");
    }
}
