//! Helpers for the provider crates (`payments-payconiq`, `payments-fintecture`, ...), in one
//! place instead of one copy per crate: checking URLs from configuration and input, building
//! request paths, percent-encoding and decoding, comparing secrets, describing a JSON error.
//!
//! **For provider crates, not for merchants.** A merchant never needs these: every provider crate
//! calls them for its own checks, and the types a merchant handles ([`Error`],
//! [`webhook`](crate::webhook), `http` with the `client` feature) live elsewhere. They are public because
//! the provider crates are separate crates, and are kept as stable as the rest of the API.
//!
//! Percent-encoding goes through the `percent-encoding` crate; there are two decoders, and which
//! one a place uses is a choice:
//! - [`form_decode`] is **strict**: a `%` that is not followed by two hex digits refuses the whole
//!   value (`None`). Used for `application/x-www-form-urlencoded` text whose value decides
//!   something: a signed webhook body's fields (Fintecture), a URL secret in a query parameter
//!   (the [`UrlSecretGuard`](crate::webhook::UrlSecretGuard)), the sandbox's token requests. A
//!   malformed escape there is refused rather than guessed at.
//! - [`percent_decode`] is **lenient**: a malformed escape is kept as it is, and `+` is a plus.
//!   Used for a URL path segment (a URL secret as the last path segment): this is how a URL path
//!   is decoded by the WHATWG URL standard and by the web frameworks that routed the request to
//!   the merchant's handler (axum's `Path`, hyper), so the guard compares exactly the segment the
//!   router matched; refusing here what the router accepted would only turn a wrong secret into a
//!   different 401.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use subtle::ConstantTimeEq;

use crate::Error;

#[cfg(feature = "client")]
use url::Url;

// ---------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------

/// Checks that `value` is an absolute http(s) URL with a host and no whitespace or control
/// characters. With `https_only_in: Some(environment)`, plain http is refused with
/// "must be https in {environment}" (e.g. callback URLs in production). A refusal is an
/// [`Error::InvalidInput`] naming `field`.
pub fn http_url(field: &str, value: &str, https_only_in: Option<&str>) -> Result<(), Error> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(Error::invalid(field, "not an absolute URL"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(Error::invalid(field, "must be an http(s) URL"));
    }
    if let Some(environment) = https_only_in
        && scheme != "https"
    {
        return Err(Error::invalid(
            field,
            format!("must be https in {environment}"),
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(field, "not a valid URL"));
    }
    Ok(())
}

/// Checks a base URL from configuration (`what` names it in the error: `"Payconiq base URL"`):
/// an absolute http(s) URL with a host, no whitespace or control characters, no query and no
/// fragment. A refusal is an [`Error::Config`]. Needs no URL parser (the webhook-only builds use
/// it); with the `client` feature, `base_url` also parses it.
pub fn check_base_url(what: &str, text: &str) -> Result<(), Error> {
    http_url(what, text, None).map_err(|e| match e {
        Error::InvalidInput { reason, .. } => Error::Config(format!("invalid {what}: {reason}")),
        other => other,
    })?;
    if text.contains(['?', '#']) {
        return Err(Error::Config(format!(
            "{what} must not have a query or fragment"
        )));
    }
    Ok(())
}

/// Parses and checks a base URL from configuration: [`check_base_url`], then parsed as a
/// [`Url`] that can have path segments appended ([`join_path`]). Every refusal is an
/// [`Error::Config`] naming `what`.
#[cfg(feature = "client")]
pub fn base_url(what: &str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| Error::Config(format!("invalid {what}: {e}")))?;
    check_base_url(what, text)?;
    if url.cannot_be_a_base() {
        return Err(Error::Config(format!("{what} cannot have a path")));
    }
    Ok(url)
}

/// One segment of a request path, for [`join_path`].
#[cfg(feature = "client")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathSegment<'a> {
    /// A segment written in the client's code (`"payments"`).
    Fixed(&'static str),
    /// A value from the caller or the network (a payment id), with the field it came from, so a
    /// refusal names it: `Id("paymentId", id)`.
    Id(&'static str, &'a str),
}

/// Appends path segments to a base URL, percent-encoding every byte of each that is not
/// unreserved (so an id can never add a `/`, a `?` or a matrix parameter). The base's own path
/// is kept: `https://h/v3` + `[Fixed("payments"), Id("paymentId", id)]` →
/// `https://h/v3/payments/<id>`.
///
/// A segment that is empty, `.` or `..` is refused with [`Error::InvalidInput`] naming its field,
/// before anything is sent: URL normalisation removes dot segments, so `GET /payments/..` would
/// otherwise become a call on the parent collection, and an empty id a call on the collection.
#[cfg(feature = "client")]
pub fn join_path(base: &Url, segments: &[PathSegment<'_>]) -> Result<Url, Error> {
    if base.cannot_be_a_base() {
        return Err(Error::Config(format!("base URL {base} cannot have a path")));
    }
    let mut path = base.path().trim_end_matches('/').to_string();
    for segment in segments {
        let (field, value) = match *segment {
            PathSegment::Fixed(value) => ("path", value),
            PathSegment::Id(field, value) => (field, value),
        };
        if matches!(value, "" | "." | "..") {
            return Err(Error::invalid(
                field,
                if value.is_empty() {
                    "must not be empty".to_string()
                } else {
                    format!("must not be {value:?} (a URL path segment)")
                },
            ));
        }
        path.push('/');
        path.push_str(&percent_encode(value));
    }
    let mut url = base.clone();
    url.set_path(&path);
    Ok(url)
}

// ---------------------------------------------------------------------------------------------
// Percent-encoding
// ---------------------------------------------------------------------------------------------

/// Every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`): `/`, `?` and `#` could not
/// otherwise be part of a value, and `;`, `=`, `:` or `@`, which a path may hold literally, mean
/// something to some servers (matrix parameters).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What `application/x-www-form-urlencoded` serialization leaves as is: ASCII alphanumerics and
/// `* - . _` (the WHATWG URL standard's byte serializer; a space becomes `+`).
const NOT_FORM_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Percent-encodes every byte of `text` outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - . _ ~`), as `%XX` with uppercase hex: the form of one URL path segment or
/// query value that can add nothing to the URL's structure.
pub fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// Percent-encodes `text` as one `application/x-www-form-urlencoded` name or value: ASCII
/// alphanumerics and `* - . _` as they are, a space as `+`, every other byte as `%XX`.
pub fn form_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_FORM_SAFE)
        .to_string()
        .replace("%20", "+")
}

/// Decodes one component of an `application/x-www-form-urlencoded` text (a form body field, a
/// query parameter): `%XX` escapes and `+` as a space. **Strict**: `None` on an escape that is
/// not `%` followed by two hex digits, so a malformed value is refused rather than guessed (see
/// the [module docs](self) for where the lenient [`percent_decode`] is used instead).
pub fn form_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let spaced = text.replace('+', " ");
    Some(percent_encoding::percent_decode_str(&spaced).collect())
}

/// Decodes the `%XX` escapes of a URL path segment. **Lenient**: a `%` not followed by two hex
/// digits is kept as it is, and `+` stays a plus, as URL path decoding does everywhere (see the
/// [module docs](self)).
pub fn percent_decode(text: &str) -> Cow<'_, [u8]> {
    percent_encoding::percent_decode_str(text).into()
}

// ---------------------------------------------------------------------------------------------
// Secrets and errors
// ---------------------------------------------------------------------------------------------

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A serde_json error as text that repeats nothing from the input: values in quotes or backticks
/// (`invalid type: string "…"`, ``unknown variant `…` ``) are elided; positions are kept, and so
/// are the field names of `missing field` / `duplicate field`, which come from our own types.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    if message.starts_with("missing field") || message.starts_with("duplicate field") {
        return message;
    }
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in message.chars() {
        match (open, c) {
            (None, '"' | '`') => {
                open = Some(c);
                out.push(c);
                out.push('…');
            }
            (Some(q), c) if c == q => {
                open = None;
                out.push(c);
            }
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn reason(result: Result<(), Error>) -> String {
        match result {
            Err(Error::InvalidInput { reason, .. }) => reason,
            other => format!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn http_urls_are_checked() {
        assert!(http_url("u", "https://shop.example/cb?x=1", Some("production")).is_ok());
        assert!(http_url("u", "http://localhost:8080/cb", None).is_ok());
        assert_eq!(
            reason(http_url("u", "http://shop.example/cb", Some("live"))),
            "must be https in live"
        );
        assert_eq!(
            reason(http_url("u", "shop.example", None)),
            "not an absolute URL"
        );
        assert_eq!(
            reason(http_url("u", "ftp://shop.example", None)),
            "must be an http(s) URL"
        );
        assert_eq!(
            reason(http_url("u", "https:///path", None)),
            "not a valid URL"
        );
        assert_eq!(
            reason(http_url("u", "https://shop.example/a b", None)),
            "not a valid URL"
        );
    }

    #[test]
    fn base_urls_are_absolute_http_without_query_or_fragment() {
        assert!(check_base_url("test base URL", "https://api.example/v3").is_ok());
        assert!(check_base_url("test base URL", "http://127.0.0.1:9/").is_ok());
        for (bad, expected) in [
            ("api.example", "invalid test base URL: not an absolute URL"),
            (
                "ftp://api.example",
                "invalid test base URL: must be an http(s) URL",
            ),
            ("https://", "invalid test base URL: not a valid URL"),
            (
                "https://api.example/v3?x=1",
                "test base URL must not have a query or fragment",
            ),
            (
                "https://api.example/#top",
                "test base URL must not have a query or fragment",
            ),
        ] {
            match check_base_url("test base URL", bad) {
                Err(Error::Config(message)) => assert_eq!(message, expected, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[cfg(feature = "client")]
    #[test]
    fn base_urls_parse_for_the_client() {
        let url = base_url("test base URL", "https://API.example/v3/").unwrap();
        assert_eq!(url.as_str(), "https://api.example/v3/");
        assert!(matches!(
            base_url("test base URL", "https://[::1"),
            Err(Error::Config(m)) if m.starts_with("invalid test base URL: ")
        ));
        assert!(matches!(
            base_url("test base URL", "mailto:x@y"),
            Err(Error::Config(_))
        ));
    }

    #[cfg(feature = "client")]
    #[test]
    fn join_path_encodes_segments() {
        use PathSegment::{Fixed, Id};
        let base = Url::parse("https://api.example/v3").unwrap();
        assert_eq!(
            join_path(&base, &[Fixed("payments"), Id("paymentId", "a/b?c")])
                .unwrap()
                .as_str(),
            "https://api.example/v3/payments/a%2Fb%3Fc"
        );
        let base = Url::parse("https://api.example/v3/").unwrap();
        assert_eq!(
            join_path(&base, &[Fixed("payments")]).unwrap().as_str(),
            "https://api.example/v3/payments"
        );
        assert_eq!(
            join_path(&base, &[Fixed("payments"), Id("paymentId", "...")])
                .unwrap()
                .as_str(),
            "https://api.example/v3/payments/...",
            "three dots are an ordinary segment"
        );
    }

    #[cfg(feature = "client")]
    #[test]
    fn join_path_refuses_empty_and_dot_segments_naming_the_field() {
        use PathSegment::{Fixed, Id};
        let base = Url::parse("https://api.example/v3").unwrap();
        for bad in ["", ".", ".."] {
            let result = join_path(&base, &[Fixed("payments"), Id("paymentId", bad)]);
            assert!(
                matches!(&result, Err(Error::InvalidInput { field, reason })
                    if field == "paymentId" && reason.starts_with("must not be")),
                "{bad:?} gave {result:?}"
            );
        }
        // Reserved characters a path could hold literally are encoded too.
        assert_eq!(
            join_path(&base, &[Id("paymentId", "a;b=c:d@e+f é")])
                .unwrap()
                .as_str(),
            "https://api.example/v3/a%3Bb%3Dc%3Ad%40e%2Bf%20%C3%A9"
        );
        // An escaped dot segment stays a literal value: its `%` is encoded in turn.
        assert_eq!(
            join_path(&base, &[Id("paymentId", "%2E%2E")])
                .unwrap()
                .as_str(),
            "https://api.example/v3/%252E%252E"
        );
    }

    #[test]
    fn everything_but_unreserved_is_percent_encoded() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            percent_encode("a/b?c#d;e&f=g+h %i"),
            "a%2Fb%3Fc%23d%3Be%26f%3Dg%2Bh%20%25i"
        );
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(
            percent_encode("order 1/2&x=é"),
            "order%201%2F2%26x%3D%C3%A9"
        );
    }

    #[test]
    fn form_encoding_is_the_url_standard_byte_serializer() {
        assert_eq!(form_encode("AZaz09*-._"), "AZaz09*-._");
        assert_eq!(form_encode("a b+c~"), "a+b%2Bc%7E");
        assert_eq!(
            form_encode("https://pay.example/a%20b/é"),
            "https%3A%2F%2Fpay.example%2Fa%2520b%2F%C3%A9"
        );
        // Round trip through the strict decoder.
        let text = "a b+c~%/?&=é";
        assert_eq!(form_decode(&form_encode(text)).unwrap(), text.as_bytes());
    }

    #[test]
    fn form_components_decode_strictly() {
        assert_eq!(form_decode("a%20b+c").unwrap(), b"a b c");
        assert_eq!(form_decode("%41%4a%4A").unwrap(), b"AJJ");
        assert_eq!(form_decode("%C3%A9").unwrap(), "é".as_bytes());
        assert_eq!(
            form_decode("a%2Bb").unwrap(),
            b"a+b",
            "an escaped plus is a plus"
        );
        assert!(form_decode("%4").is_none());
        assert!(form_decode("%").is_none());
        assert!(form_decode("%g1").is_none());
        assert!(form_decode("%+f").is_none(), "a sign is not a hex digit");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%2Fb%zz%4").as_ref(), b"a/b%zz%4");
        assert_eq!(percent_decode("%C3%A9").as_ref(), "é".as_bytes());
        assert_eq!(
            percent_decode("a+b").as_ref(),
            b"a+b",
            "a plus in a path is a plus"
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn json_errors_repeat_no_input() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Kind {
            A,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Wire {
            amount: i64,
            kind: Option<Kind>,
        }
        let describe =
            |json: &str| describe_json_error(&serde_json::from_str::<Wire>(json).unwrap_err());
        let shown = describe(r#"{"amount":"hunter2"}"#);
        assert!(
            !shown.contains("hunter2") && shown.starts_with("invalid type"),
            "{shown}"
        );
        let shown = describe(r#"{"amount":1,"kind":"hunter2"}"#);
        assert!(
            !shown.contains("hunter2") && shown.starts_with("unknown variant"),
            "{shown}"
        );
        assert!(describe(r#"{}"#).starts_with("missing field `amount`"));
    }
}
