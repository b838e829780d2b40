//! Registered webhooks, their secrets (with rotation), and signed delivery.

use std::time::{Duration, Instant};

use payments_hub2::testing::{WebhookSigner, event_body};
use serde_json::{Value, json};

use super::model::Event;
use crate::Provider;
use crate::app::App;
use crate::deliveries::Outgoing;
use crate::support::lock;
use crate::support::{new_id, now_rfc3339};

/// How long `s0` (the previous secret) is still sent after a rotation: 24 h, documented.
pub(super) const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// Delays before each retry of a refused delivery, in seconds: 10 attempts in all, the first
/// retry after 60 s, growing exponentially to about 34 h in total (HUB2 documents these three
/// facts, not the factor: 2.43 is the one that satisfies all three; the sum is 123 923 s).
pub(super) const RETRY_DELAYS_SECS: [u64; 9] = [60, 146, 354, 861, 2092, 5084, 12354, 30021, 72951];

/// The retry schedule as durations (real time; the delivery loop scales them).
pub(super) fn retry_delays() -> Vec<Duration> {
    RETRY_DELAYS_SECS
        .iter()
        .map(|s| Duration::from_secs(*s))
        .collect()
}

/// A registered webhook.
#[derive(Debug, Clone)]
pub(super) struct Webhook {
    pub(super) id: String,
    pub(super) url: String,
    pub(super) events: Vec<String>,
    pub(super) description: Option<String>,
    pub(super) metadata: Option<Value>,
    pub(super) secret: String,
    /// The secret before the last rotation, and until when it is still used for `s0`.
    pub(super) previous: Option<(String, Instant)>,
    pub(super) created_at: String,
}

/// A new signing secret.
pub(super) fn new_secret() -> String {
    format!("{}{}", new_id("whsec_"), new_id(""))
}

impl Webhook {
    /// The webhook as HUB2 shows it; the secret only in the answer to its registration.
    pub(super) fn json(&self, with_secret: bool) -> Value {
        let mut webhook = json!({
            "id": self.id,
            "url": self.url,
            "events": self.events,
            "createdAt": self.created_at,
        });
        if let Some(object) = webhook.as_object_mut() {
            if let Some(d) = &self.description {
                object.insert("description".into(), json!(d));
            }
            if let Some(m) = &self.metadata {
                object.insert("metadata".into(), m.clone());
            }
            if with_secret {
                object.insert("secret".into(), json!(self.secret));
            }
        }
        webhook
    }

    /// Whether the webhook listens to `kind`: the exact type, or (sandbox leniency) a family
    /// pattern `payment.*` / `payment_intent.*`, or `*`.
    pub(super) fn subscribes(&self, kind: &str) -> bool {
        self.events.iter().any(|pattern| {
            pattern == kind
                || pattern == "*"
                || pattern.strip_suffix('*').is_some_and(|prefix| {
                    prefix.ends_with('.')
                        && kind
                            .strip_prefix(prefix)
                            .is_some_and(|rest| !rest.is_empty() && !rest.contains('.'))
                })
        })
    }

    /// Replaces the secret; the old one keeps signing `s0` for `overlap`.
    pub(super) fn rotate(&mut self, overlap: Duration) {
        let old = std::mem::replace(&mut self.secret, new_secret());
        self.previous = Some((old, Instant::now() + overlap));
    }

    /// The signer for a delivery now: `s1` with the current secret, `s0` with the previous one
    /// while its overlap lasts.
    fn signer(&self) -> WebhookSigner {
        let signer = WebhookSigner::new(self.secret.clone());
        match &self.previous {
            Some((previous, until)) if Instant::now() < *until => signer.previous(previous.clone()),
            _ => signer,
        }
    }
}

/// Delivers `events` about `intent_id` to every webhook subscribed to each, signed per webhook.
pub(super) fn dispatch(app: &App, intent_id: &str, events: Vec<Event>) {
    for event in events {
        let targets: Vec<(String, WebhookSigner)> = lock(&app.hub2.store)
            .webhooks
            .iter()
            .filter(|w| w.subscribes(&event.kind))
            .map(|w| (w.url.clone(), w.signer()))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let body = event_body(&new_id("evt_"), &event.kind, &now_rfc3339(), &event.data);
        let body = String::from_utf8_lossy(&body).into_owned();
        for (url, signer) in targets {
            app.deliver(Outgoing {
                provider: Provider::Hub2,
                payment_id: intent_id.to_owned(),
                event: event.kind.clone(),
                url,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Hub2-Signature".into(), signer.sign(body.as_bytes())),
                ],
                body: body.clone(),
                retry_delays: retry_delays(),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn webhook(events: &[&str]) -> Webhook {
        Webhook {
            id: "wh_1".into(),
            url: "http://127.0.0.1/x".into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            description: None,
            metadata: None,
            secret: new_secret(),
            previous: None,
            created_at: now_rfc3339(),
        }
    }

    #[test]
    fn subscriptions_match_types_and_families() {
        let exact = webhook(&["payment.succeeded"]);
        assert!(exact.subscribes("payment.succeeded"));
        assert!(!exact.subscribes("payment.failed"));
        let family = webhook(&["payment.*"]);
        assert!(family.subscribes("payment.failed"));
        assert!(!family.subscribes("payment_intent.created"));
        assert!(webhook(&["*"]).subscribes("payment_intent.created"));
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_during_the_overlap_only() {
        let mut w = webhook(&["*"]);
        let first = w.secret.clone();
        assert!(!w.signer().sign(b"{}").contains(",s0="));
        w.rotate(Duration::from_secs(60));
        assert_ne!(w.secret, first);
        let header = w.signer().sign(b"{}");
        assert_eq!(
            header,
            WebhookSigner::new(w.secret.clone())
                .previous(first.clone())
                .sign(b"{}")
        );
        w.rotate(Duration::ZERO);
        assert!(!w.signer().sign(b"{}").contains(",s0="));
    }

    #[test]
    fn the_schedule_is_ten_attempts_over_about_34_hours() {
        assert_eq!(RETRY_DELAYS_SECS.len() + 1, 10);
        assert_eq!(RETRY_DELAYS_SECS[0], 60);
        let total: u64 = RETRY_DELAYS_SECS.iter().sum();
        assert!((33 * 3600..36 * 3600).contains(&total), "{total}");
        assert!(RETRY_DELAYS_SECS.windows(2).all(|w| w[1] > w[0] * 2));
    }
}
