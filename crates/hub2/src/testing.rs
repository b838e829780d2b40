//! What HUB2 sends, for tests and local runs without HUB2.
//!
//! [`WebhookSigner`] produces the `Hub2-Signature` header value for a body exactly as HUB2 does
//! (`s1=` with the current secret, `s0=` with the previous one during a rotation), and
//! [`event_body`] builds the `{id, type, createdAt, data}` envelope. A sandbox can deliver real
//! webhooks with them; tests can build deliveries that the production verifier checks.
//!
//! ```
//! use payments_core::webhook::{WebhookRequest, WebhookVerifier};
//! use payments_hub2::testing::{WebhookSigner, event_body};
//! use payments_hub2::webhook::Hub2WebhookVerifier;
//!
//! let payment = serde_json::json!({"id":"pay_1","intentId":"pi_1","status":"successful"});
//! let body = event_body("evt_1", "payment.succeeded", "2024-05-01T10:00:00.000Z", &payment);
//! // HUB2 rotated the secret: s1 uses the new one, s0 the one this server still has.
//! let header = WebhookSigner::new("whsec_new").previous("whsec_old").sign(&body);
//!
//! let verifier = Hub2WebhookVerifier::new("whsec_old")?;
//! let request = WebhookRequest::new("POST", "https://shop.example/hub2", &body)
//!     .header("Hub2-Signature", &header);
//! assert_eq!(verifier.verify(&request)?.payment_id.as_deref(), Some("pi_1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use payments_core::secret::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::hex;
use crate::webhook::mac;

/// Signs webhook bodies like HUB2.
#[derive(Clone)]
pub struct WebhookSigner {
    current: SecretString,
    previous: Option<SecretString>,
}

impl fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSigner")
            .field("rotating", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl WebhookSigner {
    /// A signer with the current webhook secret.
    pub fn new(current: impl Into<String>) -> Self {
        WebhookSigner {
            current: SecretString::from(current.into()),
            previous: None,
        }
    }

    /// Also signs with the previous secret (`s0`), as HUB2 does for 24 hours after a rotation.
    pub fn previous(mut self, previous: impl Into<String>) -> Self {
        self.previous = Some(SecretString::from(previous.into()));
        self
    }

    /// The lower-case hex HMAC-SHA256 of `body` under `secret`.
    pub fn hmac_hex(secret: &str, body: &[u8]) -> String {
        hex::encode(&mac(secret, body))
    }

    /// The `Hub2-Signature` header value for `body`: `s1=<hex>` or `s1=<hex>,s0=<hex>`.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut header = format!("s1={}", Self::hmac_hex(self.current.expose_secret(), body));
        if let Some(previous) = &self.previous {
            header.push_str(",s0=");
            header.push_str(&Self::hmac_hex(previous.expose_secret(), body));
        }
        header
    }
}

/// A webhook body as HUB2 sends it: `{"id","type","createdAt","data"}` (compact JSON, keys in
/// that order).
pub fn event_body(id: &str, event_type: &str, created_at: &str, data: &Value) -> Vec<u8> {
    // Serializing a string cannot fail.
    let json = |text: &str| serde_json::to_string(text).unwrap_or_default();
    format!(
        r#"{{"id":{},"type":{},"createdAt":{},"data":{data}}}"#,
        json(id),
        json(event_type),
        json(created_at),
    )
    .into_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn headers_have_the_documented_shape() {
        let one = WebhookSigner::new("a").sign(b"{}");
        assert!(one.starts_with("s1=") && one.len() == 3 + 64, "{one}");
        let two = WebhookSigner::new("a").previous("b").sign(b"{}");
        let (s1, s0) = two.split_once(",s0=").unwrap();
        assert_eq!(s1, one);
        assert_eq!(s0, WebhookSigner::hmac_hex("b", b"{}"));
        assert!(!format!("{:?}", WebhookSigner::new("SECRET")).contains("SECRET"));
    }
}
