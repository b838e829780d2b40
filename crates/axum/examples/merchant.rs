//! A complete merchant service: the ledger (SQLite file by default, PostgreSQL by URL), the
//! webhook router of every configured provider, a checkout endpoint, Fintecture's redirect
//! return, the reconciler and the notification dispatcher, and a graceful shutdown on Ctrl-C.
//!
//! ```sh
//! # Against the local emulator (in another terminal: cargo run -p payments-cli -- sandbox --port 8787):
//! cargo run -p payments-axum --example merchant -- --sandbox http://127.0.0.1:8787
//! curl -X POST 'http://127.0.0.1:8080/checkout/hub2?reference=order-1&amount=5000&currency=XOF'
//! curl -X POST http://127.0.0.1:8787/_sandbox/hub2/payments/<payment_id>/pay
//!
//! # Against the providers: settings from the environment (see `Settings`), a public URL.
//! cargo run -p payments-axum --example merchant -- --db postgres://app@db/payments \
//!     --listen 0.0.0.0:8080 --public-url https://shop.example --trusted-proxy 10.0.0.0/8
//! ```
//!
//! Each provider is registered when its settings are present: its client goes to the reconciler
//! (and the checkout endpoint), its verifier to the router at `{public URL}/webhooks/{provider}`.
#![allow(clippy::print_stdout, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use clap::Parser;
use payments_axum::Webhooks;
use payments_axum::fintecture::RedirectReturn;
use payments_core::{CreatePayment, Currency, Money, PaymentProvider};
use payments_ledger::{Ledger, Providers, handler_fn};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The merchant service's command line.
#[derive(Debug, Parser)]
struct Args {
    /// The ledger: `sqlite://FILE` or `postgres://user@host/db`.
    #[arg(long, default_value = "sqlite://merchant.db")]
    db: String,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The URL the providers and payers reach this service at (default: http://LISTEN).
    #[arg(long)]
    public_url: Option<String>,
    /// A reverse proxy in front of this service whose X-Forwarded-For is believed (repeatable).
    #[arg(long)]
    trusted_proxy: Vec<String>,
    /// Configure all five providers against `payments sandbox` at this URL (and register the
    /// webhooks there) instead of from the environment.
    #[arg(long)]
    sandbox: Option<String>,
}

/// Provider settings by environment variable name, or filled in from `payments sandbox`.
struct Settings(HashMap<String, String>);

impl Settings {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
    }

    /// All of `names`, or `None` (with one line saying which are missing) when not all are set.
    fn all<const N: usize>(&self, provider: &str, names: [&str; N]) -> Option<[String; N]> {
        let values = names.map(|n| self.get(n));
        if values.iter().all(Option::is_some) {
            return Some(values.map(Option::unwrap_or_default));
        }
        let missing: Vec<&str> = names
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        println!(
            "{provider}: not configured (missing {})",
            missing.join(", ")
        );
        None
    }

    /// The settings `payments sandbox` announces at `GET /_sandbox`.
    async fn from_sandbox(sandbox: &str) -> Result<Settings, BoxError> {
        let info: serde_json::Value = serde_json::from_slice(
            &reqwest::get(format!("{sandbox}/_sandbox"))
                .await?
                .error_for_status()?
                .bytes()
                .await?,
        )?;
        let text = |pointer: &str| {
            let value = info.pointer(&format!("/providers/{pointer}"));
            value
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let mut s = HashMap::new();
        for (name, value) in [
            ("PAYCONIQ_API_KEY", "payconiq/api_key"),
            ("PAYCONIQ_PROFILE_ID", "payconiq/profile_id"),
            ("PAYCONIQ_BASE_URL", "payconiq/api_base_url"),
            ("PAYCONIQ_JWKS_URL", "payconiq/jwks_url"),
            ("FINTECTURE_APP_ID", "fintecture/app_id"),
            ("FINTECTURE_APP_SECRET", "fintecture/app_secret"),
            ("FINTECTURE_PRIVATE_KEY", "fintecture/private_key_pem"),
            ("FINTECTURE_BASE_URL", "fintecture/base_url"),
            ("HUB2_API_KEY", "hub2/headers/ApiKey"),
            ("HUB2_MERCHANT_ID", "hub2/headers/MerchantId"),
            ("HUB2_BASE_URL", "hub2/base_url"),
            ("BANQ_CLIENT_ID", "banq/open_api/client_id"),
            ("BANQ_USERNAME", "banq/open_api/username"),
            ("BANQ_PASSWORD", "banq/open_api/password"),
            ("BANQ_COMPANY_ID", "banq/company_id"),
            ("BANQ_API_BASE_URL", "banq/api_base_url"),
            ("BANQ_TOKEN_URL", "banq/token_url"),
            ("BANQ_DESTINATION_GUID", "banq/destination_banq_guid"),
            ("PAYLICAN_KEYCLOAK_URL", "paylican/keycloak_url"),
            ("PAYLICAN_PAYMENT_URL", "paylican/payment_url"),
            ("PAYLICAN_USERNAME", "paylican/username"),
            ("PAYLICAN_PASSWORD", "paylican/password"),
            ("PAYLICAN_REALM", "paylican/realm"),
            ("PAYLICAN_CLIENT_ID", "paylican/client_id"),
        ] {
            s.insert(name.to_string(), text(value));
        }
        for (name, value) in [
            // The sandbox's own status endpoint (Paylican documents none).
            (
                "PAYLICAN_STATUS_PATH",
                "/sandbox-extension/invoice/{invoiceId}",
            ),
            ("PAYLICAN_PAYMENT_TYPE", "SANDBOX"),
            ("PAYLICAN_CURRENCY", "GNF"),
            ("PAYLICAN_ALLOW_SOURCE", "127.0.0.1"),
            // URL secrets of the unsigned providers: use 32 random bytes for real.
            (
                "PAYLICAN_WEBHOOK_SECRET",
                "sandbox-paylican-url-secret-0123456789",
            ),
            (
                "BANQ_WEBHOOK_SECRET",
                "sandbox-banq-url-secret-0123456789abcd",
            ),
            ("SANDBOX_URL", sandbox),
        ] {
            s.insert(name.to_string(), value.to_string());
        }
        Ok(Settings(s))
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let args = Args::parse();
    let public = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let public = public.trim_end_matches('/');
    let settings = match &args.sandbox {
        Some(sandbox) => Settings::from_sandbox(sandbox).await?,
        None => Settings(HashMap::new()),
    };

    let ledger = Ledger::open(&args.db).await?;
    let mut webhooks = Webhooks::new(ledger.clone(), &format!("{public}/webhooks"))?
        .trusted_proxies(&args.trusted_proxy)?;
    let mut providers = Providers::new();
    let mut app = Router::new();

    // ---- The wiring: per provider, its verifier into the router, its client into the
    // ---- reconciler (and the checkout endpoint).
    if let Some((client, verifier)) = payconiq::setup(&settings, &webhooks).await? {
        webhooks = webhooks.provider("payconiq", verifier);
        providers = providers.with(client);
    }
    if let Some((client, verifier)) = fintecture::setup(&settings, &webhooks, public).await? {
        webhooks = webhooks.provider("fintecture", verifier);
        app = app.merge(
            RedirectReturn::new(ledger.clone(), client.clone()).router("/fintecture/return"),
        );
        providers = providers.with(client);
    }
    if let Some((client, verifier)) = hub2::setup(&settings, &webhooks).await? {
        webhooks = webhooks.provider("hub2", verifier);
        providers = providers.with(client);
    }
    if let Some((client, verifier)) = banq::setup(&settings, &webhooks).await? {
        webhooks = webhooks.provider("banq", verifier);
        providers = providers.with(client);
    }
    if let Some((client, verifier)) = paylican::setup(&settings, &webhooks).await? {
        webhooks = webhooks.provider_from_peer("paylican", move |request, peer| {
            verifier.verify_from(request, peer)
        });
        providers = providers.with(client);
    }
    // ---- End of the wiring.

    let checkout = Arc::new(Checkout {
        ledger: ledger.clone(),
        providers: providers.clone(),
        public: public.to_string(),
    });
    let app = app.merge(webhooks.router()?).merge(
        Router::new()
            .route("/checkout/{provider}", post(create))
            .with_state(checkout),
    );

    // The merchant's reaction to each change, at least once and in order per payment.
    let dispatcher = ledger.dispatcher(handler_fn(|change| async move {
        let p = &change.payment;
        if p.is_paid() {
            tracing::info!(provider = %p.provider, reference = %p.reference, "paid: ship the order");
        } else {
            tracing::info!(provider = %p.provider, reference = %p.reference, status = ?p.status, "payment changed");
        }
        Ok(())
    }));
    let reconciler = ledger.reconciler(providers);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let shutdown = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on {} as {public}; Ctrl-C stops", args.listen);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown());
    let ctrl_c = async move {
        let _ = tokio::signal::ctrl_c().await;
        println!("stopping: finishing the requests in flight");
        let _ = stop.send(true);
    };
    let (served, (), (), ()) = tokio::join!(
        server,
        reconciler.run(shutdown()),
        dispatcher.run(shutdown()),
        ctrl_c,
    );
    ledger.close().await;
    println!("stopped");
    Ok(served?)
}

/// What the checkout endpoint needs.
struct Checkout {
    ledger: Ledger,
    providers: Providers,
    public: String,
}

/// `POST /checkout/{provider}?reference=..&amount=<minor units>&currency=..`: the order's
/// payment, created once (asked again, the same checkout).
async fn create(
    State(c): State<Arc<Checkout>>,
    Path(provider): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    let Some(client) = c.providers.get(&provider) else {
        return (
            StatusCode::NOT_FOUND,
            format!("{provider} is not configured\n"),
        );
    };
    let (Some(reference), Some(amount), Some(currency)) = (
        q.get("reference"),
        q.get("amount").and_then(|a| a.parse::<i64>().ok()),
        q.get("currency").and_then(|c| Currency::from_code(c).ok()),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "reference, amount (minor units) and currency are required\n".into(),
        );
    };
    let mut order = CreatePayment::new(Money::from_minor(amount, currency), reference)
        .description("merchant example");
    match provider.as_str() {
        "fintecture" => order = order.return_url(format!("{}/fintecture/return", c.public)),
        "banq" => {} // a Banq payment link takes no return URL
        _ => order = order.return_url(format!("{}/orders/{reference}", c.public)),
    }
    match c.ledger.create_once(client.as_ref(), &order).await {
        Ok(created) => (
            StatusCode::OK,
            serde_json::json!({
                "payment_id": created.checkout.payment_id,
                "pay_at": created.checkout.redirect_url,
                "deeplink": created.checkout.deeplink,
                "status": created.payment.status,
            })
            .to_string(),
        ),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{e}\n")),
    }
}

/// A client for the reconciler and the checkout, and the webhook verifier.
type Setup<V> = Option<(Arc<dyn PaymentProvider>, V)>;

mod payconiq {
    use super::*;
    use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
    use payments_payconiq::webhook::WebhookSettings;
    use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig};

    /// `PAYCONIQ_API_KEY`, `PAYCONIQ_PROFILE_ID`; `PAYCONIQ_ENV=production` (default
    /// pre-production); `PAYCONIQ_BASE_URL` / `PAYCONIQ_JWKS_URL` to override.
    pub(super) async fn setup(
        s: &Settings,
        webhooks: &Webhooks,
    ) -> Result<Setup<JwksWebhookVerifier>, BoxError> {
        let Some([key, profile]) = s.all("payconiq", ["PAYCONIQ_API_KEY", "PAYCONIQ_PROFILE_ID"])
        else {
            return Ok(None);
        };
        let env = match s.get("PAYCONIQ_ENV").as_deref() {
            Some("production") => Environment::Production,
            _ => Environment::PreProduction,
        };
        // Payconiq signs the callback URL: every payment's callbackUrl is the router's.
        let callback = webhooks.url("payconiq");
        let mut config = PayconiqConfig::new(key, env).default_callback_url(&callback);
        if let Some(base) = s.get("PAYCONIQ_BASE_URL") {
            config = config.base_url(base);
        }
        let fetcher = match s.get("PAYCONIQ_JWKS_URL") {
            Some(url) => JwksFetcher::new(&url, &JwksFetcher::default_http())?,
            None => JwksFetcher::for_environment(env)?,
        };
        let verifier = JwksWebhookVerifier::new(WebhookSettings::new(profile, callback), fetcher);
        Ok(Some((Arc::new(PayconiqClient::new(config)?), verifier)))
    }
}

mod fintecture {
    use super::*;
    use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
    use payments_fintecture::{Environment, FintectureClient, FintectureConfig};

    /// `FINTECTURE_APP_ID`, `FINTECTURE_APP_SECRET`, `FINTECTURE_PRIVATE_KEY_FILE` (PEM) or
    /// `FINTECTURE_PRIVATE_KEY`; `FINTECTURE_ENV=production` (default sandbox);
    /// `FINTECTURE_BASE_URL` to override. The webhook URL is set in Fintecture's console.
    pub(super) async fn setup(
        s: &Settings,
        webhooks: &Webhooks,
        public: &str,
    ) -> Result<Option<(Arc<FintectureClient>, FintectureWebhookVerifier)>, BoxError> {
        let Some([app_id, secret]) =
            s.all("fintecture", ["FINTECTURE_APP_ID", "FINTECTURE_APP_SECRET"])
        else {
            return Ok(None);
        };
        let pem = match (
            s.get("FINTECTURE_PRIVATE_KEY"),
            s.get("FINTECTURE_PRIVATE_KEY_FILE"),
        ) {
            (Some(pem), _) => pem,
            (None, Some(file)) => std::fs::read_to_string(file)?,
            (None, None) => {
                println!("fintecture: not configured (missing FINTECTURE_PRIVATE_KEY_FILE)");
                return Ok(None);
            }
        };
        let env = match s.get("FINTECTURE_ENV").as_deref() {
            Some("production") => Environment::Production,
            _ => Environment::Sandbox,
        };
        let mut config = FintectureConfig::new(&app_id, secret, pem, env)
            .default_redirect_uri(format!("{public}/fintecture/return"));
        if let Some(base) = s.get("FINTECTURE_BASE_URL") {
            config = config.base_url(base);
        }
        set_console_url(s, "fintecture", &webhooks.url("fintecture")).await?;
        let client = Arc::new(FintectureClient::new(config)?);
        let verifier =
            FintectureWebhookVerifier::new(WebhookSettings::new(&app_id, client.private_key()));
        Ok(Some((client, verifier)))
    }
}

mod hub2 {
    use super::*;
    use payments_core::secret::ExposeSecret;
    use payments_hub2::webhook::Hub2WebhookVerifier;
    use payments_hub2::{CreateWebhookRequest, Environment, Hub2Client, Hub2Config};

    /// `HUB2_API_KEY`, `HUB2_MERCHANT_ID`, `HUB2_WEBHOOK_SECRET` (what registering the webhook
    /// URL answered); `HUB2_ENV=live` (default sandbox); `HUB2_BASE_URL` to override (then the
    /// webhook is registered at start, as against `payments sandbox`).
    pub(super) async fn setup(
        s: &Settings,
        webhooks: &Webhooks,
    ) -> Result<Setup<Hub2WebhookVerifier>, BoxError> {
        let Some([key, merchant]) = s.all("hub2", ["HUB2_API_KEY", "HUB2_MERCHANT_ID"]) else {
            return Ok(None);
        };
        let env = match s.get("HUB2_ENV").as_deref() {
            Some("live") => Environment::Live,
            _ => Environment::Sandbox,
        };
        let mut config = Hub2Config::new(key, merchant, env);
        if let Some(base) = s.get("HUB2_BASE_URL") {
            config = config.base_url(base);
        }
        let client = Hub2Client::new(config)?;
        let secret = match s.get("HUB2_WEBHOOK_SECRET") {
            Some(secret) => secret,
            None if s.get("HUB2_BASE_URL").is_some() => {
                let events = [
                    "payment_intent.succeeded",
                    "payment_intent.payment_required",
                    "payment.action_required",
                    "payment.succeeded",
                    "payment.failed",
                ];
                let registered = client
                    .create_webhook(&CreateWebhookRequest::new(webhooks.url("hub2"), events))
                    .await?;
                let secret = registered.secret.ok_or("HUB2 answered no webhook secret")?;
                secret.expose_secret().to_string()
            }
            None => {
                println!("hub2: not configured (missing HUB2_WEBHOOK_SECRET)");
                return Ok(None);
            }
        };
        Ok(Some((Arc::new(client), Hub2WebhookVerifier::new(secret)?)))
    }
}

mod banq {
    use super::*;
    use payments_banq::webhook::WebhookReceiver;
    use payments_banq::{
        BanqClient, BanqConfig, MerchantUserCredentials, OpenApiCredentials, WebhookConfigRequest,
    };
    use payments_core::webhook::UrlSecretGuard;

    /// `BANQ_CLIENT_ID`, `BANQ_USERNAME`, `BANQ_PASSWORD`, `BANQ_COMPANY_ID`,
    /// `BANQ_DESTINATION_GUID`, `BANQ_WEBHOOK_SECRET` (the `token` of the registered URL);
    /// `BANQ_API_BASE_URL` / `BANQ_TOKEN_URL` to override. The webhook URL is registered
    /// (`webhook-config`) at start.
    pub(super) async fn setup(
        s: &Settings,
        webhooks: &Webhooks,
    ) -> Result<Setup<WebhookReceiver>, BoxError> {
        let names = [
            "BANQ_CLIENT_ID",
            "BANQ_USERNAME",
            "BANQ_PASSWORD",
            "BANQ_COMPANY_ID",
        ];
        let more = ["BANQ_DESTINATION_GUID", "BANQ_WEBHOOK_SECRET"];
        let (Some([client_id, user, password, company]), Some([guid, token])) =
            (s.all("banq", names), s.all("banq", more))
        else {
            return Ok(None);
        };
        let mut config = BanqConfig::new(
            company,
            OpenApiCredentials::new(&client_id, &user, &password),
        )
        .merchant_user(MerchantUserCredentials::new(&user, &password))
        .default_destination(&guid);
        if let (Some(api), Some(token_url)) = (s.get("BANQ_API_BASE_URL"), s.get("BANQ_TOKEN_URL"))
        {
            config = config.api_base_url(api).token_url(token_url);
        }
        let client = BanqClient::new(config)?;
        let url = format!("{}?token={token}", webhooks.url("banq"));
        client
            .setup_webhooks(&guid, &WebhookConfigRequest::new(url))
            .await?;
        let receiver =
            WebhookReceiver::new().with_guard(UrlSecretGuard::query_param("token", token)?);
        Ok(Some((Arc::new(client), receiver)))
    }
}

mod paylican {
    use super::*;
    use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
    use payments_paylican::{PaylicanClient, PaylicanConfig};

    /// `PAYLICAN_KEYCLOAK_URL`, `PAYLICAN_PAYMENT_URL`, `PAYLICAN_USERNAME`,
    /// `PAYLICAN_PASSWORD`, `PAYLICAN_WEBHOOK_SECRET` (the `token` of the URL given at
    /// onboarding), `PAYLICAN_ALLOW_SOURCE` (Paylican's addresses, comma-separated); optional
    /// `PAYLICAN_REALM`, `PAYLICAN_CLIENT_ID`, `PAYLICAN_STATUS_PATH`, `PAYLICAN_PAYMENT_TYPE`,
    /// `PAYLICAN_CURRENCY`.
    pub(super) async fn setup(
        s: &Settings,
        webhooks: &Webhooks,
    ) -> Result<Setup<PaylicanWebhookVerifier>, BoxError> {
        let names = [
            "PAYLICAN_KEYCLOAK_URL",
            "PAYLICAN_PAYMENT_URL",
            "PAYLICAN_USERNAME",
            "PAYLICAN_PASSWORD",
        ];
        let guards = ["PAYLICAN_WEBHOOK_SECRET", "PAYLICAN_ALLOW_SOURCE"];
        let (Some([keycloak, payment, user, password]), Some([token, sources])) =
            (s.all("paylican", names), s.all("paylican", guards))
        else {
            return Ok(None);
        };
        let mut config = PaylicanConfig::new(keycloak, payment, user, password);
        if let Some(realm) = s.get("PAYLICAN_REALM") {
            config = config.realm(realm);
        }
        if let Some(id) = s.get("PAYLICAN_CLIENT_ID") {
            config = config.client_id(id);
        }
        if let Some(path) = s.get("PAYLICAN_STATUS_PATH") {
            config = config.status_path(path);
        }
        if let Some(kind) = s.get("PAYLICAN_PAYMENT_TYPE") {
            config = config.payment_type(kind);
        }
        let currency =
            Currency::from_code(&s.get("PAYLICAN_CURRENCY").unwrap_or_else(|| "GNF".into()))?;
        let mut guard = WebhookGuards::new().secret_in_query("token", &token)?;
        for source in sources.split(',') {
            guard = guard.allow_source(source.trim())?;
        }
        let url = format!("{}?token={token}", webhooks.url("paylican"));
        set_console_url(s, "paylican", &url).await?;
        let client = PaylicanClient::new(config.currency(currency))?;
        let verifier = PaylicanWebhookVerifier::new(guard).currency(currency);
        Ok(Some((Arc::new(client), verifier)))
    }
}

/// Against `payments sandbox`: sets `provider`'s console webhook URL (Fintecture and Paylican
/// take it in their console or at onboarding, not through the API).
async fn set_console_url(s: &Settings, provider: &str, url: &str) -> Result<(), BoxError> {
    let Some(sandbox) = s.0.get("SANDBOX_URL") else {
        return Ok(());
    };
    reqwest::Client::new()
        .put(format!("{sandbox}/_sandbox/{provider}/webhook-url"))
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "url": url }).to_string())
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
