//! Fintecture's HTTP signatures: the `Digest`, `Date`, `X-Request-ID` and `Signature` headers.
//!
//! A signed API request carries
//! - `Digest: SHA-256=<base64(sha256(body))>` when it has a body,
//! - `Date: <IMF-fixdate>` (`Wed, 26 Feb 2020 17:29:51 GMT`),
//! - `X-Request-ID: <uuid v4>`,
//! - `Signature: keyId="<app_id>",algorithm="rsa-sha256",headers="(request-target) date digest x-request-id",signature="<base64>"`,
//!
//! where the signature is RSA PKCS#1 v1.5 SHA-256 over the *signing string*: one
//! `name: value` line per signed header, lowercase names, joined by `\n`, no trailing newline,
//! in that order; `(request-target)` is `<lowercase method> <path?query>`. `headers=` lists
//! exactly the headers signed (no `digest` without a body).
//!
//! The same `Signature` header syntax (`k="v"` pairs) is used by webhooks, see
//! [`crate::webhook`]. Everything here is pure: no HTTP client, no runtime.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use payments_core::Error;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::keys::AppPrivateKey;

/// The only algorithm name Fintecture uses.
pub const ALGORITHM: &str = "rsa-sha256";

/// `SHA-256=` + base64 of the SHA-256 of `body`: the `Digest` header value.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", B64.encode(Sha256::digest(body)))
}

/// `time` as an HTTP date (`Wed, 26 Feb 2020 17:29:51 GMT`). Times before 1970 are clamped.
pub fn http_date(time: OffsetDateTime) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::from(time))
}

/// Parses an HTTP date (IMF-fixdate, RFC 850 or asctime, as RFC 7231 allows).
pub fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    httpdate::parse_http_date(text)
        .ok()
        .map(OffsetDateTime::from)
}

/// Where `X-Request-ID` values come from. Injectable so tests and snapshots are deterministic.
pub trait RequestIdSource: Send + Sync + fmt::Debug {
    /// A fresh request id.
    fn next_id(&self) -> String;
}

/// Random UUID v4 ids from the system's secure random generator (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV4;

impl RequestIdSource for UuidV4 {
    fn next_id(&self) -> String {
        uuid_v4()
    }
}

/// A random UUID v4 (`8-4-4-4-12` lowercase hex).
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    // The system generator does not fail in practice; a zero id is still a valid header value.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// The parsed `Signature` header: `keyId="..",algorithm="..",headers="..",signature=".."`.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `keyId`: the application id.
    pub key_id: String,
    /// `algorithm` (`rsa-sha256`).
    pub algorithm: String,
    /// `headers`, split on spaces, lowercase as sent.
    pub headers: Vec<String>,
    /// `signature`: base64.
    pub signature: String,
}

impl fmt::Debug for SignatureHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureHeader")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("headers", &self.headers)
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

impl SignatureHeader {
    /// Parses the header: comma-separated `name="value"` pairs (quoted values may contain commas
    /// and `\"` escapes; whitespace around pairs is ignored). `keyId`, `algorithm`, `headers` and
    /// `signature` are required, each at most once; other parameters are ignored. The error is
    /// a short reason that never repeats the signature.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut key_id = None;
        let mut algorithm = None;
        let mut headers = None;
        let mut signature = None;
        let mut rest = value.trim();
        while !rest.is_empty() {
            let eq = rest.find('=').ok_or("a parameter has no '='")?;
            let name = rest.get(..eq).unwrap_or_default().trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err("malformed parameter name".into());
            }
            let after = rest.get(eq + 1..).unwrap_or_default().trim_start();
            let (parsed, tail) = if let Some(quoted) = after.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, escaped)) => out.push(escaped),
                            None => return Err("unterminated escape".into()),
                        },
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        c => out.push(c),
                    }
                }
                let end = end.ok_or("unterminated quoted value")?;
                (out, quoted.get(end + 1..).unwrap_or_default())
            } else {
                // Token value (tolerated): up to the next comma.
                let end = after.find(',').unwrap_or(after.len());
                (
                    after.get(..end).unwrap_or_default().trim().to_string(),
                    after.get(end..).unwrap_or_default(),
                )
            };
            let slot = match name {
                "keyId" => &mut key_id,
                "algorithm" => &mut algorithm,
                "headers" => &mut headers,
                "signature" => &mut signature,
                _ => &mut None,
            };
            if slot.is_some() {
                return Err(format!("parameter {name} appears twice"));
            }
            *slot = Some(parsed);
            let tail = tail.trim_start();
            rest = match tail.strip_prefix(',') {
                Some(t) => t.trim_start(),
                None if tail.is_empty() => tail,
                None => return Err("parameters must be separated by commas".into()),
            };
        }
        let headers: Vec<String> = headers
            .ok_or("missing headers parameter")?
            .split(' ')
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect();
        Ok(SignatureHeader {
            key_id: key_id.ok_or("missing keyId parameter")?,
            algorithm: algorithm.ok_or("missing algorithm parameter")?,
            headers,
            signature: signature.ok_or("missing signature parameter")?,
        })
    }

    /// The header value, in Fintecture's parameter order. Each value is a quoted string: a `"`
    /// or `\` in it is escaped with a backslash, so [`SignatureHeader::parse`] reads back the
    /// same values.
    pub fn to_header_value(&self) -> String {
        format!(
            "keyId=\"{}\",algorithm=\"{}\",headers=\"{}\",signature=\"{}\"",
            quoted(&self.key_id),
            quoted(&self.algorithm),
            quoted(&self.headers.join(" ")),
            quoted(&self.signature)
        )
    }
}

/// `value` with `"` and `\` escaped for a quoted string (borrowed when there is nothing to escape,
/// as for every value Fintecture sends).
fn quoted(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['"', '\\']) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// The signing string of an API request, and the names of the headers it covers (in order).
///
/// `path_and_query` is the request target exactly as sent (`/pis/v2/connect?state=a&redirect_uri=..`).
pub fn request_signing_string(
    method: &str,
    path_and_query: &str,
    date: &str,
    digest: Option<&str>,
    request_id: &str,
) -> (String, Vec<&'static str>) {
    let mut lines = vec![format!(
        "(request-target): {} {path_and_query}",
        method.to_ascii_lowercase()
    )];
    let mut names = vec!["(request-target)"];
    lines.push(format!("date: {date}"));
    names.push("date");
    if let Some(digest) = digest {
        lines.push(format!("digest: {digest}"));
        names.push("digest");
    }
    lines.push(format!("x-request-id: {request_id}"));
    names.push("x-request-id");
    (lines.join("\n"), names)
}

/// The headers to add to one signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Date`.
    pub date: String,
    /// `Digest`, for a request with a body.
    pub digest: Option<String>,
    /// `X-Request-ID`.
    pub request_id: String,
    /// `Signature`.
    pub signature: String,
}

/// Signs one request: `Digest` over exactly `body` (when non-empty), the signing string in the
/// documented order, RSA PKCS#1 v1.5 SHA-256 with `key`.
pub fn sign_request(
    key: &AppPrivateKey,
    app_id: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    date: &str,
    request_id: &str,
) -> Result<SignedHeaders, Error> {
    let digest = (!body.is_empty()).then(|| digest_header(body));
    let (signing_string, names) =
        request_signing_string(method, path_and_query, date, digest.as_deref(), request_id);
    let signature = B64.encode(key.sign(signing_string.as_bytes())?);
    let header = SignatureHeader {
        key_id: app_id.to_string(),
        algorithm: ALGORITHM.to_string(),
        headers: names.iter().map(|n| (*n).to_string()).collect(),
        signature,
    };
    Ok(SignedHeaders {
        date: date.to_string(),
        digest,
        request_id: request_id.to_string(),
        signature: header.to_header_value(),
    })
}

/// The request target (`/path?query`) of a full URL, as sent on the request line.
pub fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme
        .find('/')
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("/");
    target.split('#').next().unwrap_or(target)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn digest_matches_the_documented_check_value() {
        let body = b"state=a3028a42-b5b3-46ff-9bd1-2df6947d7c1e&session_id=f57a15da4e5c46f48402a2aee20fe428&status=payment_created";
        assert_eq!(
            digest_header(body),
            "SHA-256=3t28x8jzK8J+XAKVkFeTpuK70i7z0b/wdMgc8umUsM0="
        );
    }

    #[test]
    fn http_dates_use_the_documented_form() {
        assert_eq!(
            http_date(datetime!(2020-02-26 17:29:51 UTC)),
            "Wed, 26 Feb 2020 17:29:51 GMT"
        );
        assert_eq!(
            parse_http_date("Mon, 08 Jun 2020 23:11:23 GMT"),
            Some(datetime!(2020-06-08 23:11:23 UTC))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(uuid_v4(), id);
    }

    #[test]
    fn signing_string_order_and_digest_omission() {
        let (s, names) = request_signing_string(
            "POST",
            "/pis/v2/connect?state=s&redirect_uri=https%3A%2F%2Fx",
            "Wed, 26 Feb 2020 17:29:51 GMT",
            Some("SHA-256=abc"),
            "id-1",
        );
        assert_eq!(
            s,
            "(request-target): post /pis/v2/connect?state=s&redirect_uri=https%3A%2F%2Fx\n\
             date: Wed, 26 Feb 2020 17:29:51 GMT\ndigest: SHA-256=abc\nx-request-id: id-1"
        );
        assert_eq!(
            names,
            ["(request-target)", "date", "digest", "x-request-id"]
        );
        let (s, names) = request_signing_string("GET", "/pis/v2/payments/x", "D", None, "i");
        assert_eq!(
            s,
            "(request-target): get /pis/v2/payments/x\ndate: D\nx-request-id: i"
        );
        assert_eq!(names, ["(request-target)", "date", "x-request-id"]);
    }

    #[test]
    fn signature_header_parses_the_documented_example_and_round_trips() {
        let v = r#"keyId="2dfdcf57-5b2f-4309-846f-913d0b2802cf",algorithm="rsa-sha256",headers="date digest x-request-id",signature="h0V0SUbj+/Mg==""#;
        let h = SignatureHeader::parse(v).unwrap();
        assert_eq!(h.key_id, "2dfdcf57-5b2f-4309-846f-913d0b2802cf");
        assert_eq!(h.algorithm, "rsa-sha256");
        assert_eq!(h.headers, ["date", "digest", "x-request-id"]);
        assert_eq!(h.signature, "h0V0SUbj+/Mg==");
        assert_eq!(h.to_header_value(), v);
        // Spaces, other order, an escaped quote and a comma inside a value.
        let h = SignatureHeader::parse(
            r#" signature="a,b" , headers="date digest",  keyId="k\"1", algorithm=rsa-sha256, created="1" "#,
        )
        .unwrap();
        assert_eq!(h.key_id, "k\"1");
        assert_eq!(h.signature, "a,b");
        assert_eq!(h.algorithm, "rsa-sha256");
        // Written back, the quote is escaped again: the value reads back the same.
        let written = h.to_header_value();
        assert!(written.contains(r#"keyId="k\"1""#), "{written}");
        assert_eq!(SignatureHeader::parse(&written), Ok(h));
        let odd = SignatureHeader {
            key_id: r#"a\"b\"#.into(),
            algorithm: "rsa-sha256".into(),
            headers: vec!["date".into()],
            signature: "s".into(),
        };
        assert_eq!(SignatureHeader::parse(&odd.to_header_value()), Ok(odd));
    }

    #[test]
    fn malformed_signature_headers_are_refused() {
        for bad in [
            "",
            "keyId",
            r#"keyId="a",algorithm="rsa-sha256",headers="date""#,
            r#"keyId="a",keyId="b",algorithm="x",headers="d",signature="s""#,
            r#"keyId="a" algorithm="x",headers="d",signature="s""#,
            r#"keyId="a,algorithm="x""#,
            r#"ke y="a""#,
        ] {
            assert!(SignatureHeader::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_targets_keep_the_query() {
        assert_eq!(
            path_and_query("https://api.fintecture.com/pis/v2/connect?state=a&b=c"),
            "/pis/v2/connect?state=a&b=c"
        );
        assert_eq!(path_and_query("http://127.0.0.1:8080"), "/");
        assert_eq!(path_and_query("/x?y#frag"), "/x?y");
    }
}
