//! One error type for every provider, shaped around the question a caller must answer after a
//! failure: *did anything happen at the provider, and is it safe to try again?*
//!
//! | variant | reached the provider? | what to do |
//! |---|---|---|
//! | [`Error::InvalidInput`], [`Error::Config`] | no | fix the input or configuration |
//! | [`Error::NotSent`] | no (connection refused, DNS, TLS) | safe to retry |
//! | [`Error::Provider`] | yes, and it said no | read `code`; retrying the same request fails the same way |
//! | [`Error::RateLimited`] | yes, and it refused to process it | retry after `retry_after` |
//! | [`Error::OutcomeUnknown`] | maybe | **do not** blindly retry a creation: fetch or search first |
//! | [`Error::Decode`] | yes, the answer was unreadable | for a creation, treat like `OutcomeUnknown` |
//! | [`Error::WebhookRejected`] | — | answer the webhook with 4xx; do not process it |
//! | [`Error::Unsupported`] | no | the provider has no such operation |
//!
//! Nothing here ever contains a secret: response excerpts are bounded and redacted (see
//! [`redacted_excerpt`]), transport errors are stripped of their URL.

use std::fmt;
use std::time::Duration;

use crate::webhook::WebhookRejection;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a failed request may have had an effect at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The request provably never reached the provider.
    NotSent,
    /// The provider received and answered it.
    Answered,
    /// It may or may not have been processed: reconcile by fetching before retrying a creation.
    Unknown,
}

/// What the provider said when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProviderError {
    /// HTTP status.
    pub status: u16,
    /// The provider's machine-readable code (`PAYMENT_NOT_FOUND`), when it sent one.
    pub code: Option<String>,
    /// The provider's human-readable message, when it sent one (bounded in length).
    pub message: Option<String>,
    /// The provider's trace/correlation id, to quote to their support.
    pub trace_id: Option<String>,
}

impl ProviderError {
    /// A provider error with only an HTTP status.
    pub fn new(status: u16) -> Self {
        ProviderError {
            status,
            ..Default::default()
        }
    }

    /// Sets the provider code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(bounded(code.into()));
        self
    }

    /// Sets the provider message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(bounded(message.into()));
        self
    }

    /// Sets the provider trace id.
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(bounded(trace_id.into()));
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(trace) = &self.trace_id {
            write!(f, " (trace {trace})")?;
        }
        Ok(())
    }
}

/// Every failure of every provider crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Rejected before sending: a field is missing, too long, out of range or malformed.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as the provider names it (`reference`, `amount`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Rejected before sending: the client is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
    /// The request never left: connection refused, DNS failure, TLS handshake failure.
    #[error("{operation}: request not sent: {reason}")]
    NotSent {
        /// The operation (`create_payment`).
        operation: &'static str,
        /// What failed.
        reason: String,
    },
    /// The provider answered with an error.
    #[error("{operation}: provider refused: {error}")]
    Provider {
        /// The operation.
        operation: &'static str,
        /// What the provider said.
        error: ProviderError,
    },
    /// The provider is throttling this client.
    #[error("{operation}: rate limited (retry after {retry_after:?})")]
    RateLimited {
        /// The operation.
        operation: &'static str,
        /// How long the provider asked to wait, when it said.
        retry_after: Option<Duration>,
        /// The provider's error body, when it sent one.
        error: ProviderError,
    },
    /// The request may have been processed: a timeout or lost connection after sending, or a 5xx
    /// answer to a request that is not idempotent. Reconcile by fetching before retrying.
    #[error("{operation}: outcome unknown ({reason}); fetch the payment before retrying")]
    OutcomeUnknown {
        /// The operation.
        operation: &'static str,
        /// What happened.
        reason: String,
        /// The provider's answer, if there was one (a 5xx on a creation).
        error: Option<ProviderError>,
    },
    /// The provider's answer could not be read.
    #[error(
        "{operation}: could not decode the response (HTTP {status}): {reason}; body starts: {excerpt}"
    )]
    Decode {
        /// The operation.
        operation: &'static str,
        /// HTTP status of the answer.
        status: u16,
        /// Why decoding failed.
        reason: String,
        /// A bounded, redacted start of the body (see [`redacted_excerpt`]).
        excerpt: String,
    },
    /// A webhook failed verification.
    #[error("webhook rejected: {0}")]
    WebhookRejected(#[from] WebhookRejection),
    /// The provider has no such operation.
    #[error("{provider} does not support {operation}: {hint}")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// The operation.
        operation: &'static str,
        /// What to do instead.
        hint: String,
    },
}

impl Error {
    /// An [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether the failed request may have had an effect at the provider.
    pub fn delivery(&self) -> Delivery {
        match self {
            Error::InvalidInput { .. }
            | Error::Config(_)
            | Error::NotSent { .. }
            | Error::Unsupported { .. }
            | Error::WebhookRejected(_) => Delivery::NotSent,
            Error::Provider { .. } | Error::RateLimited { .. } => Delivery::Answered,
            Error::OutcomeUnknown { .. } | Error::Decode { .. } => Delivery::Unknown,
        }
    }

    /// True when sending the very same request again later may succeed and cannot double-charge:
    /// not sent, rate limited, or a provider 5xx/408 on an idempotent request.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::NotSent { .. } | Error::RateLimited { .. } => true,
            Error::Provider { error, .. } => error.status >= 500 || error.status == 408,
            _ => false,
        }
    }

    /// The provider's answer, for the variants that have one.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider { error, .. } | Error::RateLimited { error, .. } => Some(error),
            Error::OutcomeUnknown { error, .. } => error.as_ref(),
            _ => None,
        }
    }

    /// The provider's error code, when there is one.
    pub fn provider_code(&self) -> Option<&str> {
        self.provider_error()?.code.as_deref()
    }

    /// The provider's trace id, when there is one.
    pub fn trace_id(&self) -> Option<&str> {
        self.provider_error()?.trace_id.as_deref()
    }

    /// The HTTP status of the provider's answer, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Decode { status, .. } => Some(*status),
            _ => self.provider_error().map(|e| e.status),
        }
    }
}

impl From<crate::money::MoneyError> for Error {
    /// An amount that cannot be built is invalid input, caught before anything is sent.
    fn from(e: crate::money::MoneyError) -> Self {
        Error::invalid("amount", e.to_string())
    }
}

/// Longest provider-supplied text kept in an error.
const MAX_FIELD: usize = 512;
/// Longest body excerpt kept in a decode error.
pub const MAX_EXCERPT: usize = 256;

fn bounded(mut text: String) -> String {
    if text.len() > MAX_FIELD {
        let mut cut = MAX_FIELD;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Names whose values are replaced by `***` in body excerpts (matched case-insensitively as a
/// substring of the key).
const SENSITIVE_KEYS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
    "iban",
    "private",
    "signature",
    "otp",
    "msisdn",
    "cvv",
    "card",
];

/// A bounded, redacted start of a response body, safe to put in an error or a log line.
///
/// A JSON body has the value of every key that looks sensitive (`access_token`, `password`,
/// `iban`, ...) replaced by `"***"`, whatever the value's type, at any depth. A body that is not
/// valid JSON (an HTML error page, a truncated document) is scanned string by string: the value
/// after a sensitive key is masked up to the end of that value, and a sensitive `key=value` form
/// field is masked. Control characters become spaces; the result is at most [`MAX_EXCERPT`] bytes
/// (plus an ellipsis).
pub fn redacted_excerpt(body: &[u8]) -> String {
    let (redacted, cut_short) = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact_json(&mut value);
            (value.to_string(), false)
        }
        Err(_) => {
            // Look at a little more than we keep, so a key just before the cut is still seen.
            let window = body.get(..MAX_EXCERPT * 4).unwrap_or(body);
            let text = redact_form(&redact_text(&String::from_utf8_lossy(window)));
            (text, window.len() < body.len())
        }
    };
    let mut out: String = redacted
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let truncated = cut_short || out.len() > MAX_EXCERPT;
    if out.len() > MAX_EXCERPT {
        let mut cut = MAX_EXCERPT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    if truncated {
        out.push('…');
    }
    out
}

fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE_KEYS.iter().any(|s| key.contains(s))
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_sensitive(key) {
                    *v = serde_json::Value::String("***".into());
                } else {
                    redact_json(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Redacts JSON-looking text that does not parse. Strings are read with their escapes, so a `\"`
/// inside a value cannot shift what is taken for a key; after a sensitive key, the whole value
/// (string, number, or nested object/array up to its matching bracket) becomes `"***"`.
fn redact_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Reads a string starting at the opening quote at `start`; returns (content, index after it).
    let read_string = |start: usize| -> (String, usize) {
        let mut content = String::new();
        let mut j = start + 1;
        while let Some(&c) = chars.get(j) {
            match c {
                '\\' => {
                    content.push(c);
                    if let Some(&next) = chars.get(j + 1) {
                        content.push(next);
                    }
                    j += 2;
                }
                '"' => return (content, j + 1),
                _ => {
                    content.push(c);
                    j += 1;
                }
            }
        }
        (content, j)
    };
    while let Some(&c) = chars.get(i) {
        if c != '"' {
            out.push(c);
            i += 1;
            continue;
        }
        let (content, after) = read_string(i);
        out.push('"');
        out.push_str(&content);
        out.push('"');
        i = after;
        // A key is a string followed by a colon.
        let mut j = i;
        while chars.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        if chars.get(j) != Some(&':') || !is_sensitive(&content) {
            continue;
        }
        out.push(':');
        j += 1;
        while chars.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        // Skip the value, whatever it is.
        match chars.get(j) {
            Some('"') => j = read_string(j).1,
            Some('{') | Some('[') => {
                let mut depth = 0usize;
                while let Some(&c) = chars.get(j) {
                    match c {
                        '"' => {
                            j = read_string(j).1;
                            continue;
                        }
                        '{' | '[' => depth += 1,
                        '}' | ']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                j += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {
                while chars.get(j).is_some_and(|c| !matches!(c, ',' | '}' | ']')) {
                    j += 1;
                }
            }
        }
        out.push_str("\"***\"");
        i = j;
    }
    out
}

fn redact_form(text: &str) -> String {
    if !text.contains('=') {
        return text.to_string();
    }
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_sensitive(key) && !key.contains('"') => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_redact_sensitive_json_and_form_values() {
        let body = br#"{"access_token":"eyJhbGciOi.SECRET.sig","token_type":"Bearer","debtor":{"iban":"BE71096123456769"},"note":"ok"}"#;
        let excerpt = redacted_excerpt(body);
        assert!(!excerpt.contains("SECRET"), "{excerpt}");
        assert!(!excerpt.contains("BE71096123456769"), "{excerpt}");
        assert!(excerpt.contains(r#""note":"ok""#), "{excerpt}");
        assert!(excerpt.contains(r#""access_token":"***""#), "{excerpt}");

        let form = b"grant_type=password&password=hunter2&username=bob";
        let excerpt = redacted_excerpt(form);
        assert_eq!(excerpt, "grant_type=password&password=***&username=bob");
    }

    #[test]
    fn escaped_quotes_and_nested_values_cannot_defeat_redaction() {
        for body in [
            &br#"{"note":"a\"b","password":"hunter2"}"#[..],
            br#"{"description":"5\" screen","debtor":{"iban":"BE71096123456769"}}"#,
            br#"{"access_token":{"value":"hunter2"},"ok":1}"#,
            br#"{"secret":["hunter2"],"ok":1}"#,
            // Truncated JSON goes through the text scanner.
            br#"{"note":"a\"b","password":"hunter2","debtor":{"iban":"BE71096123456769"},"x":"#,
            br#"{"description":"5\" screen","token":{"v":"hunter2", "w":["BE71096123456769"]},"#,
        ] {
            let excerpt = redacted_excerpt(body);
            assert!(!excerpt.contains("hunter2"), "{excerpt}");
            assert!(!excerpt.contains("BE71096123456769"), "{excerpt}");
        }
    }

    #[test]
    fn excerpts_are_bounded_and_printable() {
        let long = "<html>".to_string() + &"x".repeat(10_000) + "\u{0}\n";
        let excerpt = redacted_excerpt(long.as_bytes());
        assert!(excerpt.len() <= MAX_EXCERPT + '…'.len_utf8());
        assert!(excerpt.ends_with('…'));
        let excerpt = redacted_excerpt(b"line1\nline2\x07");
        assert_eq!(excerpt, "line1 line2 ");
        // Invalid UTF-8 and a cut in the middle of a multi-byte char do not panic.
        let mut bytes = vec![0xffu8; 3];
        bytes.extend("é".repeat(1000).as_bytes());
        let _ = redacted_excerpt(&bytes);
        let _ = redacted_excerpt(br#"{"token":"unterminated"#);
        assert!(!redacted_excerpt(br#"{"token":"unterminated"#).contains("unterminated"));
    }

    #[test]
    fn delivery_tells_what_is_safe() {
        assert_eq!(
            Error::invalid("amount", "must be > 0").delivery(),
            Delivery::NotSent
        );
        let unknown = Error::OutcomeUnknown {
            operation: "create_payment",
            reason: "timed out".into(),
            error: None,
        };
        assert_eq!(unknown.delivery(), Delivery::Unknown);
        assert!(!unknown.is_retryable());
        let refused = Error::Provider {
            operation: "get_payment",
            error: ProviderError::new(404)
                .with_code("PAYMENT_NOT_FOUND")
                .with_trace_id("abc"),
        };
        assert_eq!(refused.delivery(), Delivery::Answered);
        assert_eq!(refused.provider_code(), Some("PAYMENT_NOT_FOUND"));
        assert_eq!(refused.trace_id(), Some("abc"));
        assert_eq!(refused.http_status(), Some(404));
        assert!(!refused.is_retryable());
        let limited = Error::RateLimited {
            operation: "get_payment",
            retry_after: Some(Duration::from_secs(3)),
            error: ProviderError::new(429),
        };
        assert!(limited.is_retryable());
        assert_eq!(
            limited.to_string(),
            "get_payment: rate limited (retry after Some(3s))"
        );
    }

    #[test]
    fn provider_text_is_bounded() {
        let e = ProviderError::new(400).with_message("m".repeat(5000));
        assert!(e.message.unwrap().len() <= MAX_FIELD + '…'.len_utf8());
    }
}
