//! A local webhook receiver: accepts any request on 127.0.0.1 and keeps it, byte for byte.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use payments_core::webhook::WebhookRequest;
use tokio::sync::Notify;

/// A request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    /// Full URL as the sender addressed it (`http://127.0.0.1:PORT/path?query`).
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    pub(crate) peer: SocketAddr,
}

impl Received {
    /// The request as provider verifiers take it.
    pub(crate) fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest::new(&self.method, &self.url, &self.body).headers(
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_slice())),
        )
    }

    /// The path and query the sender used.
    pub(crate) fn path(&self) -> &str {
        self.url
            .find("://")
            .and_then(|i| self.url.get(i + 3..))
            .and_then(|rest| rest.find('/').and_then(|j| rest.get(j..)))
            .unwrap_or("/")
    }
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    changed: Notify,
}

/// The running receiver.
pub(crate) struct Receiver {
    base_url: String,
    inbox: Arc<Inbox>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub(crate) async fn start() -> Result<Receiver, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("webhook receiver: cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("webhook receiver: {e}"))?;
        let base_url = format!("http://{addr}");
        let inbox = Arc::new(Inbox::default());
        let state = (inbox.clone(), base_url.clone());
        let app = Router::new().fallback(receive).with_state(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(Receiver {
            base_url,
            inbox,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:PORT` + `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Waits for a request matching `pred`; `None` after `timeout`.
    pub(crate) async fn wait(
        &self,
        pred: impl Fn(&Received) -> bool,
        timeout: Duration,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inbox.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found = self
                .inbox
                .received
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .find(|r| pred(r))
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

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(
    State((inbox, base_url)): State<(Arc<Inbox>, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let received = Received {
        method: method.as_str().to_owned(),
        url: format!("{base_url}{path}"),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
        body: body.to_vec(),
        peer,
    };
    inbox
        .received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(received);
    inbox.changed.notify_waiters();
    StatusCode::OK
}
