//! Starting, driving and stopping a sandbox.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::SandboxBuilder;
use crate::control::PayerAction;
use crate::deliveries::DeliveryRecord;
use crate::faults::{FaultRule, RequestRecord};
use crate::keys::SandboxKeys;
use crate::{
    BanqConnection, ControlError, Credentials, FintectureConnection, Hub2Connection,
    PayconiqConnection, PaylicanConnection, Provider, SandboxError, providers,
};

/// Entry point: [`Sandbox::start`] for the defaults, [`Sandbox::builder`] to configure.
#[derive(Debug, Clone, Copy)]
pub struct Sandbox;

impl Sandbox {
    /// A builder with the defaults: 127.0.0.1, ephemeral port, real time, default credentials.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox with the defaults.
    pub async fn start() -> Result<RunningSandbox, SandboxError> {
        SandboxBuilder::default().start().await
    }
}

/// A started sandbox. Dropping it stops the server; [`RunningSandbox::shutdown`] stops it and
/// waits.
pub struct RunningSandbox {
    app: App,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

pub(crate) async fn start(builder: SandboxBuilder) -> Result<RunningSandbox, SandboxError> {
    let listener = TcpListener::bind(builder.addr)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: builder.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: builder.addr,
        source,
    })?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let base_url = format!("http://{host}:{}", addr.port());
    let keys = SandboxKeys::generate(&builder)?;
    let webhook_client = reqwest::Client::builder()
        .timeout(builder.webhook_timeout)
        .build()
        .map_err(|e| SandboxError::Client(e.to_string()))?;
    let loopback_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SandboxError::Client(e.to_string()))?;
    let app = App::new(&builder, base_url, keys, webhook_client, loopback_client);
    let router = crate::control::router()
        .merge(providers::router())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::faults::middleware,
        ))
        .with_state(app.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "sandbox server stopped");
        }
    });
    tracing::info!(%addr, "sandbox listening");
    Ok(RunningSandbox {
        app,
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningSandbox {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.app.base_url
    }

    /// The base URL to configure `provider`'s client with (`http://127.0.0.1:PORT/payconiq`).
    pub fn provider_url(&self, provider: Provider) -> String {
        self.app.provider_url(provider)
    }

    /// The credentials the sandbox accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.app.credentials
    }

    /// The keys the sandbox generated.
    pub fn keys(&self) -> &SandboxKeys {
        &self.app.keys
    }

    /// Everything a client needs, per provider: base URLs, token URLs, credentials, keys, as the
    /// JSON of `GET /_sandbox` (for a person, or a process that reads it over HTTP). In Rust,
    /// prefer the typed [`payconiq`](Self::payconiq), [`fintecture`](Self::fintecture),
    /// [`hub2`](Self::hub2), [`banq`](Self::banq) and [`paylican`](Self::paylican).
    pub fn info(&self) -> Value {
        info(&self.app)
    }

    /// What a Payconiq client needs: the API base URL, the API key, the callback key set.
    pub fn payconiq(&self) -> PayconiqConnection {
        providers::payconiq::connection(&self.app)
    }

    /// What a Fintecture client needs: the base URL, the application id, secret and keys.
    pub fn fintecture(&self) -> FintectureConnection {
        providers::fintecture::connection(&self.app)
    }

    /// What a HUB2 client needs: the base URL, the merchant headers, the stand-in payer page.
    pub fn hub2(&self) -> Hub2Connection {
        providers::hub2::connection(&self.app)
    }

    /// What a Banq client needs: the API and token URLs, both logins, the company and the
    /// receiving account.
    pub fn banq(&self) -> BanqConnection {
        providers::banq::connection(&self.app)
    }

    /// What a Paylican client needs: the Keycloak and Payment URLs, the realm, the login, the
    /// sandbox's status extension.
    pub fn paylican(&self) -> PaylicanConnection {
        providers::paylican::connection(&self.app)
    }

    /// The simulated payer acts on a payment; returns the provider's view of it afterwards.
    pub async fn act(
        &self,
        provider: Provider,
        payment_id: &str,
        action: PayerAction,
    ) -> Result<Value, ControlError> {
        providers::act(&self.app, provider, payment_id, action).await
    }

    /// The provider's view of every payment created so far, in creation order.
    pub fn payments(&self, provider: Provider) -> Vec<Value> {
        providers::payments(&self.app, provider)
    }

    /// Sets (or with `None` clears) the console-configured webhook URL of `provider`.
    pub fn set_webhook_url(&self, provider: Provider, url: Option<String>) {
        self.app.set_webhook_url(provider, url);
    }

    /// The console-configured webhook URL of `provider`, if set.
    pub fn webhook_url(&self, provider: Provider) -> Option<String> {
        self.app.webhook_url(provider)
    }

    /// Adds a fault rule (rules are tried in the order added).
    pub fn add_fault(&self, rule: FaultRule) {
        self.app.faults.add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.app.faults.clear();
    }

    /// Provider requests received so far, in order (faulted ones included).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.faults.requests()
    }

    /// Every webhook delivery so far.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.deliveries.all()
    }

    /// Waits until a delivery matching `pred` is delivered or given up; `None` after `timeout`.
    pub async fn wait_for_delivery(
        &self,
        pred: impl Fn(&DeliveryRecord) -> bool,
        timeout: Duration,
    ) -> Option<DeliveryRecord> {
        self.app.deliveries.wait_for(pred, timeout).await
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub(crate) fn info(app: &App) -> Value {
    let mut providers_info = serde_json::Map::new();
    for p in Provider::ALL {
        providers_info.insert(p.as_str().to_owned(), providers::info(app, p));
    }
    json!({
        "base_url": app.base_url,
        "time_divisor": app.time_divisor,
        "otp": crate::control::SANDBOX_OTP,
        "providers": providers_info,
    })
}
