//! Headless Chromium pays once through each provider's payer page in the sandbox.
//!
//! For each of the five providers: the provider's own client creates a payment through
//! `payments-ledger`'s `create_once`; Chromium opens the checkout URL the provider returned and
//! clicks what a payer clicks (Pay; for HUB2, Orange Money and the one-time code on the
//! sandbox's stand-in for the merchant's page); the browser must end where the provider sends
//! the payer (the merchant's return URL, here the sandbox's sink, or Banq's completion page),
//! and the ledger must reach `succeeded` — through its reconciler (`reconcile_once` with the
//! provider's client) or, for HUB2, whose intents may only be polled while in progress, through
//! its webhook inbox with the delivery the sandbox signed.
//!
//! Needs `chromium` and `chromium-driver` (Debian): skipped with one printed line without them,
//! unless `PAYMENTS_REQUIRE_BROWSER=1`. `PAYMENTS_BROWSER_SCREENSHOTS=<dir>` saves a screenshot
//! of each page on the way.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use payments_conformance::sandbox::SandboxHarness;
use payments_conformance::sandbox::banq::BanqSandboxHarness;
use payments_conformance::sandbox::fintecture::FintectureSandboxHarness;
use payments_conformance::sandbox::payconiq::PayconiqSandboxHarness;
use payments_conformance::sandbox::paylican::PaylicanSandboxHarness;
use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::secret::ExposeSecret;
use payments_core::webhook::WebhookRequest;
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_hub2::{CreateWebhookRequest, Environment, Hub2Client, Hub2Config};
use payments_ledger::{CheckPolicy, Ledger, LedgerOptions, Providers};
use payments_sandbox::{Provider, RunningSandbox, Sandbox};

/// How long any one step (a page load, a redirect, the ledger catching up) may take.
const WAIT: Duration = Duration::from_secs(20);

/// Chromium's flags: headless, and none of its background connections (this machine's network
/// is closed; they would only slow every page down).
const CHROMIUM_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// `name` from the environment, else the first of `candidates` that exists.
fn binary(variable: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Chromium and chromedriver, or why the test cannot run.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium = binary(
        "CHROMIUM",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    )
    .ok_or("no Chromium (install Debian's `chromium`, or set CHROMIUM)")?;
    let driver = binary(
        "CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    )
    .ok_or("no chromedriver (install Debian's `chromium-driver`, or set CHROMEDRIVER)")?;
    Ok((chromium, driver))
}

/// A scratch directory of this run (Chromium's fresh profile, chromedriver's log, the ledger).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "payments-browser-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// chromedriver on a free port of 127.0.0.1, stopped when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start(driver: &Path, log: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not listen on {port} (log: {})",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Driver {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new browser session: headless Chromium with a fresh profile.
    async fn session(&self, chromium: &Path, profile: &Path) -> Client {
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("no Chromium session through chromedriver: {e}"))
    }
}

fn http() -> HttpConfig {
    HttpConfig::default()
        .request_timeout(Duration::from_secs(5))
        .retry(RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(50)))
}

/// The merchant's return URL for `provider`: the sandbox's sink, which answers 200.
fn return_url(sandbox: &RunningSandbox, provider: Provider) -> String {
    format!(
        "{}/_sandbox/sink/shop/{provider}/return?order=42",
        sandbox.base_url()
    )
}

fn webhook_sink(sandbox: &RunningSandbox, provider: Provider) -> String {
    format!("{}/_sandbox/sink/hooks/{provider}", sandbox.base_url())
}

/// What a failed step leaves to look at: where the browser is, and the page's text.
async fn describe(browser: &Client) -> String {
    let url = browser
        .current_url()
        .await
        .map_or_else(|e| format!("<{e}>"), |u| u.to_string());
    let source = browser.source().await.unwrap_or_default();
    let cut: String = source.chars().take(1500).collect();
    format!("the browser is at {url}:\n{cut}")
}

/// Saves what the browser shows as `{dir}/{name}.png` when `PAYMENTS_BROWSER_SCREENSHOTS` names
/// a directory (to look at the pages; nothing is saved otherwise).
async fn screenshot(browser: &Client, name: &str) {
    let Some(dir) = std::env::var_os("PAYMENTS_BROWSER_SCREENSHOTS") else {
        return;
    };
    let png = browser.screenshot().await.unwrap();
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Clicks the element with `id` once it is there.
async fn click(browser: &Client, id: &str) {
    let element = browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id(id))
        .await;
    match element {
        Ok(element) => element.click().await.unwrap(),
        Err(e) => panic!("no #{id} ({e}); {}", describe(browser).await),
    }
}

/// Waits until the browser's URL satisfies `landed`.
async fn wait_for_url(browser: &Client, what: &str, landed: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.unwrap().to_string();
        if landed(&url) {
            return url;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("never reached {what}; {}", describe(browser).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the reconciler until the ledger holds `reference` of `provider` as succeeded.
async fn reconciled(ledger: &Ledger, client: Arc<dyn PaymentProvider>, reference: &str) {
    let name = client.name();
    let providers = Providers::new().with(client);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        ledger.reconcile_once(&providers).await.unwrap();
        let payment = ledger.payment(name, reference).await.unwrap().unwrap();
        if payment.status == PaymentStatus::Succeeded {
            assert!(payment.is_paid(), "{payment:?}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ledger never saw {name} {reference} succeed: {payment:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A provider whose page ends on the merchant's return URL (or Banq's completion page) and
/// whose payment the reconciler fetches.
async fn pay_through_page(
    browser: &Client,
    sandbox: &RunningSandbox,
    ledger: &Ledger,
    harness: &dyn SandboxHarness,
    amount: i64,
) {
    let provider = harness.provider();
    let hooks = webhook_sink(sandbox, provider);
    let client: Arc<dyn PaymentProvider> = Arc::from(harness.client(sandbox, http(), &hooks).await);
    let back = return_url(sandbox, provider);
    let mut order = harness.create_request(amount, &hooks);
    if provider != Provider::Banq {
        // Banq's links take no return URL (the client refuses one).
        order = order.return_url(back.clone());
    }
    let created = ledger.create_once(client.as_ref(), &order).await.unwrap();
    let checkout = created
        .checkout
        .redirect_url
        .unwrap_or_else(|| panic!("{provider} returned no checkout URL"));
    browser.goto(&checkout).await.unwrap();
    screenshot(browser, &format!("{provider}-1-page")).await;
    click(browser, "pay").await;
    match provider {
        Provider::Banq => {
            // No return URL: the link page says the payment is completed.
            let outcome = browser
                .wait()
                .at_most(WAIT)
                .for_element(Locator::Id("outcome"))
                .await
                .unwrap();
            let text = outcome.text().await.unwrap();
            assert!(text.contains("completed"), "Banq's page says `{text}`");
        }
        Provider::Fintecture => {
            // Fintecture's redirect: redirect_uri with session_id, status, provider, state.
            let landed = wait_for_url(browser, "the redirect_uri", |u| u.starts_with(&back)).await;
            let id = &created.checkout.payment_id;
            for part in [
                format!("session_id={id}"),
                "status=payment_created".to_owned(),
                "state=".to_owned(),
            ] {
                assert!(landed.contains(&part), "{landed} lacks {part}");
            }
        }
        _ => {
            wait_for_url(browser, "the return URL", |u| u == back).await;
        }
    }
    screenshot(browser, &format!("{provider}-2-end")).await;
    reconciled(ledger, client, &order.reference).await;
}

/// HUB2: the sandbox's stand-in for the merchant's payer page runs an Orange Money attempt and
/// its one-time code; the ledger learns of it through its webhook inbox.
async fn pay_hub2(browser: &Client, sandbox: &RunningSandbox, ledger: &Ledger) {
    let back = return_url(sandbox, Provider::Hub2);
    let template = sandbox.hub2().payer_page_url;
    let mut query = String::new();
    for byte in back.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            query.push(char::from(byte));
        } else {
            query.push_str(&format!("%{byte:02X}"));
        }
    }
    let credentials = sandbox.credentials();
    let client = Hub2Client::new(
        Hub2Config::new(
            credentials.hub2_api_key.clone(),
            credentials.hub2_merchant_id.clone(),
            Environment::Sandbox,
        )
        .base_url(sandbox.provider_url(Provider::Hub2))
        .payer_page_url(format!("{template}?return_url={query}"))
        .http(http()),
    )
    .unwrap();
    let hooks = webhook_sink(sandbox, Provider::Hub2);
    let webhook = client
        .create_webhook(&CreateWebhookRequest::new(
            &hooks,
            ["payment_intent.succeeded"],
        ))
        .await
        .unwrap();
    let secret = webhook.secret.unwrap().expose_secret().to_owned();
    let order = CreatePayment::new(Money::from_minor(7_000, Currency::XOF), "order-7000");
    let created = ledger.create_once(&client, &order).await.unwrap();
    let intent = created.checkout.payment_id.clone();
    browser
        .goto(&created.checkout.redirect_url.unwrap())
        .await
        .unwrap();
    screenshot(browser, "hub2-1-page").await;
    click(browser, "orange").await;
    let code = browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id("code"))
        .await
        .unwrap_or_else(|e| panic!("no code field: {e}"));
    code.send_keys(payments_sandbox::SANDBOX_OTP).await.unwrap();
    screenshot(browser, "hub2-2-code").await;
    click(browser, "otp").await;
    wait_for_url(browser, "the return URL", |u| u == back).await;

    let delivery = sandbox
        .wait_for_delivery(
            |d| d.payment_id == intent && d.event == "payment_intent.succeeded",
            WAIT,
        )
        .await
        .expect("HUB2's payment_intent.succeeded webhook");
    let request = WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
        delivery
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    let receipt = ledger
        .receive("hub2", &Hub2WebhookVerifier::new(secret).unwrap(), &request)
        .await;
    assert_eq!(receipt.status, 200, "{receipt:?}");
    let payment = ledger.payment("hub2", "order-7000").await.unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded, "{payment:?}");
    assert!(payment.is_paid(), "{payment:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_pays_through_every_provider_page_and_the_ledger_sees_it_succeed() {
    let required = std::env::var("PAYMENTS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let (chromium, driver) = match browser() {
        Ok(found) => found,
        Err(why) => {
            assert!(!required, "PAYMENTS_REQUIRE_BROWSER=1 but {why}");
            #[allow(clippy::print_stdout)] // the one line saying why, in the test's output
            {
                println!("skipped the browser test: {why}");
            }
            return;
        }
    };
    let scratch = Scratch::new();
    let driver = Driver::start(&driver, &scratch.path("chromedriver.log")).await;
    let browser = driver.session(&chromium, &scratch.path("profile")).await;

    let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
    let mut options = LedgerOptions::default();
    for provider in Provider::ALL {
        let name = provider.as_str();
        options = options.policy(
            name,
            CheckPolicy::for_provider(name)
                .eager(Duration::from_millis(50))
                .min_interval(Duration::ZERO),
        );
    }
    let database = format!("sqlite://{}", scratch.path("ledger.db").display());
    let ledger = Ledger::open_with(&database, options).await.unwrap();

    // Amounts that are no magic amount (see payments_sandbox::magic): the payer alone decides.
    pay_through_page(&browser, &sandbox, &ledger, &PayconiqSandboxHarness, 1_200).await;
    let fintecture = FintectureSandboxHarness {
        return_url: return_url(&sandbox, Provider::Fintecture),
    };
    pay_through_page(&browser, &sandbox, &ledger, &fintecture, 2_300).await;
    pay_through_page(
        &browser,
        &sandbox,
        &ledger,
        &BanqSandboxHarness::default(),
        3_400,
    )
    .await;
    pay_through_page(
        &browser,
        &sandbox,
        &ledger,
        &PaylicanSandboxHarness::default(),
        4_500,
    )
    .await;
    pay_hub2(&browser, &sandbox, &ledger).await;

    browser.close().await.unwrap();
    ledger.close().await;
    sandbox.shutdown().await;
}
