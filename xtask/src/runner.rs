//! Running cargo: `cargo metadata` for discovery, `cargo test --no-run` for the contract test
//! binaries, then each binary.

use std::ffi::OsString;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::discovery::Provider;
use crate::libtest::{self, TargetOutcome};
use crate::report::ProviderReport;

/// The cargo executable: `$CARGO` if set (it is under `cargo run`), else
/// `cargo` from `PATH`.
pub(crate) fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// Runs `cargo metadata --format-version 1 --no-deps` and returns its JSON.
pub(crate) fn cargo_metadata() -> Result<String, String> {
    let output = Command::new(cargo_program())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run `cargo metadata`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|err| format!("`cargo metadata` printed invalid UTF-8: {err}"))
}

/// Spawns `command` with stdin closed and stdout and stderr sent to one
/// pipe (so their lines stay interleaved as printed), and waits for it.
///
/// Returns whether it exited successfully, and its combined output.
fn run_captured(mut command: Command) -> Result<(bool, String), String> {
    let (mut reader, writer) = io::pipe().map_err(|err| format!("cannot create a pipe: {err}"))?;
    let writer_for_stdout = writer
        .try_clone()
        .map_err(|err| format!("cannot duplicate a pipe: {err}"))?;
    command
        .stdin(Stdio::null())
        .stdout(writer_for_stdout)
        .stderr(writer);
    let mut child = command
        .spawn()
        .map_err(|err| format!("cannot run {command:?}: {err}"))?;
    // The command still holds the pipe's write ends; close them so reading
    // stops at EOF once the child (and its children) have exited.
    drop(command);

    let mut bytes = Vec::new();
    let read = reader.read_to_end(&mut bytes);
    let status = child
        .wait()
        .map_err(|err| format!("cannot wait for cargo: {err}"))?;
    read.map_err(|err| format!("cannot read cargo's output: {err}"))?;
    Ok((
        status.success(),
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// Builds every test target of the workspace with
/// `cargo test --workspace --no-run --message-format=json` (after `cargo test --workspace`, as in
/// CI, nothing is recompiled) and returns the contract test executables, keyed by (package id,
/// target name). The whole workspace, with its features unified as `cargo test --workspace`
/// unifies them: these are the very binaries that run finished.
pub(crate) fn build_contract_tests(
    root: &str,
) -> Result<std::collections::HashMap<(String, String), String>, String> {
    cargo_messages(root, &["test", "--workspace", "--no-run"])
        .map(|messages| crate::discovery::test_executables(&messages))
}

/// `cargo build <args> --message-format=json` and the example executables it built (or found
/// fresh), keyed by (package id, example name).
pub(crate) fn build_examples(
    root: &str,
    args: &[&str],
) -> Result<std::collections::HashMap<(String, String), String>, String> {
    let command: Vec<&str> = std::iter::once("build")
        .chain(args.iter().copied())
        .collect();
    cargo_messages(root, &command).map(|messages| crate::discovery::example_executables(&messages))
}

/// Runs `cargo <args> --message-format=json-render-diagnostics` in `root` (diagnostics go to
/// stderr as usual) and returns the JSON messages it printed.
fn cargo_messages(root: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(cargo_program())
        .current_dir(root)
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("cannot run `cargo {}`: {err}", args.join(" ")))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo {}` failed ({})",
            args.join(" "),
            output.status
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs one contract test binary as `cargo test` would (from the package's directory, with
/// `CARGO_MANIFEST_DIR` set), and interprets its output.
fn run_target(dir: &str, executable: &str) -> Result<TargetOutcome, String> {
    let mut command = Command::new(executable);
    command
        .current_dir(dir)
        .env("CARGO_MANIFEST_DIR", dir)
        .args(["--color", "never"]);
    let (success, output) = run_captured(command)?;
    Ok(libtest::evaluate(&output, success))
}

/// Runs all contract test targets of `provider` from the binaries in `executables` and
/// measures the total wall time.
pub(crate) fn run_provider(
    provider: &Provider,
    executables: &std::collections::HashMap<(String, String), String>,
) -> Result<ProviderReport, String> {
    let start = Instant::now();
    let mut outcomes = Vec::with_capacity(provider.targets.len());
    for target in &provider.targets {
        let executable = executables
            .get(&(provider.id.clone(), target.clone()))
            .ok_or_else(|| {
                format!(
                    "`cargo test --no-run` built no executable for {} test `{target}`",
                    provider.package
                )
            })?;
        let outcome = run_target(&provider.dir, executable)?;
        outcomes.push((target.clone(), outcome));
    }
    Ok(ProviderReport::new(
        &provider.name,
        start.elapsed(),
        outcomes,
    ))
}
