//! Signed callbacks for tests and local runs, without Payconiq.
//!
//! [`WebhookSigner`] generates a P-256 key and signs callback bodies exactly as Payconiq does
//! (detached JWS, ES256, the five `https://payconiq.com/*` critical parameters). Give its
//! [`WebhookSigner::key_set`] to the verifier under test and post what it signs to your handler.
//! A key made here cannot forge real callbacks: production verifiers only trust Payconiq's keys.
//!
//! ```
//! use payments_core::webhook::{WebhookRequest, WebhookVerifier};
//! use payments_payconiq::testing::WebhookSigner;
//! use payments_payconiq::webhook::{WebhookSettings, PayconiqWebhookVerifier};
//!
//! let url = "https://shop.example/payconiq/callback";
//! let signer = WebhookSigner::generate("test-key", "my-profile-id", url)?;
//! let verifier = PayconiqWebhookVerifier::new(WebhookSettings::new("my-profile-id", url), signer.key_set()?);
//!
//! let body = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","status":"SUCCEEDED"}"#;
//! let signature = signer.sign(body, "jti-1", time::OffsetDateTime::now_utc())?;
//! let request = WebhookRequest::new("POST", url, body).header("Signature", &signature);
//! assert!(verifier.verify(&request)?.status.is_some_and(|s| s.is_success()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use payments_core::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::webhook::JwkSet;

/// Signs callbacks like Payconiq, with a key of its own.
pub struct WebhookSigner {
    key: EcdsaKeyPair,
    kid: String,
    profile_id: String,
    callback_url: String,
}

impl std::fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSigner")
            .field("kid", &self.kid)
            .field("profile_id", &self.profile_id)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

impl WebhookSigner {
    /// A signer with a fresh key named `kid`, signing for `profile_id` and `callback_url`.
    pub fn generate(
        kid: impl Into<String>,
        profile_id: impl Into<String>,
        callback_url: impl Into<String>,
    ) -> Result<Self, Error> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::Config("could not generate a P-256 key".into()))?;
        Ok(WebhookSigner {
            key,
            kid: kid.into(),
            profile_id: profile_id.into(),
            callback_url: callback_url.into(),
        })
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK set, in the JSON Payconiq publishes.
    pub fn jwks_json(&self) -> String {
        // The uncompressed point: 0x04 || x || y.
        let coordinates = self.key.public_key().as_ref().get(1..).unwrap_or_default();
        let (x, y) = coordinates.split_at(coordinates.len() / 2);
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": B64URL.encode(x), "y": B64URL.encode(y)
        }]})
        .to_string()
    }

    /// The public key as a [`JwkSet`] for a verifier.
    pub fn key_set(&self) -> Result<JwkSet, Error> {
        JwkSet::from_json(self.jwks_json().as_bytes())
    }

    /// The `Signature` header value for `body`, with `jti` and the signing time `iat`, for the
    /// callback URL given at [`WebhookSigner::generate`].
    pub fn sign(&self, body: &[u8], jti: &str, iat: OffsetDateTime) -> Result<String, Error> {
        self.sign_for_url(body, jti, iat, &self.callback_url)
    }

    /// Like [`WebhookSigner::sign`], for a payment created with `callback_url` as its
    /// `callbackUrl`: Payconiq signs the callback URL of each payment (the
    /// `https://payconiq.com/path` parameter), so one signer (one key, one payment profile) serves
    /// payments with different callback URLs.
    pub fn sign_for_url(
        &self,
        body: &[u8],
        jti: &str,
        iat: OffsetDateTime,
        callback_url: &str,
    ) -> Result<String, Error> {
        let iat = iat
            .checked_to_offset(time::UtcOffset::UTC)
            .ok_or_else(|| Error::Config("iat out of range".into()))?
            .format(&Rfc3339)
            .map_err(|e| Error::Config(format!("cannot format iat: {e}")))?;
        let header = serde_json::json!({
            "typ": "JOSE+JSON",
            "kid": self.kid,
            "alg": "ES256",
            "crit": [
                "https://payconiq.com/sub", "https://payconiq.com/iss", "https://payconiq.com/iat",
                "https://payconiq.com/jti", "https://payconiq.com/path"
            ],
            "https://payconiq.com/sub": self.profile_id,
            "https://payconiq.com/iss": "Payconiq",
            "https://payconiq.com/iat": iat,
            "https://payconiq.com/jti": jti,
            "https://payconiq.com/path": callback_url,
        });
        let header = B64URL.encode(header.to_string());
        let input = format!("{header}.{}", B64URL.encode(body));
        let signature = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| Error::Config("signing failed".into()))?;
        Ok(format!("{header}..{}", B64URL.encode(signature.as_ref())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use payments_core::webhook::{WebhookRejection, WebhookRequest, WebhookVerifier};

    use super::*;
    use crate::webhook::{PayconiqWebhookVerifier, WebhookSettings};

    #[test]
    fn sign_for_url_signs_the_given_callback_url() {
        let default_url = "https://shop.example/payconiq/callback";
        let other_url = "https://shop.example/payconiq/callback/order-42";
        let signer = WebhookSigner::generate("k", "profile", default_url).unwrap();
        let body = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","status":"SUCCEEDED"}"#;
        let now = OffsetDateTime::now_utc();
        let signature = signer.sign_for_url(body, "jti-1", now, other_url).unwrap();
        let verifier = |url: &str| {
            PayconiqWebhookVerifier::new(
                WebhookSettings::new("profile", url),
                signer.key_set().unwrap(),
            )
        };
        let request = WebhookRequest::new("POST", other_url, body).header("Signature", &signature);
        assert!(verifier(other_url).verify(&request).is_ok());
        assert!(matches!(
            verifier(default_url).verify(&request).unwrap_err(),
            WebhookRejection::ClaimMismatch { claim } if claim.starts_with("path ")
        ));
        // `sign` keeps signing the URL given at generation.
        let signature = signer.sign(body, "jti-2", now).unwrap();
        let request =
            WebhookRequest::new("POST", default_url, body).header("Signature", &signature);
        assert!(verifier(default_url).verify(&request).is_ok());
        assert!(verifier(other_url).verify(&request).is_err());
    }
}
