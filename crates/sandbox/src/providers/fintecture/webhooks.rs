//! Fintecture's webhooks: form-encoded session events, signed (`Digest`, `Date`, `X-Request-ID`,
//! and a `Signature` RSA-OAEP-encrypted with the merchant's public key), and their retries.

use std::sync::Arc;
use std::time::Duration;

use payments_fintecture::testing::WebhookSigner;
use time::OffsetDateTime;

use super::model::Session;
use crate::Provider;
use crate::app::App;
use crate::deliveries::{Outgoing, Resign};
use crate::support::{form_encode, uuid};

/// Webhook retries: 10, exponential (2 s, 4 s, ... 1024 s; the base is assumed).
pub(super) fn retry_delays() -> Vec<Duration> {
    (1..=10u32).map(|n| Duration::from_secs(1 << n)).collect()
}

/// The webhook Fintecture sends about `s`'s current status, if a URL is configured.
fn webhook(app: &App, s: &Session) -> Option<(Outgoing, Resign)> {
    let url = app.webhook_url(Provider::Fintecture)?;
    let event = format!("payment_session.status.{}", s.status);
    let amount = s.amount.to_decimal_string();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("session_id", &s.id),
        ("status", &s.status),
        ("customer_id", &s.customer_id),
    ];
    if let Some(bank) = &s.bank {
        pairs.push(("provider", bank));
    }
    if let Some(state) = &s.state {
        pairs.push(("state", state));
    }
    pairs.push(("event", &event));
    pairs.push(("type", "PayByBank"));
    if let Some(t) = &s.transfer_state {
        pairs.push(("transfer_state", t));
    }
    pairs.push(("amount", &amount));
    pairs.push(("currency", s.amount.currency().code()));
    let body = form_encode(&pairs);
    let signer = WebhookSigner::new(
        &app.credentials.fintecture_app_id,
        app.keys.fintecture_public_key().clone(),
    );
    // One X-Request-ID per delivery; every attempt is signed afresh with its own `Date`, so a
    // retry 30 minutes later still passes the receiver's freshness window.
    let request_id = uuid();
    let sign = move |body: &str| -> Option<Vec<(String, String)>> {
        match signer.sign(body.as_bytes(), OffsetDateTime::now_utc(), &request_id) {
            Ok(signed) => {
                let mut headers = signed.headers;
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                Some(headers)
            }
            Err(e) => {
                tracing::warn!(error = %e, "fintecture webhook could not be signed");
                None
            }
        }
    };
    let headers = sign(&body)?;
    let resign_body = body.clone();
    let resign: Resign = Arc::new(move || sign(&resign_body));
    Some((
        Outgoing {
            provider: Provider::Fintecture,
            payment_id: s.id.clone(),
            event,
            url,
            headers,
            body,
            retry_delays: retry_delays(),
        },
        resign,
    ))
}

/// Sends the webhook about `s`'s current status, if a URL is configured.
pub(super) fn notify(app: &App, s: &Session) {
    if let Some((outgoing, resign)) = webhook(app, s) {
        app.deliver_with(outgoing, Some(resign));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_retries_doubling_from_two_seconds() {
        let secs: Vec<u64> = retry_delays().iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    }
}
