//! Each provider's sandbox deliveries through the router into the ledger (SQLite): the payer
//! pays, the sandbox delivers to the router served on 127.0.0.1, and the ledger holds the
//! payment final with each event applied once; the sandbox recorded a 200 for every attempt.
//! Then, with a real delivery of that provider: tampered (one body byte changed), replayed,
//! oversized, wrong content type, unknown provider path. One test per provider.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use payments_axum::Webhooks;
use payments_axum::fintecture::RedirectReturn;
use payments_banq::WebhookConfigRequest;
use payments_banq::webhook::WebhookReceiver;
use payments_conformance::sandbox::banq::banq_client;
use payments_conformance::sandbox::fintecture::FintectureSandboxHarness;
use payments_conformance::sandbox::hub2::EVENTS;
use payments_conformance::sandbox::paylican::PaylicanSandboxHarness;
use payments_core::secret::ExposeSecret;
use payments_core::webhook::{Authenticity, UrlSecretGuard};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use payments_fintecture::FintectureClient;
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
use payments_hub2::CreateWebhookRequest;
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_ledger::{CheckPolicy, Ledger, LedgerOptions, Providers, Source, Verdict};
use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig};
use payments_paylican::PaylicanClient;
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_sandbox::hooks::ProviderHooks as _;
use payments_sandbox::{PayerAction, Provider, RunningSandbox};
use payments_test_support::act;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use support::*;

/// A URL secret of the unsigned providers (Banq, Paylican), in the query.
const URL_SECRET: &str = "router-test-url-secret-0123456789abcdef";

/// What every test here starts from: logs captured, a sandbox, the ledger in `db`, the router's
/// listener and the webhooks' base URL on it.
async fn setup(db: &TestDb, options: LedgerOptions) -> (RunningSandbox, Ledger, Server, String) {
    capture_logs();
    let sandbox = start_sandbox().await;
    let ledger = db.open(options).await;
    let server = Server::bind().await;
    let base = format!("{}/webhooks", server.base);
    (sandbox, ledger, server, base)
}

/// Reconciles `ledger` with `providers` until `provider`'s payment `reference` is final, for
/// 100 rounds at most (the caller asserts what it then holds).
async fn reconcile_until_final(
    ledger: &Ledger,
    providers: &Providers,
    provider: &str,
    reference: &str,
) {
    for _ in 0..100 {
        ledger.reconcile_once(providers).await.unwrap();
        let payment = ledger.payment(provider, reference).await.unwrap().unwrap();
        if payment.status.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `provider`'s payments checked back with the provider 20 ms after a notice.
fn eager(provider: &str) -> LedgerOptions {
    LedgerOptions::default().policy(
        provider,
        CheckPolicy::default().eager(Duration::from_millis(20)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payconiq_deliveries_go_through_the_router_into_the_ledger() {
    let db = TestDb::sqlite();
    let (sandbox, ledger, mut server, base) = setup(&db, LedgerOptions::default()).await;

    let webhooks = Webhooks::new(ledger.clone(), &base).unwrap();
    let callback_url = webhooks.url("payconiq");
    let credentials = sandbox.credentials();
    let client = PayconiqClient::new(
        PayconiqConfig::new(
            credentials.payconiq_api_key.clone(),
            Environment::PreProduction,
        )
        .base_url(sandbox.payconiq().api_base_url)
        .default_callback_url(&callback_url)
        .http(fast_http()),
    )
    .unwrap();
    let verifier = JwksWebhookVerifier::new(
        payments_payconiq::webhook::WebhookSettings::new(
            credentials.payconiq_profile_id.clone(),
            &callback_url,
        ),
        JwksFetcher::new(
            &payments_conformance::sandbox::payconiq::jwks_url(&sandbox),
            &fast_http(),
        )
        .unwrap(),
    );
    server.serve(webhooks.provider("payconiq", verifier).router().unwrap());

    let order = CreatePayment::new(Money::from_minor(1000, Currency::EUR), "order-pq-1");
    let created = ledger.create_once(&client, &order).await.unwrap();
    let id = created.checkout.payment_id;
    act(&sandbox, Provider::Payconiq, &id, PayerAction::Pay).await;
    let payment = final_payment(&ledger, "payconiq", "order-pq-1").await;
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert!(payment.is_paid());
    assert_eq!(payment.authenticity, Some(Authenticity::Signed));
    let deliveries = settled_deliveries(&sandbox, &id, 1).await;
    answered_200_at_first_attempt(&deliveries);
    let paid = deliveries.last().unwrap();
    assert_eq!(
        paid.url, callback_url,
        "delivered to the router's public URL"
    );

    let history = ledger.history("payconiq", "order-pq-1").await.unwrap();
    each_event_once(&history);
    let (status, text) = replay_with(paid, tampered(paid, paid.body.len() / 2)).await;
    assert_eq!(status, 401, "{text}");
    standard_refusals(paid, &base).await;
    assert_eq!(
        ledger.history("payconiq", "order-pq-1").await.unwrap(),
        history,
        "nothing refused or replayed was applied"
    );
    let signature = paid
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("signature"))
        .map(|(_, v)| v.as_str())
        .unwrap();
    logs_hold_no("payconiq", &[&paid.body, signature]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fintecture_deliveries_and_the_payers_return_go_into_the_ledger() {
    let db = TestDb::sqlite();
    let (sandbox, ledger, mut server, base) = setup(&db, LedgerOptions::default()).await;
    let return_url = format!("{}/fintecture/return", server.base);

    let webhooks = Webhooks::new(ledger.clone(), &base).unwrap();
    let harness = FintectureSandboxHarness {
        return_url: return_url.clone(),
    };
    // The router's URL, in the (emulated) Fintecture console.
    sandbox.set_webhook_url(Provider::Fintecture, Some(webhooks.url("fintecture")));
    let credentials = sandbox.credentials();
    let client = Arc::new(
        FintectureClient::new(
            payments_fintecture::FintectureConfig::new(
                &credentials.fintecture_app_id,
                &credentials.fintecture_app_secret,
                sandbox.keys().fintecture_private_key_pem().unwrap(),
                payments_fintecture::Environment::Sandbox,
            )
            .base_url(sandbox.fintecture().base_url)
            .http(fast_http()),
        )
        .unwrap(),
    );
    let verifier = FintectureWebhookVerifier::new(WebhookSettings::new(
        &credentials.fintecture_app_id,
        client.private_key(),
    ));
    let app = Router::new()
        .merge(webhooks.provider("fintecture", verifier).router().unwrap())
        .merge(
            RedirectReturn::new(ledger.clone(), Arc::clone(&client))
                .outcome_url("https://shop.example/orders/{reference}?payment={outcome}")
                .router("/fintecture/return"),
        );
    server.serve(app);

    let order = harness.create_request(1000, "");
    let created = ledger.create_once(client.as_ref(), &order).await.unwrap();
    let id = created.checkout.payment_id;

    // The payer pays on the Connect page and is sent back to the return URL.
    let paid_page = http()
        .post(sandbox.fintecture().connect_url(&id))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(paid_page.status(), 303);
    let back = paid_page.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(back.starts_with(&format!("{return_url}?")), "{back}");
    let forged = back.replace("state=", "state=x");
    let refused = http().get(&forged).send().await.unwrap();
    assert_eq!(
        refused.headers()["location"],
        "https://shop.example/orders/?payment=unconfirmed",
        "a return whose state is not the order's confirms nothing"
    );
    let returned = http().get(&back).send().await.unwrap();
    assert_eq!(returned.status(), 303);
    assert_eq!(
        returned.headers()["location"],
        "https://shop.example/orders/order-1000?payment=paid"
    );

    let payment = final_payment(&ledger, "fintecture", "order-1000").await;
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert!(payment.is_paid());
    let deliveries = settled_deliveries(&sandbox, &id, 1).await;
    answered_200_at_first_attempt(&deliveries);
    let history = ledger.history("fintecture", "order-1000").await.unwrap();
    each_event_once(&history);
    assert_eq!(
        history
            .iter()
            .filter(|h| h.source == Source::Redirect)
            .count(),
        1,
        "the confirmed return is in the history once: {history:#?}"
    );
    assert_eq!(webhook_entries(&history).len(), deliveries.len());

    let paid = deliveries.last().unwrap();
    let (status, text) = replay_with(paid, tampered(paid, paid.body.len() / 2)).await;
    assert_eq!(status, 401, "{text}");
    standard_refusals(paid, &base).await;
    assert_eq!(
        ledger.history("fintecture", "order-1000").await.unwrap(),
        history
    );
    let state = back
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .unwrap();
    let signature = &paid
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("signature"))
        .unwrap()
        .1;
    logs_hold_no("fintecture", &[&paid.body, signature]);
    assert!(!logs().contains(&format!("state={state}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub2_deliveries_go_through_the_router_into_the_ledger() {
    let db = TestDb::sqlite();
    let (sandbox, ledger, mut server, base) = setup(&db, LedgerOptions::default()).await;

    let webhooks = Webhooks::new(ledger.clone(), &base).unwrap();
    let client = payments_conformance::sandbox::hub2::client(&sandbox, fast_http());
    let registered = client
        .create_webhook(&CreateWebhookRequest::new(webhooks.url("hub2"), EVENTS))
        .await
        .unwrap();
    let secret = registered.secret.unwrap().expose_secret().to_string();
    let verifier = Hub2WebhookVerifier::new(secret.clone()).unwrap();
    server.serve(webhooks.provider("hub2", verifier).router().unwrap());

    let order = CreatePayment::new(Money::from_minor(5000, Currency::XOF), "order-hub2-1");
    let created = ledger.create_once(&client, &order).await.unwrap();
    let id = created.checkout.payment_id;
    act(&sandbox, Provider::Hub2, &id, PayerAction::Pay).await;
    let payment = final_payment(&ledger, "hub2", "order-hub2-1").await;
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert!(payment.is_paid());
    let deliveries = settled_deliveries(&sandbox, &id, 2).await;
    answered_200_at_first_attempt(&deliveries);
    let history = ledger.history("hub2", "order-hub2-1").await.unwrap();
    each_event_once(&history);

    let paid = deliveries
        .iter()
        .find(|d| d.event == "payment_intent.succeeded")
        .unwrap_or_else(|| panic!("{deliveries:?}"));
    let (status, text) = replay_with(paid, tampered(paid, paid.body.len() / 2)).await;
    assert_eq!(status, 401, "{text}");
    standard_refusals(paid, &base).await;

    // A body without Content-Length (chunked) is cut off as soon as it passes the limit.
    let url = reqwest::Url::parse(&paid.url).unwrap();
    let mut stream = tokio::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap()))
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\n",
                url.path()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..5 {
        let _ = stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await;
        let _ = stream.write_all(&chunk).await;
        let _ = stream.write_all(b"\r\n").await;
    }
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    assert_eq!(
        ledger.history("hub2", "order-hub2-1").await.unwrap(),
        history
    );
    let signature = &paid
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("hub2-signature"))
        .unwrap()
        .1;
    logs_hold_no("hub2", &[&paid.body, signature, &secret]);

    // The store fails: 503, so HUB2 retries.
    ledger.close().await;
    let (status, text) = replay(paid).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.starts_with("not stored"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banq_notices_go_through_the_router_and_apply_only_by_fetch_back() {
    let db = TestDb::sqlite();
    let (sandbox, ledger, mut server, base) = setup(&db, eager("banq")).await;

    let webhooks = Webhooks::new(ledger.clone(), &base).unwrap();
    let client = Arc::new(banq_client(&sandbox, fast_http()));
    let guid = sandbox.banq().destination_banq_guid;
    let registered_url = format!("{}?token={URL_SECRET}", webhooks.url("banq"));
    client
        .setup_webhooks(&guid, &WebhookConfigRequest::new(&registered_url))
        .await
        .unwrap();
    let receiver = WebhookReceiver::new()
        .with_guard(UrlSecretGuard::query_param("token", URL_SECRET).unwrap());
    server.serve(webhooks.provider("banq", receiver).router().unwrap());

    let order = CreatePayment::new(Money::from_minor(1000, Currency::USD), "order-banq-1")
        .description("router test");
    let created = ledger.create_once(client.as_ref(), &order).await.unwrap();
    let id = created.checkout.payment_id;
    act(&sandbox, Provider::Banq, &id, PayerAction::Pay).await;
    let deliveries = settled_deliveries(&sandbox, &id, 1).await;
    answered_200_at_first_attempt(&deliveries);
    let notice = deliveries.last().unwrap();
    // The notice proves nothing: the payment is fetched, and only that is applied.
    let providers = Providers::new().with(client.clone() as Arc<dyn PaymentProvider>);
    reconcile_until_final(&ledger, &providers, "banq", "order-banq-1").await;
    let payment = ledger
        .payment("banq", "order-banq-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.authenticity, Some(Authenticity::FetchedBack));
    let history = ledger.history("banq", "order-banq-1").await.unwrap();
    each_event_once(&history);
    let entries = webhook_entries(&history);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].verdict, Verdict::FetchRequested);

    // Unsigned: a changed body is stored as the claim it is (here about another payment id)
    // and changes nothing; a request without the URL secret is refused.
    let at = notice.body.find(&id).unwrap() + id.len() - 1;
    let (status, text) = replay_with(notice, tampered(notice, at)).await;
    assert_eq!(
        (status, text.as_str()),
        (200, "stored; payment not known yet\n")
    );
    let (status, text) = post(
        &webhooks_url_without_query(&notice.url),
        &notice.headers,
        notice.body.clone().into_bytes(),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    standard_refusals(notice, &base).await;
    assert_eq!(
        ledger.history("banq", "order-banq-1").await.unwrap(),
        history
    );
    logs_hold_no("banq", &[&notice.body, URL_SECRET]);
}

fn webhooks_url_without_query(url: &str) -> String {
    url.split('?').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paylican_deliveries_are_verified_with_the_senders_address() {
    let db = TestDb::sqlite();
    let (sandbox, ledger, mut server, base) = setup(&db, eager("paylican")).await;

    let guards = || {
        WebhookGuards::new()
            .secret_in_query("token", URL_SECRET)
            .unwrap()
    };
    // The sandbox delivers from 127.0.0.1, connected directly.
    let direct = PaylicanWebhookVerifier::new(guards().allow_source("127.0.0.1").unwrap())
        .currency(Currency::GNF);
    let webhooks = Webhooks::new(ledger.clone(), &base)
        .unwrap()
        .provider_from_peer("paylican", move |request, peer| {
            direct.verify_from(request, peer)
        });
    sandbox.set_webhook_url(
        Provider::Paylican,
        Some(format!("{}?token={URL_SECRET}", webhooks.url("paylican"))),
    );
    // The same provider as seen behind a proxy on 127.0.0.1 (its allow-list: 203.0.113.0/24),
    // and without that proxy trusted (the header is then the sender's own claim).
    let allow_doc_net = || {
        PaylicanWebhookVerifier::new(guards().allow_source("203.0.113.0/24").unwrap())
            .currency(Currency::GNF)
    };
    let behind = allow_doc_net();
    let proxied = Webhooks::new(ledger.clone(), &format!("{}/proxied", server.base))
        .unwrap()
        .trusted_proxies(["127.0.0.1"])
        .unwrap()
        .provider_from_peer("paylican", move |request, peer| {
            behind.verify_from(request, peer)
        });
    let untrusted = allow_doc_net();
    let spoofed = Webhooks::new(ledger.clone(), &format!("{}/spoofed", server.base))
        .unwrap()
        .provider_from_peer("paylican", move |request, peer| {
            untrusted.verify_from(request, peer)
        });
    server.serve(
        Router::new()
            .merge(webhooks.router().unwrap())
            .merge(proxied.router().unwrap())
            .merge(spoofed.router().unwrap()),
    );

    let h = PaylicanSandboxHarness::default();
    let client = Arc::new(
        PaylicanClient::new(PaylicanSandboxHarness::config(&sandbox, fast_http())).unwrap(),
    );
    let order = h.create_request(1000, "");
    let created = ledger.create_once(client.as_ref(), &order).await.unwrap();
    let id = created.checkout.payment_id;
    act(&sandbox, Provider::Paylican, &id, PayerAction::Pay).await;
    let deliveries = settled_deliveries(&sandbox, &id, 1).await;
    answered_200_at_first_attempt(&deliveries);
    let providers = Providers::new().with(client.clone() as Arc<dyn PaymentProvider>);
    reconcile_until_final(&ledger, &providers, "paylican", &order.reference).await;
    let payment = ledger
        .payment("paylican", &order.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(
        payment.authenticity,
        Some(Authenticity::FetchedBack),
        "a guarded (unsigned) event only asked for the fetch"
    );
    let history = ledger.history("paylican", &order.reference).await.unwrap();
    each_event_once(&history);
    assert_eq!(webhook_entries(&history).len(), 1);

    let paid = deliveries.last().unwrap();
    // Unsigned: a changed status is not applied (the stored status is fetched and final).
    let at = paid.body.find("\"PAID\"").unwrap() + 2;
    let (status, text) = replay_with(paid, tampered(paid, at)).await;
    assert_eq!(status, 200, "{text}");
    let after = ledger
        .payment("paylican", &order.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, PaymentStatus::Succeeded);
    standard_refusals(paid, &base).await;

    // The sender's address: behind the trusted proxy, the rightmost untrusted entry of
    // X-Forwarded-For; from anyone else the header is ignored.
    let body = paid.body.clone().into_bytes();
    let query = format!("?token={URL_SECRET}");
    let with_xff = |xff: Option<&str>| {
        let mut headers = paid.headers.clone();
        if let Some(xff) = xff {
            headers.push(("X-Forwarded-For".into(), xff.into()));
        }
        headers
    };
    let proxied_url = format!("{}/proxied/paylican{query}", server.base);
    let spoofed_url = format!("{}/spoofed/paylican{query}", server.base);
    let (status, text) = post(&proxied_url, &with_xff(Some("203.0.113.9")), body.clone()).await;
    assert_eq!(
        (status, text.as_str()),
        (200, "duplicate; already stored\n")
    );
    let (status, text) = post(
        &proxied_url,
        &with_xff(Some("203.0.113.9, 198.51.100.1")),
        body.clone(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (403, "source address 198.51.100.1 not allowed\n")
    );
    let (status, text) = post(&proxied_url, &with_xff(None), body.clone()).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.starts_with("sender address unknown"), "{text}");
    let (status, text) = post(&spoofed_url, &with_xff(Some("203.0.113.9")), body).await;
    assert_eq!(
        (status, text.as_str()),
        (403, "source address 127.0.0.1 not allowed\n")
    );

    let history_after = ledger.history("paylican", &order.reference).await.unwrap();
    assert_eq!(
        history_after
            .iter()
            .filter(|h| h.status.as_ref().is_some_and(PaymentStatus::is_success))
            .count(),
        history
            .iter()
            .filter(|h| h.status.as_ref().is_some_and(PaymentStatus::is_success))
            .count(),
        "nothing the router refused or the tampered body claimed was applied"
    );
    logs_hold_no("paylican", &[&paid.body, URL_SECRET]);
}
