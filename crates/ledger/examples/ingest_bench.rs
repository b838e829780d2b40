//! Webhook ingest throughput, as a ratio against a baseline measured in the same run.
//!
//! - **ledger**: `Ledger::receive` of HUB2 webhooks: HMAC-SHA256 verification over the raw body,
//!   then one transaction that inserts the event under its de-duplication key, locks its
//!   payment, applies its status, appends to the history and queues a notification.
//! - **baseline**: a bare `INSERT ... ON CONFLICT (dedup_key) DO NOTHING` of the same event row
//!   through the same connection pool.
//!
//! Rounds alternate the two (the order flips every round) on the same database; each reports
//! events per second, and the table gives the median ratio and its spread. Run it with
//! `cargo xtask bench ledger` (`--quick` for a smoke run). PostgreSQL is measured when
//! `PAYMENTS_BENCH_POSTGRES_URL` (or `PAYMENTS_TEST_POSTGRES_URL`) names a server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use payments_core::webhook::WebhookRequest;
use payments_core::{
    Capabilities, Capability, Checkout, CreatePayment, Currency, Money, Payment, PaymentProvider,
    PaymentStatus,
};
use payments_hub2::testing::{WebhookSigner, event_body};
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_ledger::{Ledger, LedgerOptions, Outcome};
use serde_json::json;

const SECRET: &str = "whsec_bench_0123456789abcdef0123456789";
const URL: &str = "https://shop.example/webhooks/hub2";

/// Creates payments instantly, so the ledger holds payments for the events to apply to.
struct Seed;

#[async_trait::async_trait]
impl PaymentProvider for Seed {
    fn name(&self) -> &'static str {
        "hub2"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(&[Capability::CreatePayment])
    }
    async fn checkout(&self, request: &CreatePayment) -> payments_core::Result<Checkout> {
        Ok(Checkout::new(
            format!("pi_{}", request.reference),
            PaymentStatus::Pending,
        ))
    }
    async fn fetch_payment(&self, id: &str) -> payments_core::Result<Payment> {
        Ok(Payment::new(id, PaymentStatus::Pending, "payment_required"))
    }
}

/// One signed HUB2 intent event about `intent_id`: `(body, signature)`.
fn event(event_id: &str, intent_id: &str, status: &str) -> (Vec<u8>, String) {
    let data = json!({
        "id": intent_id, "createdAt": "2026-12-07T10:00:00.000Z",
        "updatedAt": "2026-12-07T10:00:01.000Z", "merchantId": "bench",
        "purchaseReference": "bench", "customerReference": "bench", "amount": 5000,
        "currency": "XOF", "status": status, "payments": [], "mode": "sandbox"
    });
    let event_type = if status == "successful" {
        "payment_intent.succeeded"
    } else {
        "payment_intent.processing"
    };
    let body = event_body(event_id, event_type, "2026-12-07T10:00:01.000Z", &data);
    let signature = WebhookSigner::new(SECRET).sign(&body);
    (body, signature)
}

struct Round {
    ledger_per_s: f64,
    baseline_per_s: f64,
}

async fn measure(
    url: &str,
    label: &str,
    in_flight: usize,
    rounds: usize,
    per_round: usize,
) -> Vec<Round> {
    let ledger = Ledger::open_with(url, LedgerOptions::default().max_connections(16))
        .await
        .unwrap();
    let pool = payments_ledger::testing::pool(&ledger);
    let verifier = Hub2WebhookVerifier::new(SECRET).unwrap();
    let tag = format!("{:08x}", fastrand::u32(..));
    let mut results = Vec::new();
    for round in 0..rounds {
        // The round's payments, and two events for each (processing, then successful).
        let mut events = Vec::new();
        for p in 0..per_round / 2 {
            let reference = format!("{tag}-{round}-{p}");
            let order = CreatePayment::new(Money::from_minor(5000, Currency::XOF), &reference);
            ledger.create_once(&Seed, &order).await.unwrap();
            let intent = format!("pi_{reference}");
            events.push(event(&format!("evt_{reference}_1"), &intent, "processing"));
            events.push(event(&format!("evt_{reference}_2"), &intent, "successful"));
        }

        let ledger_run = async {
            let start = Instant::now();
            stream::iter(&events)
                .for_each_concurrent(in_flight, |(body, signature)| {
                    let (ledger, verifier) = (&ledger, &verifier);
                    async move {
                        let request = WebhookRequest::new("POST", URL, body)
                            .header("Hub2-Signature", signature);
                        let receipt = ledger.receive("hub2", verifier, &request).await;
                        assert!(
                            matches!(receipt.outcome, Outcome::Applied { .. }),
                            "{receipt:?}"
                        );
                    }
                })
                .await;
            events.len() as f64 / start.elapsed().as_secs_f64()
        };
        let baseline_run = async {
            let start = Instant::now();
            stream::iter(events.iter().enumerate())
                .for_each_concurrent(in_flight, |(i, (body, _))| {
                    let (pool, tag) = (&pool, &tag);
                    async move {
                        sqlx::query(
                            "INSERT INTO ledger_events (provider, dedup_key, event_type, \
                       provider_payment_id, status, raw_status, authenticity, occurred_at, \
                       received_at, body, disposition) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (dedup_key) DO NOTHING",
                        )
                        .bind("hub2")
                        .bind(format!("bench:{tag}:{round}:{i}"))
                        .bind("payment_intent.succeeded")
                        .bind(format!("pi_bench_{i}"))
                        .bind("succeeded")
                        .bind("successful")
                        .bind("signed")
                        .bind(1_765_000_000_000_i64)
                        .bind(1_765_000_000_000_i64)
                        .bind(body.clone())
                        .bind("no_payment")
                        .execute(pool)
                        .await
                        .unwrap();
                    }
                })
                .await;
            events.len() as f64 / start.elapsed().as_secs_f64()
        };
        let (ledger_per_s, baseline_per_s) = if round % 2 == 0 {
            let l = ledger_run.await;
            (l, baseline_run.await)
        } else {
            let b = baseline_run.await;
            (ledger_run.await, b)
        };
        eprintln!(
            "{label}, {in_flight} in flight, round {round}: ledger {ledger_per_s:.0}/s, bare insert \
             {baseline_per_s:.0}/s"
        );
        results.push(Round {
            ledger_per_s,
            baseline_per_s,
        });
    }
    ledger.close().await;
    results
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json_path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (rounds, per_round) = if quick { (2, 40) } else { (7, 1000) };

    let dir = std::env::temp_dir().join(format!("ledger-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut backends = vec![(
        "SQLite (file, WAL)".to_string(),
        format!("sqlite://{}", dir.join("bench.db").display()),
        None,
    )];
    let pg = std::env::var("PAYMENTS_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("PAYMENTS_TEST_POSTGRES_URL"))
        .ok();
    match pg {
        Some(admin) => {
            let name = format!("ledger_bench_{}", std::process::id());
            run_admin(&admin, &format!("CREATE DATABASE {name}")).await;
            let (base, _) = admin.rsplit_once('/').unwrap();
            backends.push((
                "PostgreSQL".to_string(),
                format!("{base}/{name}"),
                Some((admin.clone(), name)),
            ));
        }
        None => eprintln!("PostgreSQL not measured: set PAYMENTS_BENCH_POSTGRES_URL"),
    }

    let mut rows = Vec::new();
    for ((label, url, _), in_flight) in backends.iter().flat_map(|b| [1, 16].map(move |n| (b, n))) {
        let rounds = measure(url, label, in_flight, rounds, per_round).await;
        let ratios: Vec<f64> = rounds
            .iter()
            .map(|r| r.ledger_per_s / r.baseline_per_s)
            .collect();
        let ledger = median(rounds.iter().map(|r| r.ledger_per_s).collect());
        let baseline = median(rounds.iter().map(|r| r.baseline_per_s).collect());
        let ratio = median(ratios.clone());
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        rows.push(json!({
            "backend": label, "in_flight": in_flight, "events_per_round": per_round,
            "rounds": ratios.len(),
            "ledger_events_per_s": ledger.round(), "baseline_inserts_per_s": baseline.round(),
            "ratio_median": (ratio * 1000.0).round() / 1000.0,
            "ratio_min": (low * 1000.0).round() / 1000.0, "ratio_max": (high * 1000.0).round() / 1000.0,
        }));
    }
    for (_, _, cleanup) in &backends {
        if let Some((admin, name)) = cleanup {
            run_admin(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "| backend | in flight | ledger ingest (events/s) | bare insert (rows/s) | ratio, median (min–max) |"
    );
    println!("|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} ({}–{}) |",
            row["backend"].as_str().unwrap_or_default(),
            row["in_flight"],
            row["ledger_events_per_s"],
            row["baseline_inserts_per_s"],
            row["ratio_median"],
            row["ratio_min"],
            row["ratio_max"],
        );
    }
    if let Some(path) = json_path {
        let report = json!({ "benchmark": "ledger_ingest", "quick": quick, "results": rows });
        std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
        eprintln!("wrote {path}");
    }
}

async fn run_admin(admin_url: &str, statement: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
}
