//! Payconiq's callbacks: the payment as JSON, signed with a detached ES256 JWS, and their retries.

use std::time::Duration;

use time::OffsetDateTime;

use super::model::{Payment, View, view};
use super::wire;
use crate::Provider;
use crate::app::App;
use crate::deliveries::Outgoing;
use crate::support::random_hex;

/// Delays before each callback retry: three retries (Payconiq's API reference: "up to three
/// times per payment"); the spacing is not documented, so assumed.
pub(super) const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
];

/// Delivers the signed callback of `p` in its current status, if it has somewhere to go.
pub(super) fn notify(app: &App, p: &Payment) {
    let Some(url) = p.callback_url.clone() else {
        return;
    };
    let body = view(&wire(app), p, View::Callback).to_string();
    let jti = random_hex(32);
    let signature =
        match app
            .keys
            .payconiq
            .sign_for_url(body.as_bytes(), &jti, OffsetDateTime::now_utc(), &url)
        {
            Ok(signature) => signature,
            Err(e) => {
                tracing::warn!(payment_id = %p.id, error = %e, "payconiq callback not signed");
                return;
            }
        };
    app.deliver(Outgoing {
        provider: Provider::Payconiq,
        payment_id: p.id.clone(),
        event: p.status.clone(),
        url,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), "Payconiq Payments/v3".into()),
            ("Signature".into(), signature),
        ],
        body,
        retry_delays: RETRY_DELAYS.to_vec(),
    });
}
