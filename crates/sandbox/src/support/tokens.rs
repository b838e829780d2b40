//! Access tokens issued by a token endpoint (Fintecture's, Banq's Auth0, Paylican's Keycloak),
//! each with a subject and an expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use super::{bearer, lock, new_id};

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
    use axum::http::{HeaderValue, header};

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
}
