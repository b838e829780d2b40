//! `payments webhook verify`: a captured webhook, verified offline.

use std::io::Read as _;
use std::process::ExitCode;

use payments_core::webhook::{Authenticity, VerifiedEvent};
use payments_sandbox::Provider;
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::VerifyArgs;
use crate::providers;

/// A captured webhook and the options to verify it with.
pub(crate) struct VerifyInput {
    pub(crate) args: Box<VerifyArgs>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// `--at`, or now.
    pub(crate) at: OffsetDateTime,
}

impl VerifyInput {
    /// The request as provider verifiers take it.
    pub(crate) fn request(&self) -> payments_core::webhook::WebhookRequest<'_> {
        payments_core::webhook::WebhookRequest::new(&self.args.method, &self.args.url, &self.body)
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

pub(crate) async fn run(args: Box<VerifyArgs>) -> Result<ExitCode, String> {
    let provider: Provider = args
        .provider
        .parse()
        .map_err(|e: payments_sandbox::UnknownProvider| e.to_string())?;
    let body = read_body(&args.body)?;
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
    let input = VerifyInput {
        args,
        headers,
        body,
        at,
    };
    match providers::verify(provider, &input).await {
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

/// Reads a secret given as a file path or `env:NAME`.
pub(crate) fn read_secret(option: &str, spec: &str) -> Result<SecretString, VerifyError> {
    let text = match spec.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| {
            VerifyError::Usage(format!("{option}: environment variable {var} is not set"))
        })?,
        None => std::fs::read_to_string(spec)
            .map_err(|e| VerifyError::Usage(format!("{option}: cannot read {spec}: {e}")))?,
    };
    Ok(SecretString::from(
        text.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

/// Reads a required file option.
pub(crate) fn read_file(
    option: &str,
    path: Option<&std::path::Path>,
) -> Result<String, VerifyError> {
    let path = path.ok_or_else(|| {
        VerifyError::Usage(format!("{option} FILE is required for this provider"))
    })?;
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
}
