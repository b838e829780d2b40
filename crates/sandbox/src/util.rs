//! Small helpers every provider module uses: ids, timestamps, bearer tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
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
    fn ids_carry_their_prefix() {
        let a = new_id("pay_");
        assert!(a.starts_with("pay_") && a.len() == 24);
        assert_ne!(a, new_id("pay_"));
        assert!(now_rfc3339().ends_with('Z'));
        let at = time::macros::datetime!(2026-11-21 10:00:00.12 UTC);
        assert_eq!(rfc3339(at), "2026-11-21T10:00:00.120Z");
    }
}
