//! The demo's webhook endpoint on 127.0.0.1: each provider's deliveries (`/{provider}/webhook`,
//! with whatever path segment or query a guard adds) go to the ledger's `receive` with that
//! provider's verifier, and the provider gets the receipt's status. Any other path (a payer's
//! return page) is answered 200.
//!
//! For the scenarios a provider's endpoint can misbehave on purpose: lose its answers (the
//! ledger stored the event, the provider sees a failure and delivers it again), be down
//! (nothing stored, 503), or hold the deliveries so that the demo hands them to the ledger in
//! another order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use payments_core::webhook::WebhookRequest;
use payments_ledger::{Ledger, Outcome, Receipt};
use payments_sandbox::Provider;
use payments_sandbox::hooks::DynVerifier;

/// How a provider's endpoint behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Receive, answer the receipt's status.
    Normal,
    /// Receive, but answer 500 to the first `n` deliveries of each event: the answer is lost
    /// on the way back, so the provider delivers the event again.
    LoseAnswers(usize),
    /// The endpoint is down: 503, nothing received.
    Down,
    /// Keep the requests (answered 200) for [`Receiver::release`].
    Hold,
}

/// One delivery the endpoint answered.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) provider: Provider,
    /// The HTTP status answered.
    pub(crate) answered: u16,
    /// What the ledger did (`None` when the endpoint was down).
    pub(crate) receipt: Option<Receipt>,
}

impl Delivery {
    /// The event's de-duplication key, when the ledger stored it (or had already).
    pub(crate) fn key(&self) -> Option<&str> {
        match &self.receipt.as_ref()?.outcome {
            Outcome::Applied { key, .. }
            | Outcome::Kept { key }
            | Outcome::Ignored { key }
            | Outcome::Duplicate { key } => Some(key),
            _ => None,
        }
    }

    /// One line: what the ledger did and what the provider was answered.
    pub(crate) fn describe(&self) -> String {
        let ledger = match &self.receipt {
            Some(receipt) => receipt.reason.clone(),
            None => "not received (endpoint down)".to_owned(),
        };
        let lost = match &self.receipt {
            Some(receipt) if receipt.status != self.answered => " (answer lost)",
            _ => "",
        };
        format!("{ledger} → HTTP {}{lost}", self.answered)
    }
}

/// A request kept by [`Mode::Hold`]. No `Debug`: its URL may carry a guard's secret.
#[derive(Clone)]
pub(crate) struct Held {
    pub(crate) provider: Provider,
    method: String,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Held {
    /// The body as received.
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest::new(&self.method, &self.url, &self.body).headers(
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_slice())),
        )
    }
}

struct Endpoint {
    verifier: DynVerifier,
    mode: Mode,
    /// What the sender calls this receiver: its own URL, or the public URL forwarding to it (a
    /// real provider signs or guards that URL, not the local one).
    base_url: String,
}

struct Inner {
    ledger: Ledger,
    endpoints: Mutex<HashMap<Provider, Endpoint>>,
    log: Mutex<Vec<Delivery>>,
    held: Mutex<Vec<Held>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The running receiver.
pub(crate) struct Receiver {
    local_url: String,
    inner: Arc<Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts on an ephemeral port of 127.0.0.1, receiving into `ledger`.
    pub(crate) async fn start(ledger: Ledger) -> Result<Receiver, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("webhook receiver: cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("webhook receiver: {e}"))?;
        let local_url = format!("http://{addr}");
        let inner = Arc::new(Inner {
            ledger,
            endpoints: Mutex::default(),
            log: Mutex::default(),
            held: Mutex::default(),
        });
        let app = Router::new().fallback(receive).with_state(inner.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Receiver {
            local_url,
            inner,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:PORT` + `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.local_url)
    }

    /// Where `provider`'s deliveries are received, under `base_url` (this receiver's own URL
    /// when `None`, else a public URL forwarding to it).
    pub(crate) fn webhook_url(&self, provider: Provider, base_url: Option<&str>) -> String {
        let base = base_url.map_or(self.local_url.as_str(), |b| b.trim_end_matches('/'));
        format!("{base}/{provider}/webhook")
    }

    /// Receives `provider`'s deliveries with `verifier`; `base_url` as for
    /// [`Receiver::webhook_url`].
    pub(crate) fn accept(&self, provider: Provider, verifier: DynVerifier, base_url: Option<&str>) {
        let base_url = base_url.map_or_else(
            || self.local_url.clone(),
            |b| b.trim_end_matches('/').to_owned(),
        );
        lock(&self.inner.endpoints).insert(
            provider,
            Endpoint {
                verifier,
                mode: Mode::Normal,
                base_url,
            },
        );
    }

    /// Sets how `provider`'s endpoint behaves.
    pub(crate) fn set_mode(&self, provider: Provider, mode: Mode) {
        if let Some(endpoint) = lock(&self.inner.endpoints).get_mut(&provider) {
            endpoint.mode = mode;
        }
    }

    /// Every delivery answered so far for `provider`, in order.
    pub(crate) fn deliveries(&self, provider: Provider) -> Vec<Delivery> {
        lock(&self.inner.log)
            .iter()
            .filter(|d| d.provider == provider)
            .cloned()
            .collect()
    }

    /// The requests held for `provider` (and no longer held).
    pub(crate) fn take_held(&self, provider: Provider) -> Vec<Held> {
        let mut held = lock(&self.inner.held);
        let (taken, kept): (Vec<Held>, Vec<Held>) =
            held.drain(..).partition(|h| h.provider == provider);
        *held = kept;
        taken
    }

    /// How many requests are held for `provider`.
    pub(crate) fn held(&self, provider: Provider) -> usize {
        lock(&self.inner.held)
            .iter()
            .filter(|h| h.provider == provider)
            .count()
    }

    /// Hands a held request to the ledger now (logged as a delivery).
    pub(crate) async fn release(&self, held: &Held) -> Result<Delivery, String> {
        let verifier = lock(&self.inner.endpoints)
            .get(&held.provider)
            .map(|e| e.verifier.clone())
            .ok_or_else(|| format!("no endpoint for {}", held.provider))?;
        let receipt = self
            .inner
            .ledger
            .receive(held.provider.as_str(), verifier.as_ref(), &held.request())
            .await;
        let delivery = Delivery {
            provider: held.provider,
            answered: receipt.status,
            receipt: Some(receipt),
        };
        self.inner.record(delivery.clone());
        Ok(delivery)
    }
}

impl Inner {
    fn record(&self, delivery: Delivery) {
        lock(&self.log).push(delivery);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `/hub2/webhook...` → HUB2.
fn webhook_provider(path: &str) -> Option<Provider> {
    let mut segments = path.trim_start_matches('/').split('/');
    let provider = segments.next()?.parse().ok()?;
    (segments.next() == Some("webhook")).then_some(provider)
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let Some(provider) = webhook_provider(uri.path()) else {
        // A payer's return page, or anything else: not a webhook.
        return (StatusCode::OK, "ok".to_owned());
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let endpoint = lock(&inner.endpoints)
        .get(&provider)
        .map(|e| (e.verifier.clone(), e.mode, e.base_url.clone()));
    let Some((verifier, mode, base_url)) = endpoint else {
        return (StatusCode::NOT_FOUND, format!("no {provider} endpoint yet"));
    };
    let held = Held {
        provider,
        method: method.as_str().to_owned(),
        url: format!("{base_url}{path}"),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
        body: body.to_vec(),
    };
    match mode {
        Mode::Down => {
            inner.record(Delivery {
                provider,
                answered: 503,
                receipt: None,
            });
            (StatusCode::SERVICE_UNAVAILABLE, "down".to_owned())
        }
        Mode::Hold => {
            lock(&inner.held).push(held);
            (StatusCode::OK, "held".to_owned())
        }
        Mode::Normal | Mode::LoseAnswers(_) => {
            let receipt = inner
                .ledger
                .receive(held.provider.as_str(), verifier.as_ref(), &held.request())
                .await;
            let mut answered = receipt.status;
            if let (Mode::LoseAnswers(n), true) = (mode, receipt.status == 200) {
                let delivery = Delivery {
                    provider,
                    answered,
                    receipt: Some(receipt.clone()),
                };
                let seen = delivery.key().map_or(0, |key| {
                    lock(&inner.log)
                        .iter()
                        .filter(|d| d.provider == provider && d.key() == Some(key))
                        .count()
                });
                if seen < n {
                    answered = 500;
                }
            }
            let reason = receipt.reason.clone();
            inner.record(Delivery {
                provider,
                answered,
                receipt: Some(receipt),
            });
            (
                StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                reason,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_recognised_by_their_provider_prefix() {
        assert_eq!(webhook_provider("/hub2/webhook"), Some(Provider::Hub2));
        assert_eq!(
            webhook_provider("/paylican/webhook/secret-segment"),
            Some(Provider::Paylican)
        );
        assert_eq!(webhook_provider("/fintecture/return"), None);
        assert_eq!(webhook_provider("/stripe/webhook"), None);
        assert_eq!(webhook_provider("/"), None);
    }
}
