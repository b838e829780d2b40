//! What every emulated provider needs and no provider owns: the lock helper, ids, timestamps,
//! header, form and URL helpers ([this module](self)); error answers in a provider's own JSON
//! format ([`answer`]); the access tokens a token endpoint issues ([`tokens`]); and the payer
//! pages' HTML skeleton, escaping and form handler ([`page`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{HeaderMap, header};
use payments_core::provider_support::form_decode;
use time::OffsetDateTime;

pub(crate) mod answer;
pub(crate) mod page;
pub(crate) mod tokens;

pub(crate) use answer::{ErrorAnswer, oauth_error};
pub(crate) use tokens::{TokenProblem, Tokens};

/// Locks `m`, even if a thread panicked while holding it (the sandbox's state stays usable: every
/// change under a lock is a single assignment or push).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ------------------------------------------------------------------------------------------ ids

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

/// A random id in the lowercase UUID v4 form (`5b1c4e2a-0d7f-4a3b-9e8c-1f2a3b4c5d6e`).
pub(crate) fn uuid() -> String {
    let hex = random_hex;
    let variant = fastrand::choice(['8', '9', 'a', 'b']).unwrap_or('8');
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        hex(8),
        hex(4),
        hex(3),
        hex(3),
        hex(12)
    )
}

// ----------------------------------------------------------------------------------------- time

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

// -------------------------------------------------------------------------------------- headers

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

/// Whether the request's `Content-Type` is `media_type` (parameters such as `charset` ignored,
/// case-insensitive).
pub(crate) fn content_type_is(headers: &HeaderMap, media_type: &str) -> bool {
    header(headers, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type))
    })
}

// ---------------------------------------------------------------------------------------- forms

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

/// `application/x-www-form-urlencoded` text of `pairs`, with the encoder the clients use.
pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    let Ok(mut url) = reqwest::Url::parse("http://form.invalid/") else {
        return String::new();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    url.query().unwrap_or_default().to_owned()
}

// ----------------------------------------------------------------------------------------- URLs

/// Whether `text` is an absolute `http`/`https` URL with a host: what a merchant may give as a
/// callback or return URL, and what a page may send a payer to.
pub(crate) fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
        assert_eq!(form_encode(&[("a b", "@c&d")]), "a+b=%40c%26d");
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

    #[test]
    fn uuids_have_the_v4_shape() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes().get(14), Some(&b'4'));
        assert!(matches!(
            id.as_bytes().get(19),
            Some(b'8' | b'9' | b'a' | b'b')
        ));
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, uuid());
    }

    #[test]
    fn urls_and_content_types() {
        assert!(is_http_url("http://127.0.0.1:9/x") && !is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("/relative") && !is_http_url("http://"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(content_type_is(&headers, "application/json"));
        assert!(!content_type_is(
            &headers,
            "application/x-www-form-urlencoded"
        ));
    }
}
