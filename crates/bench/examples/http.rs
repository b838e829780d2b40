//! SDK calls against byte-identical raw `reqwest` requests to the same local server.
//!
//! The server runs in a child process (this program with `--serve`), so the CPU time measured
//! here is the client's alone. It answers each route with a fixed body in the provider's
//! documented wire format (the crates' test fixtures) and records the first request of each
//! route; the baseline replays exactly that request (method, URL, every header, body) through a
//! bare `reqwest::Client` and parses the answer into the same typed value the SDK returns. For a
//! create call the baseline serializes its body from a struct on every call, as a raw
//! integration does (checked once to be byte for byte the SDK's).
//!
//! Figures, each a per-round ratio SDK ÷ raw: wall time and CPU time of N calls made one after
//! another, and of N calls with 64 in flight, for Payconiq create and get and HUB2 create and
//! get; first against a bare `reqwest::Client`, then against one with the SDK's whole-request
//! timeout (30 s by default, which a bare client does not set). Then the token cache: 1 000 concurrent requests for an expired OAuth token, and how many
//! token requests reached the server (the cache's single flight holds when it is 1). Last, the
//! resident memory over 100 000 Payconiq get calls, at nine checkpoints.
//!
//! Run with `cargo xtask bench http` (`--quick`: a smoke run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic,
    clippy::print_stdout,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use payments_bench::{Args, Figure, Report, Target, cpu_time};
use payments_core::http::{HttpClient, HttpConfig, Url};
use payments_core::token::{OAuth2TokenSource, TokenCache, TokenRequestFormat};
use payments_core::{Currency, Money};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const PAYCONIQ_CREATE: &str = include_str!("../../payconiq/tests/fixtures/create_201.json");
const PAYCONIQ_GET: &str = include_str!("../../payconiq/tests/fixtures/get_200.json");
const HUB2_CREATE: &str = include_str!("../../hub2/tests/fixtures/create_intent_201.json");
const HUB2_GET: &str = include_str!("../../hub2/tests/fixtures/get_intent_successful_200.json");

// ---------------------------------------------------------------------------------------------
// The server (child process).

#[derive(Default)]
struct Recorded {
    /// The first request of each route: `"METHOD /path"` -> (method, path, headers, body).
    first: Mutex<BTreeMap<String, Value>>,
    token_requests: AtomicUsize,
}

fn route_of(method: &Method, path: &str) -> Option<(&'static str, StatusCode, &'static str)> {
    match (method.as_str(), path) {
        ("POST", "/v3/payments") => Some(("payconiq.create", StatusCode::CREATED, PAYCONIQ_CREATE)),
        ("GET", p) if p.starts_with("/v3/payments/") => {
            Some(("payconiq.get", StatusCode::OK, PAYCONIQ_GET))
        }
        ("POST", "/payment-intents") => Some(("hub2.create", StatusCode::CREATED, HUB2_CREATE)),
        ("GET", p) if p.starts_with("/payment-intents/") => {
            Some(("hub2.get", StatusCode::OK, HUB2_GET))
        }
        _ => None,
    }
}

async fn answer(
    State(recorded): State<Arc<Recorded>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let path = uri.path();
    if path == "/__requests" {
        let first = recorded.first.lock().unwrap().clone();
        return axum::Json(json!(first)).into_response();
    }
    if path == "/oauth/token" {
        let n = recorded.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
        // A token that is already expired for a cache with the default margin: the first one
        // every caller must replace; later ones live an hour.
        let expires_in = if n == 1 { 1 } else { 3600 };
        // Slow enough that the concurrent callers pile up behind the one request.
        tokio::time::sleep(Duration::from_millis(50)).await;
        return axum::Json(json!({
            "access_token": format!("token-{n}"), "token_type": "Bearer", "expires_in": expires_in
        }))
        .into_response();
    }
    if path == "/__token_requests" {
        return axum::Json(json!(recorded.token_requests.load(Ordering::SeqCst))).into_response();
    }
    let Some((route, status, body_out)) = route_of(&method, path) else {
        return (StatusCode::NOT_FOUND, "no such route").into_response();
    };
    {
        let mut first = recorded.first.lock().unwrap();
        if !first.contains_key(route) {
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            first.insert(
                route.to_owned(),
                json!({
                    "method": method.as_str(), "path_and_query": uri.path_and_query().map(|p| p.as_str()),
                    "headers": headers, "body": String::from_utf8_lossy(&body),
                }),
            );
        }
    }
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body_out,
    )
        .into_response()
}

fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::new(Recorded::default()));
        axum::serve(listener, app).await.unwrap();
    });
}

/// The server process; killed when dropped.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    fn start() -> Server {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--serve")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().unwrap();
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The clients.

/// A request as the SDK sent it, replayed by the baseline.
struct RawCall {
    method: reqwest::Method,
    url: String,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
    /// For a create call: the body, serialized again on every call as a raw integration does
    /// (checked once to be byte for byte what the SDK sent).
    make_body: Option<fn() -> Vec<u8>>,
}

/// The Payconiq create body a raw integration would write, in the SDK's field order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RawPayconiqCreate<'a> {
    amount: i64,
    currency: &'a str,
    reference: &'a str,
    description: &'a str,
}

fn payconiq_create_body() -> Vec<u8> {
    serde_json::to_vec(&RawPayconiqCreate {
        amount: 112,
        currency: "EUR",
        reference: "987456264",
        description: "Sample description",
    })
    .unwrap()
}

/// The HUB2 create body a raw integration would write.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RawHub2Create<'a> {
    customer_reference: &'a str,
    purchase_reference: &'a str,
    amount: i64,
    currency: &'a str,
}

fn hub2_create_body() -> Vec<u8> {
    serde_json::to_vec(&RawHub2Create {
        customer_reference: "Test_01",
        purchase_reference: "Test_YYYY_MM_DD_01",
        amount: 200,
        currency: "XOF",
    })
    .unwrap()
}

impl RawCall {
    fn from_recorded(base: &str, route: &str, recorded: &Value) -> RawCall {
        let mut headers = reqwest::header::HeaderMap::new();
        for pair in recorded["headers"].as_array().unwrap() {
            let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            // The connection's own headers are the client's to write.
            if matches!(name, "host" | "content-length" | "connection") {
                continue;
            }
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_str(value).unwrap(),
            );
        }
        RawCall {
            method: recorded["method"].as_str().unwrap().parse().unwrap(),
            url: format!("{base}{}", recorded["path_and_query"].as_str().unwrap()),
            headers,
            body: Bytes::from(recorded["body"].as_str().unwrap().to_owned()),
            make_body: match route {
                "payconiq.create" => Some(payconiq_create_body),
                "hub2.create" => Some(hub2_create_body),
                _ => None,
            },
        }
        .checked()
    }

    /// Panics unless a create body made by the baseline is what the SDK sent.
    fn checked(self) -> RawCall {
        if let Some(make) = self.make_body {
            assert_eq!(
                String::from_utf8(make()).unwrap(),
                String::from_utf8(self.body.to_vec()).unwrap(),
                "the baseline's body differs from the SDK's"
            );
        }
        self
    }

    /// One call, its answer parsed into `T` as a raw integration would.
    async fn send<T: DeserializeOwned>(&self, client: &reqwest::Client) -> T {
        let mut request = client
            .request(self.method.clone(), &self.url)
            .headers(self.headers.clone());
        if let Some(make) = self.make_body {
            request = request.body(make());
        } else if !self.body.is_empty() {
            request = request.body(self.body.clone());
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success());
        let bytes = response.bytes().await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// Wall time and CPU time of `n` calls of `call`, `in_flight` at a time.
async fn run<F, Fut>(n: usize, in_flight: usize, call: F) -> (Duration, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cpu = cpu_time().unwrap();
    let start = Instant::now();
    if in_flight == 1 {
        for i in 0..n {
            call(i).await;
        }
    } else {
        stream::iter(0..n)
            .for_each_concurrent(in_flight, &call)
            .await;
    }
    (start.elapsed(), cpu_time().unwrap() - cpu)
}

/// Calls per chunk of a round: 50 one after another, or eight times the calls in flight.
fn chunk_size(in_flight: usize) -> usize {
    if in_flight == 1 { 50 } else { 8 * in_flight }
}

/// One operation: the SDK's call and the baseline's replay of it.
struct Operation {
    name: String,
    sdk: Call,
    raw: Call,
}

async fn compare(op: &Operation, in_flight: usize, rounds: usize, n: usize) -> [Figure; 2] {
    let label = if in_flight == 1 {
        "sequential".to_owned()
    } else {
        format!("{in_flight} in flight")
    };
    let mut time = Figure::new(
        format!("{}, {label}: time", op.name),
        "s",
        Target::AtMost(1.05),
    );
    let mut cpu = Figure::new(
        format!("{}, {label}: CPU", op.name),
        "s",
        Target::AtMost(1.05),
    );
    // Warm-up: connections opened, lazy state built.
    run(n / 4 + 1, in_flight, |_| (op.sdk)()).await;
    run(n / 4 + 1, in_flight, |_| (op.raw)()).await;
    // Each round: chunks of calls, SDK and raw alternating (the order flipping every pair), so
    // a machine that slows down for a while slows both sides alike.
    let chunk = chunk_size(in_flight).min(n);
    for round in 0..rounds {
        let mut sdk = (Duration::ZERO, Duration::ZERO);
        let mut raw = sdk;
        for pair in 0..n.div_ceil(chunk) {
            for side in 0..2 {
                let (total, call) = if (side == 0) == (round + pair).is_multiple_of(2) {
                    (&mut sdk, &op.sdk)
                } else {
                    (&mut raw, &op.raw)
                };
                let (wall, cpu) = run(chunk, in_flight, |_| call()).await;
                *total = (total.0 + wall, total.1 + cpu);
            }
        }
        eprintln!(
            "{}, {label}, round {round}: SDK {:?} ({:?} CPU), raw {:?} ({:?} CPU)",
            op.name, sdk.0, sdk.1, raw.0, raw.1
        );
        time.push(sdk.0.as_secs_f64(), raw.0.as_secs_f64());
        cpu.push(sdk.1.as_secs_f64(), raw.1.as_secs_f64());
    }
    [time, cpu]
}

async fn recorded_calls(server: &Server) -> BTreeMap<String, RawCall> {
    let all: BTreeMap<String, Value> = get_json(&format!("{}/__requests", server.base)).await;
    all.iter()
        .map(|(k, v)| (k.clone(), RawCall::from_recorded(&server.base, k, v)))
        .collect()
}

/// One side of an operation: a call made afresh each time it is invoked.
type Call = Box<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// An SDK call on a clone of `client`.
fn sdk_call<C, F>(client: C, call: F) -> Call
where
    C: Clone + Send + Sync + 'static,
    F: Fn(C) -> BoxFuture<'static, ()> + Send + Sync + 'static,
{
    Box::new(move || call(client.clone()))
}

/// The baseline's replay of `route`, its answer parsed into `T` (the type the SDK returns).
fn raw_call<T: DeserializeOwned + 'static>(
    client: &reqwest::Client,
    calls: &Arc<BTreeMap<String, RawCall>>,
    route: &'static str,
) -> Call {
    let (client, calls) = (client.clone(), calls.clone());
    Box::new(move || {
        let (client, calls) = (client.clone(), calls.clone());
        Box::pin(async move {
            std::hint::black_box(calls[route].send::<T>(&client).await);
        })
    })
}

fn operations(server: &Server, raw_calls: BTreeMap<String, RawCall>) -> Vec<Operation> {
    use payments_hub2::PaymentIntent;
    use payments_payconiq::PayconiqPayment;
    use std::hint::black_box;
    let (payconiq, hub2) = (payconiq_client(server), hub2_client(server));
    let calls = Arc::new(raw_calls);
    // The baseline is a bare `reqwest::Client`. The SDK sets a whole-request timeout (30 s by
    // default) on every call, which a bare client does not: each call then registers a timer,
    // and registering one on an idle timer wheel wakes the runtime's driver thread. The second
    // set of figures compares with a raw client that sets the same timeout.
    let timeout = HttpConfig::default().request_timeout;
    let bare = reqwest::Client::new();
    let timed = reqwest::Client::builder().timeout(timeout).build().unwrap();
    let mut operations = Vec::new();
    for (raw, suffix) in [
        (&bare, String::new()),
        (
            &timed,
            format!(" (raw with a {} s timeout)", timeout.as_secs()),
        ),
    ] {
        operations.extend([
            Operation {
                name: format!("Payconiq create{suffix}"),
                sdk: sdk_call(payconiq.clone(), |c| {
                    Box::pin(async move {
                        black_box(c.create_payment(&payconiq_create()).await.unwrap());
                    })
                }),
                raw: raw_call::<PayconiqPayment>(raw, &calls, "payconiq.create"),
            },
            Operation {
                name: format!("Payconiq get{suffix}"),
                sdk: sdk_call(payconiq.clone(), |c| {
                    Box::pin(async move {
                        black_box(c.get_payment("5bdaf066b93d1c000bde9683").await.unwrap());
                    })
                }),
                raw: raw_call::<PayconiqPayment>(raw, &calls, "payconiq.get"),
            },
            Operation {
                name: format!("HUB2 create{suffix}"),
                sdk: sdk_call(hub2.clone(), |c| {
                    Box::pin(async move {
                        black_box(c.create_intent(&hub2_create()).await.unwrap());
                    })
                }),
                raw: raw_call::<PaymentIntent>(raw, &calls, "hub2.create"),
            },
            Operation {
                name: format!("HUB2 get{suffix}"),
                sdk: sdk_call(hub2.clone(), |c| {
                    Box::pin(async move {
                        black_box(c.get_intent("pi_tffiDaXyWQu203rIXhujW").await.unwrap());
                    })
                }),
                raw: raw_call::<PaymentIntent>(raw, &calls, "hub2.get"),
            },
        ]);
    }
    operations
}

fn payconiq_client(server: &Server) -> payments_payconiq::PayconiqClient {
    payments_payconiq::PayconiqClient::new(
        payments_payconiq::PayconiqConfig::new(
            "bench-api-key",
            payments_payconiq::Environment::PreProduction,
        )
        .base_url(format!("{}/v3", server.base))
        .default_callback_url("https://shop.example/payconiq/callback"),
    )
    .unwrap()
}

fn payconiq_create() -> payments_payconiq::CreatePaymentRequest {
    payments_payconiq::CreatePaymentRequest::new(Money::from_minor(112, Currency::EUR))
        .reference("987456264")
        .description("Sample description")
}

fn hub2_client(server: &Server) -> payments_hub2::Hub2Client {
    payments_hub2::Hub2Client::new(
        payments_hub2::Hub2Config::new(
            "bench-api-key",
            "MTE1ODE2",
            payments_hub2::Environment::Sandbox,
        )
        .base_url(&server.base),
    )
    .unwrap()
}

fn hub2_create() -> payments_hub2::CreateIntentRequest {
    payments_hub2::CreateIntentRequest::new(
        Money::from_minor(200, Currency::XOF),
        "Test_01",
        "Test_YYYY_MM_DD_01",
    )
}

/// 1 000 concurrent callers find the cached token expired: how many token requests are made.
async fn token_single_flight(server: &Server, callers: usize) -> usize {
    let http = HttpClient::new("bench", "payments-bench", "0", &HttpConfig::default()).unwrap();
    let url = Url::parse(&format!("{}/oauth/token", server.base)).unwrap();
    let source = OAuth2TokenSource::new(http, url, TokenRequestFormat::Form)
        .param("grant_type", "client_credentials");
    let cache = Arc::new(TokenCache::with_margin(source, Duration::from_millis(500)));
    // The first token lives one second: past the margin, it is expired almost at once.
    cache.get().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = token_requests(server).await;
    stream::iter(0..callers)
        .for_each_concurrent(callers, |_| {
            let cache = cache.clone();
            async move {
                cache.get().await.unwrap();
            }
        })
        .await;
    token_requests(server).await - before
}

async fn token_requests(server: &Server) -> usize {
    get_json(&format!("{}/__token_requests", server.base)).await
}

async fn get_json<T: DeserializeOwned>(url: &str) -> T {
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn main() {
    let args = Args::from_env();
    if args.rest.iter().any(|a| a == "--serve") {
        serve();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = Server::start();
        // One SDK call of each kind, so the server records what the baseline replays.
        let (payconiq, hub2) = (payconiq_client(&server), hub2_client(&server));
        payconiq.create_payment(&payconiq_create()).await.unwrap();
        payconiq.get_payment("5bdaf066b93d1c000bde9683").await.unwrap();
        hub2.create_intent(&hub2_create()).await.unwrap();
        hub2.get_intent("pi_tffiDaXyWQu203rIXhujW").await.unwrap();
        let calls = recorded_calls(&server).await;
        assert_eq!(calls.len(), 4, "the server recorded every route");

        // `--only "<operation>" sdk|raw N`: N sequential calls of one side, untimed (for
        // `valgrind --tool=callgrind`, which counts this process's instructions only: the server
        // is another process).
        if let [flag, name, side, n] = args.rest.as_slice()
            && flag == "--only"
        {
            let n: usize = n.parse().unwrap();
            let op = operations(&server, calls)
                .into_iter()
                .find(|op| op.name == *name)
                .expect("an operation of that name");
            // Connections and lazy state first, as in the timed rounds.
            for _ in 0..10 {
                if side == "sdk" { (op.sdk)().await } else { (op.raw)().await }
            }
            for _ in 0..n {
                if side == "sdk" { (op.sdk)().await } else { (op.raw)().await }
            }
            return;
        }
        let rounds = args.pick(2, 9);
        let (n_seq, n_par) = args.pick((50, 200), (2_000, 8_000));
        let mut figures = Vec::new();
        for op in operations(&server, calls) {
            figures.extend(compare(&op, 1, rounds, n_seq).await);
            figures.extend(compare(&op, 64, rounds, n_par).await);
        }
        let callers = args.pick(100, 1_000);
        let token_requests = token_single_flight(&server, callers).await;
        let mut single_flight = Figure::new(
            format!("token requests for {callers} concurrent callers, token expired"),
            "requests",
            Target::AtMost(1.0),
        );
        // Against the one request a single flight makes.
        single_flight.push(token_requests as f64, 1.0);
        figures.push(single_flight);

        // Memory over many calls: RSS at nine checkpoints against the RSS after the first tenth.
        let calls = args.pick(2_000, 100_000);
        let client = payconiq_client(&server);
        let mut memory = Figure::new(
            format!("Payconiq get: RSS over {calls} calls (64 in flight)"),
            "bytes",
            Target::AtMost(1.10),
        );
        let stretch = |client: payments_payconiq::PayconiqClient| async move {
            stream::iter(0..calls / 10)
                .for_each_concurrent(64, |_| {
                    let client = client.clone();
                    async move {
                        client.get_payment("5bdaf066b93d1c000bde9683").await.unwrap();
                    }
                })
                .await;
        };
        stretch(client.clone()).await;
        let warm = payments_bench::rss_bytes().unwrap_or(0) as f64;
        for _ in 0..9 {
            stretch(client.clone()).await;
            memory.push(payments_bench::rss_bytes().unwrap_or(0) as f64, warm);
        }
        figures.push(memory);

        let mut report = Report::new("http", args.quick, figures);
        report.note(format!(
            "{rounds} rounds; {n_seq} sequential calls, {n_par} calls with 64 in flight per side and \
             round, in alternating chunks of {} and {} calls; CPU is the client process's (the \
             server is another process).",
            chunk_size(1),
            chunk_size(64)
        ));
        report.finish(&args).unwrap();
    });
}
