//! Who may call: the merchant headers (`ApiKey`, `MerchantId`, `Environment`) and the intent
//! token (a JWT, HS256, claims `intentId`, `merchantId`, `mode`, `iat`) of payer-side calls.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use payments_core::webhook::constant_time_eq;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::config::Credentials;
use crate::support::header;

type HmacSha256 = Hmac<Sha256>;

/// Header names, as HUB2 writes them (matched case-insensitively, as HTTP wants).
pub(super) const API_KEY: &str = "apikey";
pub(super) const MERCHANT_ID: &str = "merchantid";
pub(super) const ENVIRONMENT: &str = "environment";

fn same(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes()))
}

/// True when the three merchant headers are present and hold the sandbox's credentials. A
/// missing `Environment` is refused like a wrong key (HUB2 answers 401 without it).
pub(super) fn merchant_ok(credentials: &Credentials, headers: &HeaderMap) -> bool {
    // Evaluate all three (no short-circuit on the key), then combine.
    let key = same(header(headers, API_KEY), &credentials.hub2_api_key);
    let merchant = same(header(headers, MERCHANT_ID), &credentials.hub2_merchant_id);
    let environment = same(header(headers, ENVIRONMENT), &credentials.hub2_environment);
    key & merchant & environment
}

/// True when the `Environment` header is the sandbox's.
pub(super) fn environment_ok(credentials: &Credentials, headers: &HeaderMap) -> bool {
    same(header(headers, ENVIRONMENT), &credentials.hub2_environment)
}

fn mac(key: &[u8], signing_input: &str) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).ok()?;
    mac.update(signing_input.as_bytes());
    Some(mac)
}

/// A new intent token: `base64url(header).base64url(claims).base64url(HMAC-SHA256)`.
pub(super) fn issue(key: &[u8], intent_id: &str, merchant_id: &str, mode: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "intentId": intent_id,
        "merchantId": merchant_id,
        "mode": mode,
        "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let signature = mac(key, &signing_input)
        .map(|m| URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{signing_input}.{signature}")
}

/// The claims of a token this sandbox issued, if its signature checks.
pub(super) struct Claims {
    pub(super) intent_id: String,
    pub(super) merchant_id: String,
    pub(super) mode: String,
}

pub(super) fn verify(key: &[u8], token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(key, &format!("{header}.{claims}"))?
        .verify_slice(&signature)
        .ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(Claims {
        intent_id: text("intentId")?,
        merchant_id: text("merchantId")?,
        mode: text("mode")?,
    })
}

/// True when `token` authorises payer calls on `intent_id` for the sandbox's merchant and mode.
pub(super) fn token_ok(
    key: &[u8],
    credentials: &Credentials,
    token: Option<&str>,
    intent_id: &str,
) -> bool {
    token.and_then(|t| verify(key, t)).is_some_and(|c| {
        c.intent_id == intent_id
            && c.merchant_id == credentials.hub2_merchant_id
            && c.mode == credentials.hub2_environment
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_unchanged() {
        let credentials = Credentials::default();
        let token = issue(b"k1", "pi_1", &credentials.hub2_merchant_id, "sandbox");
        assert!(token_ok(b"k1", &credentials, Some(&token), "pi_1"));
        assert!(!token_ok(b"k1", &credentials, Some(&token), "pi_2"));
        assert!(!token_ok(b"k2", &credentials, Some(&token), "pi_1"));
        assert!(!token_ok(b"k1", &credentials, None, "pi_1"));
        let mut forged = token.clone().into_bytes();
        let i = forged.iter().position(|b| *b == b'.').unwrap() + 3;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(!token_ok(b"k1", &credentials, Some(&forged), "pi_1"));
        let claims = verify(b"k1", &token).unwrap();
        assert_eq!(claims.mode, "sandbox");
        let live = issue(b"k1", "pi_1", &credentials.hub2_merchant_id, "live");
        assert!(!token_ok(b"k1", &credentials, Some(&live), "pi_1"));
    }
}
