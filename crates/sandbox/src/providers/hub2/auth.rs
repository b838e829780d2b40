//! Who may call: the merchant headers (`ApiKey`, `MerchantId`, `Environment`) and the intent
//! token (a JWT, HS256, claims `intentId`, `merchantId`, `mode`, `iat`, made and checked with the
//! `jsonwebtoken` crate) of payer-side calls.

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use payments_core::provider_support::constant_time_eq;
use serde::{Deserialize, Serialize};

use crate::config::Credentials;
use crate::support::header;

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

/// The claims of an intent token, as HUB2's tokens carry them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Claims {
    pub(super) intent_id: String,
    pub(super) merchant_id: String,
    pub(super) mode: String,
    /// Issued at (seconds since the epoch).
    iat: i64,
}

/// A new intent token: a JWT, HS256, signed with `key`. Empty if it cannot be signed (no payer
/// call then passes).
pub(super) fn issue(key: &[u8], intent_id: &str, merchant_id: &str, mode: &str) -> String {
    let claims = Claims {
        intent_id: intent_id.to_owned(),
        merchant_id: merchant_id.to_owned(),
        mode: mode.to_owned(),
        iat: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    EncodingKey::from_secret(key)
        .and_then(|key| jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "HUB2 intent token not signed");
            String::new()
        })
}

/// The claims of a token this sandbox issued, if its signature (HS256 with `key`) checks. HUB2's
/// tokens carry no expiry, so none is required.
pub(super) fn verify(key: &[u8], token: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(key).ok()?;
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
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

    #[test]
    fn a_token_is_a_standard_hs256_jwt_and_an_unsigned_one_is_refused() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let credentials = Credentials::default();
        let token = issue(b"k1", "pi_1", &credentials.hub2_merchant_id, "sandbox");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["typ"], "JWT");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["intentId"], "pi_1");
        assert_eq!(claims["merchantId"], credentials.hub2_merchant_id.as_str());
        assert_eq!(claims["mode"], "sandbox");
        assert!(claims["iat"].is_i64());
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert!(!token_ok(b"k1", &credentials, Some(&none), "pi_1"));
        assert!(!token_ok(b"k1", &credentials, Some("not-a-jwt"), "pi_1"));
    }
}
