//! `payments webhook verify PROVIDER`: a captured webhook, verified offline.

use std::io::Read as _;
use std::process::ExitCode;

use payments_core::webhook::{Authenticity, VerifiedEvent, WebhookRequest};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::{CaptureArgs, VerifyCommand};
use crate::providers;

/// A captured webhook, read.
#[derive(Debug, Clone)]
pub(crate) struct Capture {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// `--at`, or now.
    pub(crate) at: OffsetDateTime,
    /// Whether `--url` was left at its default (a signed URL then cannot match).
    pub(crate) default_url: bool,
}

impl Capture {
    /// Reads the body file and parses the headers and `--at`.
    pub(crate) fn read(args: &CaptureArgs) -> Result<Capture, String> {
        let body = read_body(&args.body)?;
        Capture::with_body(args, body)
    }

    /// The capture of `args` with `body` (tests give the body directly).
    pub(crate) fn with_body(args: &CaptureArgs, body: Vec<u8>) -> Result<Capture, String> {
        let headers = args
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let at = match &args.at {
            Some(text) => OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|e| format!("--at `{text}` is not an RFC 3339 instant: {e}"))?,
            None => OffsetDateTime::now_utc(),
        };
        Ok(Capture {
            method: args.method.clone(),
            url: args.url.clone(),
            headers,
            body,
            at,
            default_url: args.url == crate::args::DEFAULT_VERIFY_URL,
        })
    }

    /// The request as provider verifiers take it.
    pub(crate) fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest::new(&self.method, &self.url, &self.body)
            .headers(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
    }
}

/// Why verification did not produce an event.
#[derive(Debug)]
pub(crate) enum VerifyError {
    /// Missing or unreadable options (exit status 2).
    Usage(String),
    /// The webhook was rejected (exit status 1): the verifier's precise reason.
    Rejected(String),
}

pub(crate) async fn run(command: VerifyCommand) -> Result<ExitCode, String> {
    match providers::verify(&command).await {
        Ok(event) => {
            println!("{event}");
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Rejected(reason)) => {
            eprintln!("rejected: {reason}");
            Ok(ExitCode::from(1))
        }
        Err(VerifyError::Usage(message)) => Err(message),
    }
}

fn read_body(path: &std::path::Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| format!("cannot read the body from stdin: {e}"))?;
        return Ok(body);
    }
    std::fs::read(path).map_err(|e| format!("cannot read --body {}: {e}", path.display()))
}

/// `Name: value` → (`Name`, `value`), the value's surrounding spaces trimmed.
pub(crate) fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("--header `{text}` is not `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("--header `{text}` has no valid header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// Reads a secret given as a file path or `env:NAME`. The value given is never repeated in an
/// error: it may be the secret itself, typed where its file was expected.
pub(crate) fn read_secret(option: &str, spec: &str) -> Result<SecretString, VerifyError> {
    let text = match spec.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| {
            VerifyError::Usage(format!("{option}: environment variable {var} is not set"))
        })?,
        None => std::fs::read_to_string(spec).map_err(|e| {
            VerifyError::Usage(format!(
                "{option}: the value must be FILE (a file holding the secret) or env:NAME (an \
                 environment variable holding it), and no file by that name can be read ({}); \
                 the value is not shown, in case it is the secret itself",
                e.kind()
            ))
        })?,
    };
    Ok(SecretString::from(
        text.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

/// Reads a file option.
pub(crate) fn read_file(option: &str, path: &std::path::Path) -> Result<String, VerifyError> {
    std::fs::read_to_string(path)
        .map_err(|e| VerifyError::Usage(format!("{option}: cannot read {}: {e}", path.display())))
}

/// The JSON printed for a verified event: the fields every provider has, plus `data`.
pub(crate) fn event_json<T>(event: &VerifiedEvent<T>, data: Value) -> Value {
    let authenticity = match event.authenticity {
        Authenticity::Signed => "signed",
        Authenticity::FetchedBack => "fetched_back",
        Authenticity::Guarded => "guarded",
        Authenticity::Unverified => "unverified",
        _ => "other",
    };
    json!({
        "provider": event.provider,
        "authenticity": authenticity,
        "event_id": event.event_id,
        "dedup_key": event.dedup_key(),
        "event_type": event.event_type,
        "payment_id": event.payment_id,
        "status": event.status.as_ref().map(|s| s.to_string()),
        "raw_status": event.raw_status,
        "occurred_at": event.occurred_at.and_then(|t| t.format(&Rfc3339).ok()),
        "data": data,
    })
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_as_name_and_trimmed_value() {
        assert_eq!(
            parse_header("Hub2-Signature:  t=1,s1=ab ").unwrap_or_default(),
            ("Hub2-Signature".to_owned(), "t=1,s1=ab".to_owned())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
        assert!(parse_header("Bad Name: v").is_err());
    }

    #[test]
    fn a_secret_typed_as_the_value_is_never_repeated() {
        let Err(VerifyError::Usage(message)) = read_secret("--secret", "whsec_not_a_file_0123")
        else {
            panic!("a usage error");
        };
        assert!(!message.contains("whsec_not_a_file_0123"), "{message}");
        assert!(
            message.contains("FILE") && message.contains("env:NAME"),
            "{message}"
        );
    }
}
