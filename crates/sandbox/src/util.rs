//! Small helpers every provider module uses: ids, timestamps, bearer tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payments_core::provider_support::form_decode;
use time::OffsetDateTime;

use crate::faults::lock;

/// A random id: `prefix` followed by 20 lowercase alphanumerics.
pub(crate) fn new_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + 20);
    id.push_str(prefix);
    for _ in 0..20 {
        id.push(fastrand::alphanumeric().to_ascii_lowercase());
    }
    id
}

/// `len` random lowercase hex digits (trace ids, payment ids).
pub(crate) fn random_hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
        .collect()
}

/// The fields of an `application/x-www-form-urlencoded` text (a token request body, a query),
/// decoded strictly with core's form decoder: `None` on a malformed escape or non-UTF-8 value.
pub(crate) fn form_params(text: &str) -> Option<HashMap<String, String>> {
    let decode = |part: &str| String::from_utf8(form_decode(part)?).ok();
    let mut params = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(decode(name)?, decode(value)?);
    }
    Some(params)
}

/// An OAuth2 error answer, `{"error": ..., "error_description": ...}` (RFC 6749 §5.2), as the
/// token endpoints of Auth0, Fintecture and Keycloak write it.
pub(crate) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: impl Into<String>,
) -> Response {
    let description = description.into();
    (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Now, as RFC 3339 with milliseconds and `Z` (`2026-11-21T10:00:00.123Z`).
pub(crate) fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `at` as RFC 3339 in UTC with exactly three fractional digits (`2026-11-21T10:00:00.120Z`).
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

/// The value of a header, if present and text.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Access tokens issued by a token endpoint, each with an expiry.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, (String, Instant)>>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Never issued by this sandbox.
    Unknown,
    /// Issued, but past its lifetime.
    Expired,
}

impl Tokens {
    /// Issues a token for `subject` (the client or user it was issued to) valid for `lifetime`.
    pub(crate) fn issue(&self, subject: &str, lifetime: Duration) -> String {
        let token = new_id("sbx_at_");
        lock(&self.issued).insert(
            token.clone(),
            (subject.to_owned(), Instant::now() + lifetime),
        );
        token
    }

    /// The subject of the request's valid bearer token.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<String, TokenProblem> {
        let token = bearer(headers).ok_or(TokenProblem::Missing)?;
        let issued = lock(&self.issued);
        let (subject, expires) = issued.get(token).ok_or(TokenProblem::Unknown)?;
        if Instant::now() >= *expires {
            return Err(TokenProblem::Expired);
        }
        Ok(subject.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_expire_and_unknown_ones_are_refused() {
        let tokens = Tokens::default();
        let live = tokens.issue("client-a", Duration::from_secs(60));
        let dead = tokens.issue("client-b", Duration::ZERO);
        let mut headers = HeaderMap::new();
        assert_eq!(tokens.check(&headers), Err(TokenProblem::Missing));
        let with = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}"))
                    .unwrap_or(HeaderValue::from_static("x")),
            );
            h
        };
        assert_eq!(tokens.check(&with(&live)), Ok("client-a".to_owned()));
        assert_eq!(tokens.check(&with(&dead)), Err(TokenProblem::Expired));
        assert_eq!(tokens.check(&with("forged")), Err(TokenProblem::Unknown));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(tokens.check(&headers), Err(TokenProblem::Missing));
    }

    #[test]
    fn forms_decode_and_bad_escapes_are_refused() {
        let params = form_params("a+b=%40c&grant_type=password&empty=").unwrap_or_default();
        assert_eq!(params.get("a b").map(String::as_str), Some("@c"));
        assert_eq!(
            params.get("grant_type").map(String::as_str),
            Some("password")
        );
        assert_eq!(params.get("empty").map(String::as_str), Some(""));
        assert_eq!(form_params("x=%zz"), None);
        assert_eq!(form_params("x=%4"), None);
        assert_eq!(form_params("x=%ff"), None, "not UTF-8");
    }

    #[test]
    fn random_hex_is_hex_of_the_asked_length() {
        let id = random_hex(32);
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn ids_carry_their_prefix() {
        let a = new_id("pay_");
        assert!(a.starts_with("pay_") && a.len() == 24);
        assert_ne!(a, new_id("pay_"));
        assert!(now_rfc3339().ends_with('Z'));
        let at = time::macros::datetime!(2026-11-21 10:00:00.12 UTC);
        assert_eq!(rfc3339(at), "2026-11-21T10:00:00.120Z");
    }
}
