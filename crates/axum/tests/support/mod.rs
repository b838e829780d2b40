//! What the router's tests share: a SQLite ledger per test, the router served on 127.0.0.1
//! with the peer address, an HTTP client for replays, and the log lines written meanwhile.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use payments_ledger::{HistoryEntry, Ledger, LedgerOptions, LedgerPayment, Source};
use payments_sandbox::{DeliveryRecord, DeliveryState, RunningSandbox};

pub use payments_test_support::{fast_http, start_sandbox};

/// A fresh SQLite file, deleted afterwards.
pub struct TestDb {
    pub url: String,
    path: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!(
            "payments_axum_{}_{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        TestDb {
            url: format!("sqlite://{}", path.display()),
            path,
        }
    }

    pub async fn open(&self, options: LedgerOptions) -> Ledger {
        Ledger::open_with(&self.url, options)
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// A listener on 127.0.0.1 whose address is known before the router is built (the public URL
/// names it).
pub struct Server {
    pub listener: Option<tokio::net::TcpListener>,
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    pub async fn bind() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        Server {
            listener: Some(listener),
            base,
            stop: None,
        }
    }

    /// Serves `app` as a merchant must: with the peer address.
    pub fn serve(&mut self, app: Router) {
        let listener = self.listener.take().expect("served once");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An HTTP client that follows no redirect.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Posts `body` to `url` with `headers`; the status and the answer's text.
pub async fn post(url: &str, headers: &[(String, String)], body: Vec<u8>) -> (u16, String) {
    let mut request = http().post(url).body(body);
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("host") {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Sends `delivery` again, exactly as the provider did, with `body` instead of its own.
pub async fn replay_with(delivery: &DeliveryRecord, body: Vec<u8>) -> (u16, String) {
    post(&delivery.url, &delivery.headers, body).await
}

/// Sends `delivery` again, exactly as the provider did.
pub async fn replay(delivery: &DeliveryRecord) -> (u16, String) {
    replay_with(delivery, delivery.body.clone().into_bytes()).await
}

/// `delivery`'s body with the byte at `at` changed.
pub fn tampered(delivery: &DeliveryRecord, at: usize) -> Vec<u8> {
    let mut bytes = delivery.body.clone().into_bytes();
    let b = bytes.get_mut(at).expect("a byte to change");
    *b = if *b == b'0' { b'1' } else { b'0' };
    bytes
}

/// Every delivery about `payment_id` once none is pending any more (at least `n` of them).
pub async fn settled_deliveries(
    sandbox: &RunningSandbox,
    payment_id: &str,
    n: usize,
) -> Vec<DeliveryRecord> {
    for _ in 0..500 {
        let about: Vec<DeliveryRecord> = sandbox
            .deliveries()
            .into_iter()
            .filter(|d| d.payment_id == payment_id)
            .collect();
        if about.len() >= n && about.iter().all(|d| d.state != DeliveryState::Pending) {
            return about;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "deliveries about {payment_id} did not settle: {:?}",
        sandbox.deliveries()
    );
}

/// Asserts the router answered every attempt of every delivery 200, the first time.
pub fn answered_200_at_first_attempt(deliveries: &[DeliveryRecord]) {
    for d in deliveries {
        let statuses: Vec<Option<u16>> = d.attempts.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses,
            vec![Some(200)],
            "delivery {} ({}) was answered {statuses:?}",
            d.id,
            d.event
        );
        assert_eq!(d.state, DeliveryState::Delivered);
    }
}

/// The webhook entries of a payment's history.
pub fn webhook_entries(history: &[HistoryEntry]) -> Vec<&HistoryEntry> {
    history
        .iter()
        .filter(|h| h.source == Source::Webhook)
        .collect()
}

/// Asserts each webhook event in `history` appears once.
pub fn each_event_once(history: &[HistoryEntry]) {
    let mut keys: Vec<&str> = webhook_entries(history)
        .iter()
        .filter_map(|h| h.event_key.as_deref())
        .collect();
    let all = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), all, "an event applied twice: {history:#?}");
}

/// Waits until the ledger holds `reference` at `provider` in a final status.
pub async fn final_payment(ledger: &Ledger, provider: &str, reference: &str) -> LedgerPayment {
    for _ in 0..500 {
        let payment = ledger.payment(provider, reference).await.unwrap().unwrap();
        if payment.status.is_final() {
            return payment;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{provider} {reference} never became final");
}

/// The standard refusals, checked on `provider`'s route with a real delivery of it: oversized
/// (413), wrong content type (415), unknown provider path (404), and the same delivery again
/// (200, duplicate).
pub async fn standard_refusals(delivery: &DeliveryRecord, webhooks_base: &str) {
    let (status, text) = post(
        &delivery.url,
        &delivery.headers,
        vec![b' '; payments_axum::DEFAULT_BODY_LIMIT + 1],
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (413, "body larger than 262144 bytes\n")
    );

    let mut headers: Vec<(String, String)> = delivery
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-type"))
        .cloned()
        .collect();
    headers.push(("Content-Type".into(), "text/plain".into()));
    let (status, text) = post(&delivery.url, &headers, delivery.body.clone().into_bytes()).await;
    assert_eq!(status, 415, "{text}");
    assert!(
        text.starts_with("content type text/plain not accepted"),
        "{text}"
    );

    let (status, text) = post(
        &format!("{webhooks_base}/stripe"),
        &delivery.headers,
        delivery.body.clone().into_bytes(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (404, "no webhook endpoint for provider stripe\n")
    );

    let (status, text) = replay(delivery).await;
    assert_eq!(
        (status, text.as_str()),
        (200, "duplicate; already stored\n"),
        "the same delivery again"
    );
}

/// Every line written to the log by any test of this binary.
pub fn logs() -> String {
    String::from_utf8_lossy(&capture().lock().unwrap()).into_owned()
}

fn capture() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

/// Installs the log capture (once per test binary).
pub fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let sink = Arc::clone(capture());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || Writer(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts no log line holds any of `never` (bodies, signatures, secrets), and that the
/// router's span reported `provider`'s deliveries.
pub fn logs_hold_no(provider: &str, never: &[&str]) {
    let logs = logs();
    for secret in never {
        assert!(!secret.is_empty());
        assert!(!logs.contains(secret), "the log holds {secret:?}:\n{logs}");
    }
    assert!(
        logs.contains(&format!("webhook{{provider={provider} event_key=")),
        "no span for {provider}:\n{logs}"
    );
}
