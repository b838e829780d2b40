//! Webhook delivery: each provider's retry schedule (scaled), and the delivery log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::Provider;
use crate::app::App;
use crate::support::lock;

/// A webhook the sandbox sends, or sent, with every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// Delivery id (sandbox-local, from 1).
    pub id: u64,
    /// The provider whose scheme the webhook uses.
    pub provider: Provider,
    /// The payment (or intent, invoice...) the webhook is about.
    pub payment_id: String,
    /// What happened (the provider's event type or the status it reports).
    pub event: String,
    /// Where it is posted.
    pub url: String,
    /// Headers sent in the latest attempt, in order (a provider that signs each attempt afresh,
    /// like Fintecture's dated signatures, changes them between attempts).
    pub headers: Vec<(String, String)>,
    /// The exact body bytes sent (UTF-8 in every emulated scheme).
    pub body: String,
    /// Every attempt so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// Where the delivery stands.
    pub state: DeliveryState,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// When it was sent (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer.
    pub error: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Being attempted, or waiting for a retry.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt of the provider's schedule failed.
    GaveUp,
}

/// A webhook a provider module asks to deliver.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) provider: Provider,
    pub(crate) payment_id: String,
    pub(crate) event: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    /// Delays before each retry, as the provider documents them (real time; scaled when sent).
    /// Empty: one attempt only.
    pub(crate) retry_delays: Vec<Duration>,
}

/// Produces fresh headers before a retry (a new `Date` and signature), or `None` to resend the
/// previous ones.
pub(crate) type Resign = Arc<dyn Fn() -> Option<Vec<(String, String)>> + Send + Sync>;

#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    log: Mutex<Vec<DeliveryRecord>>,
    changed: tokio::sync::Notify,
}

impl Deliveries {
    pub(crate) fn all(&self) -> Vec<DeliveryRecord> {
        lock(&self.log).clone()
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut DeliveryRecord)) {
        if let Some(record) = lock(&self.log).iter_mut().find(|r| r.id == id) {
            f(record);
        }
        self.changed.notify_waiters();
    }

    /// Waits until a delivery matching `pred` has been delivered or given up, or `timeout`.
    pub(crate) async fn wait_for(
        &self,
        pred: impl Fn(&DeliveryRecord) -> bool,
        timeout: Duration,
    ) -> Option<DeliveryRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found = lock(&self.log)
                .iter()
                .find(|r| r.state != DeliveryState::Pending && pred(r))
                .cloned();
            if found.is_some() {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// Why a request got no answer, in one line: what failed (`connect`, `timeout`...) and the
/// causes beneath it (`tcp connect error: Connection refused (os error 111)`), never the URL
/// (the delivery record has it already).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "unreadable answer"
    } else if error.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper and reqwest repeat a cause inside its parent's text: keep the most specific.
        if let Some(last) = parts.last_mut()
            && (last.contains(&text) || text.contains(last.as_str()))
        {
            if text.len() > last.len() {
                *last = text;
            }
        } else if !text.is_empty() {
            parts.push(text);
        }
        source = cause.source();
    }
    let causes = parts.join(": ");
    if causes.is_empty() {
        kind.to_owned()
    } else if causes.contains(kind) {
        causes
    } else {
        format!("{kind}: {causes}")
    }
}

impl App {
    /// Logs `outgoing` and delivers it in the background under its retry schedule.
    pub(crate) fn deliver(&self, outgoing: Outgoing) -> u64 {
        self.deliver_with(outgoing, None)
    }

    /// Like [`App::deliver`], calling `resign` before every retry for that attempt's headers.
    pub(crate) fn deliver_with(&self, outgoing: Outgoing, resign: Option<Resign>) -> u64 {
        let id = {
            let mut log = lock(&self.deliveries.log);
            let id = log.len() as u64 + 1;
            log.push(DeliveryRecord {
                id,
                provider: outgoing.provider,
                payment_id: outgoing.payment_id.clone(),
                event: outgoing.event.clone(),
                url: outgoing.url.clone(),
                headers: outgoing.headers.clone(),
                body: outgoing.body.clone(),
                attempts: Vec::new(),
                state: DeliveryState::Pending,
            });
            id
        };
        self.deliveries.changed.notify_waiters();
        let app = self.clone();
        tokio::spawn(async move { app.run_delivery(id, outgoing, resign).await });
        id
    }

    async fn run_delivery(self, id: u64, outgoing: Outgoing, resign: Option<Resign>) {
        let mut delays = outgoing.retry_delays.iter();
        let mut headers = outgoing.headers.clone();
        let mut first = true;
        loop {
            if !first && let Some(fresh) = resign.as_ref().and_then(|f| f()) {
                headers = fresh;
                let sent = headers.clone();
                self.deliveries.update(id, |r| r.headers = sent);
            }
            first = false;
            let mut request = self.webhook_client.post(&outgoing.url);
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            let result = request.body(outgoing.body.clone()).send().await;
            let (attempt, delivered) = match result {
                Ok(response) => (
                    DeliveryAttempt {
                        at: OffsetDateTime::now_utc(),
                        status: Some(response.status().as_u16()),
                        error: None,
                    },
                    response.status().is_success(),
                ),
                Err(e) => (
                    DeliveryAttempt {
                        at: OffsetDateTime::now_utc(),
                        status: None,
                        error: Some(describe(&e)),
                    },
                    false,
                ),
            };
            let next = if delivered { None } else { delays.next() };
            self.deliveries.update(id, |r| {
                r.attempts.push(attempt);
                if delivered {
                    r.state = DeliveryState::Delivered;
                } else if next.is_none() {
                    r.state = DeliveryState::GaveUp;
                }
            });
            match next {
                Some(delay) => tokio::time::sleep(self.scaled(*delay)).await,
                None => return,
            }
        }
    }
}
