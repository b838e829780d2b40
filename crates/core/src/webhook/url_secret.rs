//! The URL-secret guard, for providers that do not sign their webhooks (Banq, Paylican).

use std::fmt;

use sha2::{Digest as _, Sha256};

use super::WebhookRejection;
use crate::Error;
use crate::provider_support::{constant_time_eq, form_decode, percent_decode};

/// Shortest URL secret a [`UrlSecretGuard`] accepts, in bytes (use 32 random bytes).
pub const MIN_URL_SECRET_LEN: usize = 16;

/// Where the secret sits in the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretLocation {
    /// The last non-empty path segment (`https://shop.example/webhook/<secret>`), percent-decoded
    /// as URL paths are (a malformed escape stays as it is, `+` is a plus).
    LastPathSegment,
    /// A query parameter with this name (`https://shop.example/webhook?token=<secret>`), sent
    /// exactly once, decoded strictly as a form value (a malformed escape is refused).
    Query(String),
}

type Digest32 = [u8; 32];

fn digest(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// A shared secret in the webhook URL, for a provider that does not sign its webhooks: the
/// merchant registers a URL holding a long random secret, and a request whose URL does not hold
/// it is refused with [`WebhookRejection::Unauthenticated`] (401) before its body is read.
///
/// During a rotation the secret being replaced is accepted too
/// ([`UrlSecretGuard::with_previous`]); every configured secret is compared on every request, so
/// the time taken does not tell which one matched, or whether a previous one is configured.
/// Secrets are compared in constant time over their SHA-256 digests (neither the content nor the
/// length of a secret leaks through timing), and only those digests are kept. `Debug` shows where
/// the secret sits and how many previous secrets there are, never a value; a rejection's reason
/// never contains an expected value.
///
/// A passing guard proves the sender knew the URL, not that the provider wrote the body: URLs
/// travel through logs and proxies.
///
/// ```
/// use payments_core::webhook::UrlSecretGuard;
///
/// let guard = UrlSecretGuard::query_param("token", "9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9")?
///     .with_previous("0a1b2c3d4e5f60718293a4b5c6d7e8f9")?;
/// assert!(guard.check("https://shop.example/hook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9").is_ok());
/// assert!(guard.check("/hook?token=0a1b2c3d4e5f60718293a4b5c6d7e8f9").is_ok());
/// let refused = guard.check("/hook?token=guess").unwrap_err();
/// assert_eq!(refused.http_status(), 401);
/// # Ok::<(), payments_core::Error>(())
/// ```
#[derive(Clone)]
pub struct UrlSecretGuard {
    location: SecretLocation,
    current: Digest32,
    previous: Vec<Digest32>,
}

impl fmt::Debug for UrlSecretGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSecretGuard")
            .field("location", &self.location)
            .field("secret", &"[REDACTED]")
            .field("previous_secrets", &self.previous.len())
            .finish()
    }
}

impl UrlSecretGuard {
    /// Requires the query parameter `param` to equal `secret` (at least [`MIN_URL_SECRET_LEN`]
    /// bytes; use 32 random bytes, e.g. `openssl rand -hex 32`).
    ///
    /// # Errors
    /// [`Error::Config`] for an empty parameter name or one with `& = # ?`, or a short secret.
    pub fn query_param(param: impl Into<String>, secret: impl AsRef<str>) -> Result<Self, Error> {
        let param = param.into();
        if param.is_empty() || param.contains(['&', '=', '#', '?']) {
            return Err(Error::Config(
                "the URL-secret query parameter name must be non-empty, without & = # ?".into(),
            ));
        }
        Self::new(SecretLocation::Query(param), secret.as_ref())
    }

    /// Requires `secret` as the last non-empty path segment of the URL (at least
    /// [`MIN_URL_SECRET_LEN`] bytes, without `/`).
    ///
    /// # Errors
    /// [`Error::Config`] for a short secret or one containing `/`.
    pub fn last_path_segment(secret: impl AsRef<str>) -> Result<Self, Error> {
        Self::new(SecretLocation::LastPathSegment, secret.as_ref())
    }

    fn new(location: SecretLocation, secret: &str) -> Result<Self, Error> {
        check_secret(&location, secret)?;
        Ok(UrlSecretGuard {
            location,
            current: digest(secret.as_bytes()),
            previous: Vec::new(),
        })
    }

    /// Also accepts `secret`, the one you are rotating away from, in the same place. Keep it only
    /// until the provider posts to the URL with the new secret, then build the guard without it:
    /// from then on it is refused like any wrong value. May be called more than once.
    ///
    /// # Errors
    /// [`Error::Config`] for the current secret itself, or for a secret the current one would not
    /// be allowed to be (too short, `/` in a path secret).
    pub fn with_previous(mut self, secret: impl AsRef<str>) -> Result<Self, Error> {
        let secret = secret.as_ref();
        check_secret(&self.location, secret)?;
        let previous = digest(secret.as_bytes());
        if constant_time_eq(&previous, &self.current) {
            return Err(Error::Config(
                "the previous URL secret is the current one".into(),
            ));
        }
        self.previous.push(previous);
        Ok(self)
    }

    /// Where the secret sits.
    pub fn location(&self) -> &SecretLocation {
        &self.location
    }

    /// How many previous secrets are still accepted.
    pub fn previous_secrets(&self) -> usize {
        self.previous.len()
    }

    /// Checks `url`, a full URL or a path with its query, as the server received it.
    ///
    /// # Errors
    /// [`WebhookRejection::Unauthenticated`]: no secret where it belongs, a query parameter given
    /// twice or not valid percent-encoding, or a secret that matches none configured.
    pub fn check(&self, url: &str) -> Result<(), WebhookRejection> {
        let (path, query) = split_url(url);
        let (given, place): (Vec<u8>, String) = match &self.location {
            SecretLocation::LastPathSegment => {
                let segment = path
                    .split('/')
                    .rfind(|s| !s.is_empty())
                    .ok_or_else(|| unauthenticated("the URL has no secret path segment".into()))?;
                (
                    percent_decode(segment).into_owned(),
                    "the last path segment".into(),
                )
            }
            SecretLocation::Query(param) => (
                query_value(query.unwrap_or(""), param)?,
                format!("query parameter {param}"),
            ),
        };
        let candidates = std::iter::once(self.current).chain(self.previous.iter().copied());
        if matches_any(&digest(&given), candidates, constant_time_eq) {
            Ok(())
        } else {
            Err(unauthenticated(format!(
                "wrong URL secret: {place} does not match"
            )))
        }
    }
}

fn check_secret(location: &SecretLocation, secret: &str) -> Result<(), Error> {
    if secret.len() < MIN_URL_SECRET_LEN {
        return Err(Error::Config(format!(
            "the webhook URL secret must be at least {MIN_URL_SECRET_LEN} bytes (use 32 random \
             bytes)"
        )));
    }
    if *location == SecretLocation::LastPathSegment && secret.contains('/') {
        return Err(Error::Config("a path secret cannot contain '/'".into()));
    }
    Ok(())
}

fn unauthenticated(reason: String) -> WebhookRejection {
    WebhookRejection::Unauthenticated(reason)
}

/// The one value of the query parameter `param`, strictly decoded.
fn query_value(query: &str, param: &str) -> Result<Vec<u8>, WebhookRejection> {
    let mut found: Option<Vec<u8>> = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(name).as_deref() != Some(param.as_bytes()) {
            continue;
        }
        if found.is_some() {
            return Err(unauthenticated(format!(
                "query parameter {param} given more than once"
            )));
        }
        found = Some(form_decode(value).ok_or_else(|| {
            unauthenticated(format!(
                "query parameter {param} is not valid percent-encoding"
            ))
        })?);
    }
    found.ok_or_else(|| unauthenticated(format!("no {param} query parameter")))
}

/// True when `given` equals one of `candidates`, comparing with `eq` against **every** candidate
/// (no early exit), so the time taken does not tell which one matched.
fn matches_any(
    given: &Digest32,
    candidates: impl IntoIterator<Item = Digest32>,
    eq: impl Fn(&[u8], &[u8]) -> bool,
) -> bool {
    candidates
        .into_iter()
        .fold(false, |found, candidate| eq(given, &candidate) | found)
}

/// The path and query of a full URL (`https://h/p?q`) or of a request target (`/p?q`); a
/// fragment is dropped.
fn split_url(url: &str) -> (&str, Option<&str>) {
    let url = url.split_once('#').map_or(url, |(head, _)| head);
    let target = match url.find("://") {
        Some(i) => {
            let after = url.get(i + 3..).unwrap_or("");
            after
                .find(['/', '?'])
                .and_then(|j| after.get(j..))
                .unwrap_or("")
        }
        None => url,
    };
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-0123456789abcdef";

    #[test]
    fn a_query_secret_is_accepted_only_exactly_once() {
        let g = UrlSecretGuard::query_param("token", SECRET).unwrap();
        g.check(&format!("https://s.example/hook?token={SECRET}"))
            .unwrap();
        g.check(&format!("/hook?a=1&token={SECRET}&b=2#frag"))
            .unwrap();
        // Percent-encoded form of the same value.
        g.check("/hook?token=s3cr3t%2D0123456789abcdef").unwrap();
        for (url, reason) in [
            (
                "https://s.example/hook".to_string(),
                "no token query parameter",
            ),
            (
                "https://s.example/hook?token=".to_string(),
                "wrong URL secret: query parameter token does not match",
            ),
            (
                format!("https://s.example/hook?token={SECRET}x"),
                "wrong URL secret: query parameter token does not match",
            ),
            (
                format!("https://s.example/hook?tok={SECRET}"),
                "no token query parameter",
            ),
            (
                format!("https://s.example/hook?token={SECRET}&token={SECRET}"),
                "query parameter token given more than once",
            ),
            (
                "https://s.example/hook?token=%zz".to_string(),
                "query parameter token is not valid percent-encoding",
            ),
            (
                format!("https://s.example/hook#token={SECRET}"),
                "no token query parameter",
            ),
        ] {
            let err = g.check(&url).unwrap_err();
            assert_eq!(
                err,
                WebhookRejection::Unauthenticated(reason.into()),
                "{url}"
            );
            assert_eq!(err.http_status(), 401);
            assert!(!err.to_string().contains(SECRET), "{err}");
        }
    }

    #[test]
    fn a_path_secret_is_the_last_segment_decoded_leniently() {
        let g = UrlSecretGuard::last_path_segment(SECRET).unwrap();
        for url in [
            format!("https://s.example/hook/{SECRET}"),
            format!("https://s.example/hook/{SECRET}/"),
            format!("/hook/{SECRET}?utm=1"),
            "/hook/s3cr3t%2D0123456789abcdef".to_string(),
        ] {
            g.check(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        let odd = UrlSecretGuard::last_path_segment("odd+secret%zz-0123456789").unwrap();
        odd.check("/hook/odd+secret%zz-0123456789").unwrap();
        odd.check("/hook/odd%2Bsecret%25zz-0123456789").unwrap();
        for (url, reason) in [
            ("https://s.example", "the URL has no secret path segment"),
            (
                "https://s.example/hook",
                "wrong URL secret: the last path segment does not match",
            ),
            (
                "https://s.example/hook?s3cr3t-0123456789abcdef",
                "wrong URL secret: the last path segment does not match",
            ),
        ] {
            assert_eq!(
                g.check(url).unwrap_err(),
                WebhookRejection::Unauthenticated(reason.into()),
                "{url}"
            );
        }
    }

    #[test]
    fn a_previous_secret_is_accepted_until_the_guard_is_built_without_it() {
        const PREVIOUS: &str = "previous-fedcba9876543210";
        let rotating = UrlSecretGuard::query_param("token", SECRET)
            .unwrap()
            .with_previous(PREVIOUS)
            .unwrap();
        let rotated = UrlSecretGuard::query_param("token", SECRET).unwrap();
        rotating.check(&format!("/h?token={PREVIOUS}")).unwrap();
        rotating.check(&format!("/h?token={SECRET}")).unwrap();
        assert!(rotated.check(&format!("/h?token={PREVIOUS}")).is_err());
        assert_eq!(rotating.previous_secrets(), 1);
        let shown = format!("{rotating:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains(PREVIOUS),
            "{shown}"
        );
        assert!(shown.contains("previous_secrets: 1"), "{shown}");
        assert!(
            UrlSecretGuard::query_param("token", SECRET)
                .unwrap()
                .with_previous(SECRET)
                .is_err()
        );
    }

    #[test]
    fn configuration_mistakes_are_refused() {
        assert!(UrlSecretGuard::query_param("token", "short").is_err());
        for param in ["", "a&b", "a=b", "a#b", "a?b"] {
            assert!(
                UrlSecretGuard::query_param(param, SECRET).is_err(),
                "{param}"
            );
        }
        assert!(UrlSecretGuard::last_path_segment("a/0123456789abcdef").is_err());
        assert!(
            UrlSecretGuard::last_path_segment(SECRET)
                .unwrap()
                .with_previous("b/0123456789abcdef")
                .is_err()
        );
    }

    #[test]
    fn every_secret_is_compared_even_after_a_match() {
        let current = digest(b"current-secret-0123456789");
        let previous = digest(b"previous-secret-0123456789");
        let other = digest(b"someone-else-0123456789ab");
        for (given, expected) in [(current, true), (previous, true), (other, false)] {
            let calls = std::cell::Cell::new(0);
            let counting = |a: &[u8], b: &[u8]| {
                calls.set(calls.get() + 1);
                constant_time_eq(a, b)
            };
            assert_eq!(matches_any(&given, [current, previous], counting), expected);
            assert_eq!(calls.get(), 2, "no early exit: both secrets are compared");
        }
    }

    #[test]
    fn urls_split_into_path_and_query() {
        assert_eq!(
            split_url("https://h.example/a/b?x=1#f"),
            ("/a/b", Some("x=1"))
        );
        assert_eq!(split_url("https://h.example?x=1"), ("", Some("x=1")));
        assert_eq!(split_url("https://h.example"), ("", None));
        assert_eq!(split_url("/a/b"), ("/a/b", None));
        assert_eq!(split_url("/a/b?"), ("/a/b", Some("")));
    }
}
