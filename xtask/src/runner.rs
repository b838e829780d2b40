//! Running cargo: `cargo metadata` for discovery and `cargo test` for each
//! contract test target.

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

/// Runs one contract test target with
/// `cargo test --package PACKAGE --test TARGET --color never -- --color never`
/// from the workspace root, and interprets its output.
fn run_target(root: &str, package: &str, target: &str) -> Result<TargetOutcome, String> {
    let mut command = Command::new(cargo_program());
    command.current_dir(root).args([
        "test",
        "--package",
        package,
        "--test",
        target,
        "--color",
        "never",
        "--",
        "--color",
        "never",
    ]);
    let (success, output) = run_captured(command)?;
    Ok(libtest::evaluate(&output, success))
}

/// Runs all contract test targets of `provider` and measures the total
/// wall time (building included).
pub(crate) fn run_provider(root: &str, provider: &Provider) -> Result<ProviderReport, String> {
    let start = Instant::now();
    let mut outcomes = Vec::with_capacity(provider.targets.len());
    for target in &provider.targets {
        let outcome = run_target(root, &provider.package, target)?;
        outcomes.push((target.clone(), outcome));
    }
    Ok(ProviderReport::new(
        &provider.name,
        start.elapsed(),
        outcomes,
    ))
}
