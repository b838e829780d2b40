//! Helpers for the unit tests of the provider modules.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use clap::Parser as _;
use serde_json::Value;

use crate::args::{Cli, Command, WebhookCommand};
use crate::verify::{Capture, VerifyError};

/// A temporary directory of files (keys, secrets, bodies), removed on drop.
pub(crate) struct Files(PathBuf);

impl Files {
    /// A fresh directory whose name says which test made it.
    pub(crate) fn new(label: &str) -> Files {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "payments-cli-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Files(dir)
    }

    /// Writes `bytes` to `name` in the directory; returns the path.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `payments webhook verify PROVIDER --body - OPTIONS...` as the command line would run it, on
/// `body` with `headers`, as of `at` when given: a parse error is a usage error, as in `main`.
pub(crate) async fn verify_with(
    provider: &str,
    options: &[&str],
    headers: &[(String, String)],
    body: &[u8],
    at: Option<time::OffsetDateTime>,
) -> Result<Value, VerifyError> {
    let mut argv = vec!["payments", "webhook", "verify", provider, "--body", "-"];
    argv.extend_from_slice(options);
    let cli = Cli::try_parse_from(argv).map_err(|e| VerifyError::Usage(e.to_string()))?;
    let Command::Webhook {
        command: WebhookCommand::Verify(command),
    } = cli.command
    else {
        return Err(VerifyError::Usage("not a verify command".into()));
    };
    let mut capture = Capture::with_body(crate::providers::capture_args(&command), body.to_vec())
        .map_err(VerifyError::Usage)?;
    capture.headers = headers.to_vec();
    if let Some(at) = at {
        capture.at = at;
    }
    crate::providers::verify_capture(&command, &capture).await
}
