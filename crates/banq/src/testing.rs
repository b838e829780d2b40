//! Banq's bodies for tests and local sandboxes, without Banq.
//!
//! [`WebhookEventBuilder`] writes the webhook events Banq posts (`action`, `resourceType`,
//! `resourceId`, as in Banq's integration guide); [`guarded_url`] adds the shared secret to a
//! receiving URL the way [`UrlSecretGuard`](payments_core::webhook::UrlSecretGuard) expects it.
//! The answer builders ([`payment_link_json`], [`payment_json`], [`user_json`], [`token_json`])
//! write the answers this crate reads, for a sandbox that emulates Banq's API. Banq does not
//! publish its answers' field names: these use the first names the parser tries (see
//! [`crate::wire`]).
//!
//! Nothing here is signed, because Banq signs nothing: a delivery built here is exactly as
//! (un)trustworthy as a real one, and is confirmed the same way, by fetching the payment.
//!
//! ```
//! use payments_banq::testing::{WebhookEventBuilder, guarded_url};
//! use payments_banq::webhook::WebhookReceiver;
//! use payments_core::webhook::UrlSecretGuard;
//! use payments_core::webhook::WebhookRequest;
//!
//! let body = WebhookEventBuilder::payment_completed("pay-123").to_vec();
//! let url = guarded_url("https://shop.example/banq/webhook", "token", "0123456789abcdef-secret");
//! let receiver = WebhookReceiver::new()
//!     .with_guard(UrlSecretGuard::query_param("token", "0123456789abcdef-secret")?);
//! let notice = receiver.receive(&WebhookRequest::new("POST", &url, &body))?;
//! assert_eq!(notice.payment_id(), Some("pay-123"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use payments_core::Money;
use payments_core::provider_support::percent_encode;
use serde_json::{Map, Value, json};

/// Builds a webhook event body.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEventBuilder {
    fields: Map<String, Value>,
}

impl WebhookEventBuilder {
    /// An event with `action`, `resourceType` and `resourceId`.
    pub fn new(
        action: impl Into<String>,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
    ) -> Self {
        let mut fields = Map::new();
        fields.insert("action".into(), Value::String(action.into()));
        fields.insert("resourceType".into(), Value::String(resource_type.into()));
        fields.insert("resourceId".into(), Value::String(resource_id.into()));
        WebhookEventBuilder { fields }
    }

    /// The documented trigger of the fetch-back: `completed` on a `Payment`.
    pub fn payment_completed(payment_id: impl Into<String>) -> Self {
        Self::new("completed", "Payment", payment_id)
    }

    /// Another action on a `Payment` (`failed`, `created`, ...).
    pub fn payment(action: impl Into<String>, payment_id: impl Into<String>) -> Self {
        Self::new(action, "Payment", payment_id)
    }

    /// An event on a `Transaction`.
    pub fn transaction(action: impl Into<String>, transaction_id: impl Into<String>) -> Self {
        Self::new(action, "Transaction", transaction_id)
    }

    /// Adds or replaces a field.
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.fields.insert(name.into(), value);
        self
    }

    /// The body as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// The body as bytes, as Banq posts it.
    pub fn to_vec(&self) -> Vec<u8> {
        self.to_value().to_string().into_bytes()
    }
}

/// `base` with `param=<secret>` added to its query (percent-encoded).
pub fn guarded_url(base: &str, param: &str, secret: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{separator}{}={}",
        percent_encode(param),
        percent_encode(secret)
    )
}

/// An answer to `get-paid-link`: `{"id": ..., "link": ...}`.
pub fn payment_link_json(payment_id: &str, link: &str) -> Value {
    json!({"id": payment_id, "link": link})
}

/// An answer to `GET /payments/{id}` as JSON text, with `funds` an exact JSON number.
pub fn payment_json(
    payment_id: &str,
    status: &str,
    funds: Money,
    external_order_code: &str,
) -> String {
    let mut body = Map::new();
    body.insert("id".into(), Value::String(payment_id.into()));
    body.insert("status".into(), Value::String(status.into()));
    body.insert(
        "externalOrderCode".into(),
        Value::String(external_order_code.into()),
    );
    body.insert("funds".into(), Value::Null);
    // Written as text so the amount never passes through f64.
    let text = Value::Object(body).to_string();
    text.replace(
        r#""funds":null"#,
        &format!(r#""funds":{}"#, crate::request::funds(funds)),
    )
}

/// An answer to `users/me` with one account space holding one banq account.
pub fn user_json(email: &str, account_space_id: &str, banq_guid: &str) -> Value {
    json!({
        "id": "user-1",
        "email": email,
        "accountSpaces": [{"id": account_space_id, "name": "Main"}],
        "banqAccounts": [{"guid": banq_guid, "accountSpaceId": account_space_id}]
    })
}

/// An OAuth2 token answer, as Banq's Auth0 issuer sends it.
pub fn token_json(access_token: &str, expires_in: u64) -> Value {
    json!({"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in})
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use payments_core::Currency;

    #[test]
    fn payment_json_keeps_funds_exact() {
        let text = payment_json(
            "p",
            "completed",
            Money::from_minor(10_010, Currency::USD),
            "o",
        );
        assert!(text.contains(r#""funds":100.1"#), "{text}");
        let parsed = crate::wire::parse_payment(text.as_bytes()).unwrap();
        assert_eq!(parsed.funds.unwrap().to_string(), "100.1");
    }

    #[test]
    fn guarded_urls_round_trip_through_the_guard() {
        let secret = "a b&c=d/é-0123456789";
        let url = guarded_url("https://s.example/hook?x=1", "token", secret);
        assert!(url.starts_with("https://s.example/hook?x=1&token="));
        payments_core::webhook::UrlSecretGuard::query_param("token", secret)
            .unwrap()
            .check(&url)
            .unwrap();
    }
}
