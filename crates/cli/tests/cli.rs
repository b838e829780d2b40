//! The `payments` binary as a process: the demo over its ledger, each scenario, the ledger
//! subcommands (their `--json` parsed), offline webhook verification of webhooks captured from
//! the sandbox, and each thing a new user tripped over.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use payments_core::{CreatePayment, Currency, Money, PaymentProvider};
use payments_ledger::{CheckPolicy, Ledger, LedgerOptions, NotifyPolicy, handler_fn};
use payments_sandbox::{DeliveryRecord, PayerAction, Provider, RunningSandbox, Sandbox};
use serde_json::Value;

/// Every variable that would point the demo at a real provider.
const REAL_PROVIDER_VARIABLES: [&str; 11] = [
    "PAYMENTS_DEMO_PUBLIC_URL",
    "PAYCONIQ_API_KEY",
    "PAYCONIQ_BASE_URL",
    "PAYCONIQ_PROFILE_ID",
    "FINTECTURE_APP_ID",
    "FINTECTURE_APP_SECRET",
    "FINTECTURE_PRIVATE_KEY_FILE",
    "HUB2_API_KEY",
    "BANQ_CLIENT_ID",
    "PAYLICAN_USERNAME",
    "PAYLICAN_PASSWORD",
];

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payments"));
    command.args(args);
    for name in REAL_PROVIDER_VARIABLES {
        command.env_remove(name);
    }
    command
}

fn payments(args: &[&str]) -> Output {
    command(args).output().expect("the payments binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary directory (a ledger file, captured webhooks), removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "payments-cli-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// A SQLite ledger in this directory.
    fn db(&self) -> String {
        format!("sqlite://{}", self.dir.join("ledger.db").display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `payments demo ARGS --offline --json --db DB`, parsed.
fn demo_json(db: &str, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["demo", "--offline", "--json", "--db", db];
    all.extend_from_slice(args);
    let out = payments(&all);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "--json prints one JSON document ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (out, report)
}

/// A flow's steps as (name, outcome).
fn steps(flow: &Value) -> Vec<(String, String)> {
    flow["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `payments ledger --db DB ARGS --json`, parsed.
fn ledger_json(db: &str, args: &[&str]) -> Value {
    let mut all = vec!["ledger", "--db", db, "--json"];
    all.extend_from_slice(args);
    let out = payments(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} prints JSON ({e}): {}", text(&out.stdout)))
}

const CHECKOUT: [&str; 8] = [
    "connect",
    "create once",
    "payer pays",
    "webhook received",
    "stored",
    "applied",
    "handler notified",
    "reconciled",
];

// ------------------------------------------------------------------ the demo

#[test]
fn demo_completes_every_provider_over_the_ledger_and_exits_zero() {
    let scratch = Scratch::new("demo");
    let (out, report) = demo_json(&scratch.db(), &[]);
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    assert_eq!(report["passed"], true);
    let flows = report["flows"].as_array().unwrap();
    let names: Vec<&str> = flows
        .iter()
        .map(|f| f["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["payconiq", "fintecture", "hub2", "banq", "paylican"]
    );
    for flow in flows {
        assert_eq!(flow["scenario"], "checkout");
        let steps = steps(flow);
        let expected: Vec<(String, String)> = CHECKOUT
            .iter()
            .map(|s| ((*s).to_owned(), "ok".to_owned()))
            .collect();
        assert_eq!(steps, expected, "{}", flow["provider"]);
    }

    // What the demo left in its ledger.
    let db = scratch.db();
    let listed = ledger_json(&db, &["list"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 5, "{listed:?}");
    for payment in listed {
        assert_eq!(payment["status"], "succeeded", "{payment}");
        assert_eq!(payment["paid"], true, "{payment}");
        assert_eq!(payment["creation"], "created", "{payment}");
    }
    let hub2 = flows[2]["reference"].as_str().unwrap();
    let shown = ledger_json(&db, &["show", hub2]);
    assert_eq!(shown["provider"], "hub2");
    assert_eq!(shown["amount"], "5000");
    assert_eq!(shown["currency"], "XOF");
    assert_eq!(shown["authenticity"], "signed");
    let history = ledger_json(&db, &["history", hub2]);
    let sources: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources.first(), Some(&"create"), "{sources:?}");
    assert!(sources.contains(&"webhook"), "{sources:?}");
    assert!(
        history["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["after"] == "succeeded" && h["verdict"] == "advance")
    );
    let banq = flows[3]["reference"].as_str().unwrap();
    let history = ledger_json(&db, &["history", banq, "--provider", "banq"]);
    let verdicts: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["verdict"].as_str().unwrap())
        .collect();
    // The unsigned notice asked for a fetch; the fetch applied the success.
    assert_eq!(verdicts, ["created", "fetch_requested", "advance"]);
    assert!(
        ledger_json(&db, &["needs-review"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ledger_json(&db, &["list", "--status", "pending"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn demo_prints_a_step_table_one_progress_line_per_step_and_the_ledger() {
    let scratch = Scratch::new("table");
    let out = payments(&[
        "demo",
        "--offline",
        "--provider",
        "hub2",
        "--db",
        &scratch.db(),
    ]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("summary: 1/1 providers passed"), "{stdout}");
    assert!(stdout.contains("handler notified"), "{stdout}");
    assert!(stdout.contains("ledger: sqlite://"), "{stdout}");
    // Not a terminal: one plain line per step, none when it starts.
    for step in CHECKOUT {
        let lines = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("[hub2] {step} ")))
            .count();
        assert_eq!(lines, 1, "{step}: {stderr}");
    }
    assert!(!stderr.contains("..."), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");
}

#[test]
fn a_failed_step_says_why_on_its_progress_line_and_the_demo_exits_1() {
    let scratch = Scratch::new("fails");
    // The provider refuses the creation: nothing was created, the step fails with the reason.
    let fault = r#"{"method":"POST","path":"/payconiq/v3/payments","fault":{"kind":"status","status":403}}"#;
    let out = payments(&[
        "demo",
        "--offline",
        "--provider",
        "payconiq",
        "--fault",
        fault,
        "--db",
        &scratch.db(),
    ]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("summary: 0/1 providers passed"), "{stdout}");
    assert!(stdout.contains("; failed: payconiq"), "{stdout}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("[payconiq] create once FAILED"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("): ") && line.contains("403"), "{line}");
}

// ------------------------------------------------------------------ scenarios

#[test]
fn every_scenario_shows_its_guarantee_for_a_signed_and_an_unsigned_provider() {
    let scratch = Scratch::new("scenarios");
    let (out, report) = demo_json(
        &scratch.db(),
        &[
            "--scenario",
            "all",
            "--provider",
            "payconiq",
            "--provider",
            "banq",
        ],
    );
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    let flows = report["flows"].as_array().unwrap();
    let runs: Vec<(&str, &str)> = flows
        .iter()
        .map(|f| {
            (
                f["scenario"].as_str().unwrap(),
                f["provider"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            ("duplicate", "payconiq"),
            ("duplicate", "banq"),
            ("out-of-order", "payconiq"),
            ("out-of-order", "banq"),
            ("lost-webhook", "payconiq"),
            ("lost-webhook", "banq"),
            ("create-500", "payconiq"),
            ("create-500", "banq"),
        ]
    );
    let detail = |flow: &Value, step: &str| -> String {
        flow["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == step)
            .map(|s| {
                assert_eq!(s["outcome"], "ok", "{step}: {s}");
                s["detail"].as_str().unwrap().to_owned()
            })
            .unwrap_or_else(|| panic!("no step {step}: {flow}"))
    };
    for flow in flows {
        assert!(
            steps(flow).iter().all(|(_, outcome)| outcome == "ok"),
            "{flow}"
        );
    }
    // duplicate: delivered three times, stored once, the handler told once.
    let duplicate = &flows[0];
    assert!(detail(duplicate, "delivery 1").contains("stored; advance"));
    assert!(detail(duplicate, "delivery 1").contains("HTTP 500"));
    assert!(detail(duplicate, "delivery 2").starts_with("duplicate"));
    assert!(detail(duplicate, "delivery 3").starts_with("duplicate"));
    assert!(detail(duplicate, "delivery 3").contains("HTTP 200"));
    assert!(detail(duplicate, "applied once").contains("one row in the history"));
    assert!(detail(duplicate, "handler notified once").contains("→ succeeded"));
    // Banq's notice asks for a fetch, once.
    assert!(detail(&flows[1], "delivery 1").contains("fetch_requested"));
    // out-of-order: the newer applied, the older kept.
    let ooo = &flows[2];
    assert!(detail(ooo, "delivery 2 of 2").contains("advance"));
    assert!(detail(ooo, "delivery 1 of 2").contains("final_already"));
    assert!(detail(ooo, "older kept, not applied").contains("stays succeeded"));
    // lost-webhook: the reconciler's fetch.
    for flow in &flows[4..6] {
        assert!(detail(flow, "webhooks lost").contains("503"));
        assert!(detail(flow, "found by the reconciler").contains("fetch"));
    }
    // create-500: found by reference (Payconiq), held for review (Banq), created once.
    assert!(detail(&flows[6], "create once").contains("found by reference"));
    assert!(detail(&flows[6], "created once").contains("1 creation request"));
    assert!(detail(&flows[7], "create once").contains("held for review"));
    assert!(detail(&flows[7], "create again").contains("nothing sent"));

    // The held creation is what `ledger needs-review` lists.
    let review = ledger_json(&scratch.db(), &["needs-review"]);
    let review = review.as_array().unwrap();
    assert_eq!(review.len(), 1, "{review:?}");
    assert_eq!(review[0]["provider"], "banq");
    assert_eq!(review[0]["creation"], "needs_review");
    assert_eq!(review[0]["reference"], flows[7]["reference"]);
}

#[test]
fn a_lost_creation_answer_is_recovered_or_held_for_every_provider() {
    let scratch = Scratch::new("create-500");
    let (out, report) = demo_json(&scratch.db(), &["--scenario", "create-500"]);
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    for flow in report["flows"].as_array().unwrap() {
        let provider = flow["provider"].as_str().unwrap();
        let create = flow["steps"][1]["detail"].as_str().unwrap();
        if matches!(provider, "banq" | "paylican") {
            assert!(create.contains("held for review"), "{provider}: {create}");
        } else {
            assert!(create.contains("recovered"), "{provider}: {create}");
        }
    }
}

// ------------------------------------------------------------------ the ledger subcommands

/// A Payconiq payment created through `ledger` and paid in the sandbox; the ledger is not told.
async fn paid_payconiq_payment(
    sandbox: &RunningSandbox,
    ledger: &Ledger,
    reference: &str,
) -> payments_payconiq::PayconiqClient {
    let client = payments_sandbox::hooks::payconiq::client(
        sandbox,
        payments_core::http::HttpConfig::default(),
        &format!("{}/_sandbox/sink/payconiq", sandbox.base_url()),
    )
    .unwrap();
    let created = ledger
        .create_once(
            &client,
            &CreatePayment::new(Money::from_minor(1250, Currency::EUR), reference),
        )
        .await
        .unwrap();
    sandbox
        .act(
            Provider::Payconiq,
            &created.checkout.payment_id,
            PayerAction::Pay,
        )
        .await
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_and_retried_and_reconcile_uses_the_environments_credentials() {
    let scratch = Scratch::new("ledger");
    let db = scratch.db();
    let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
    // Notifications dead after one failure; payments due for a check as soon as created.
    let ledger = Ledger::open_with(
        &db,
        LedgerOptions::default()
            .notify(NotifyPolicy::default().max_attempts(1))
            .policy(
                "payconiq",
                CheckPolicy::default().eager(Duration::from_secs(60)),
            ),
    )
    .await
    .unwrap();
    // One payment the ledger is told is paid (a change to notify), one it is not.
    let client = paid_payconiq_payment(&sandbox, &ledger, "order-dead-1").await;
    let id = ledger
        .payment("payconiq", "order-dead-1")
        .await
        .unwrap()
        .unwrap()
        .provider_payment_id
        .unwrap();
    let fetched = client.fetch_payment(&id).await.unwrap();
    ledger
        .observe("payconiq", &fetched, payments_ledger::Source::Fetch)
        .await
        .unwrap();
    paid_payconiq_payment(&sandbox, &ledger, "order-reconcile-1").await;
    // The merchant's handler fails: the change is dead-lettered at once.
    let failing = handler_fn(|_| async { Err("the shop is down".into()) });
    ledger.dispatch_once(&failing).await.unwrap();
    let dead = ledger_json(&db, &["dead-letters"]);
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["reference"], "order-dead-1");
    assert_eq!(dead[0]["last_error"], "the shop is down");
    let id = dead[0]["id"].as_i64().unwrap().to_string();
    let table = payments(&["ledger", "--db", &db, "dead-letters"]);
    assert!(text(&table.stdout).contains("the shop is down"));
    assert_eq!(ledger_json(&db, &["retry", &id])["retried"], dead[0]["id"]);
    assert!(
        ledger_json(&db, &["dead-letters"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let again = payments(&["ledger", "--db", &db, "retry", &id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains(&format!("dead letter {id}")));

    // With Payconiq's credentials (pointed at the sandbox, as a real pre-production platform
    // would be) the paid payment is found; without any, nothing is fetched.
    let out = command(&["ledger", "--db", &db, "--json", "reconcile", "--once"])
        .env("PAYCONIQ_API_KEY", &sandbox.credentials().payconiq_api_key)
        .env("PAYCONIQ_BASE_URL", sandbox.payconiq().api_base_url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["fetched"], 1, "{report}");
    assert_eq!(report["changed"], 1, "{report}");
    assert_eq!(report["providers"], serde_json::json!(["payconiq"]));
    let report = ledger_json(&db, &["reconcile", "--once"]);
    assert_eq!(report["fetched"], 0);
    assert_eq!(report["without_credentials"].as_array().unwrap().len(), 5);
    let shown = ledger_json(&db, &["show", "order-reconcile-1"]);
    assert_eq!(shown["status"], "succeeded");
    assert_eq!(shown["authenticity"], "fetched_back");

    // A reference nobody holds, a status nobody knows: one-line errors.
    let missing = payments(&["ledger", "--db", &db, "show", "no-such-order"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no-such-order"));
    let status = payments(&["ledger", "--db", &db, "list", "--status", "paid"]);
    assert_eq!(status.status.code(), Some(2));
    assert!(text(&status.stderr).contains("succeeded"));
    ledger.close().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_provider_mode_runs_against_a_base_url_from_the_environment() {
    // Payconiq's "pre-production platform" is a sandbox started here; the demo shows where to
    // pay and polls; the payer (this test) pays; no public URL, so no webhook: the reconciler
    // establishes the status.
    let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
    let scratch = Scratch::new("real");
    let mut child = command(&[
        "demo",
        "--provider",
        "payconiq",
        "--json",
        "--db",
        &scratch.db(),
    ]);
    child
        .env("PAYCONIQ_API_KEY", &sandbox.credentials().payconiq_api_key)
        .env("PAYCONIQ_BASE_URL", sandbox.payconiq().api_base_url);
    let run = tokio::task::spawn_blocking(move || child.output().unwrap());
    let id = loop {
        if let Some(payment) = sandbox.payments(Provider::Payconiq).first() {
            break payment["paymentId"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    sandbox
        .act(Provider::Payconiq, &id, PayerAction::Pay)
        .await
        .unwrap();
    let out = run.await.unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    let flow = &report["flows"][0];
    assert!(
        flow["target"]
            .as_str()
            .unwrap()
            .contains("Payconiq pre-production"),
        "{flow}"
    );
    let steps = steps(flow);
    let outcome = |name: &str| steps.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(outcome("webhook received"), "skipped");
    assert_eq!(outcome("applied"), "ok");
    assert_eq!(outcome("reconciled"), "ok");
    // Where to pay went to stderr.
    assert!(text(&out.stderr).contains(&format!("[payconiq] pay {id}")));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub2s_real_mode_pays_on_the_payer_side_with_the_configured_code() {
    // HUB2's API is a sandbox started here (HUB2_BASE_URL); the payer side runs the attempt
    // and sends HUB2_SANDBOX_OTP, as against HUB2's own sandbox.
    let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
    let scratch = Scratch::new("real-hub2");
    let credentials = sandbox.credentials();
    let out = command(&[
        "demo",
        "--provider",
        "hub2",
        "--json",
        "--db",
        &scratch.db(),
    ])
    .env("HUB2_API_KEY", &credentials.hub2_api_key)
    .env("HUB2_MERCHANT_ID", &credentials.hub2_merchant_id)
    .env("HUB2_BASE_URL", sandbox.hub2().base_url)
    .env("HUB2_SANDBOX_OTP", payments_sandbox::SANDBOX_OTP)
    .output()
    .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    let flow = &report["flows"][0];
    assert!(
        flow["target"].as_str().unwrap().starts_with("HUB2 sandbox"),
        "{flow}"
    );
    let steps = steps(flow);
    let outcome = |name: &str| steps.iter().find(|(n, _)| n == name).unwrap().1.clone();
    // No public URL: nothing registered, the attempt's answer and the reconciler's fetch.
    assert_eq!(outcome("webhook received"), "skipped");
    assert_eq!(outcome("applied"), "ok");
    assert!(
        flow["steps"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("otp → authenticated"),
        "{flow}"
    );
    assert!(
        !sandbox
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/webhooks")),
        "no webhook registered without a public URL"
    );
    sandbox.shutdown().await;
}

/// A fresh PostgreSQL database when `PAYMENTS_TEST_POSTGRES_URL` names a server: `None`
/// (saying so in one line) otherwise, unless `PAYMENTS_REQUIRE_POSTGRES=1`.
async fn postgres_database(test: &str) -> Option<(String, String, String)> {
    let required = std::env::var("PAYMENTS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let Ok(admin) = std::env::var("PAYMENTS_TEST_POSTGRES_URL") else {
        assert!(
            !required,
            "{test}: PAYMENTS_REQUIRE_POSTGRES=1 but PAYMENTS_TEST_POSTGRES_URL is not set"
        );
        #[allow(clippy::print_stdout)]
        {
            println!("skipped on PostgreSQL: PAYMENTS_TEST_POSTGRES_URL is not set");
        }
        return None;
    };
    let name = format!(
        "cli_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    Some((format!("{base}/{name}"), admin, name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_and_the_ledger_run_on_postgresql() {
    let Some((url, admin, name)) = postgres_database("cli postgres").await else {
        return;
    };
    let db = url.clone();
    let (out, report) =
        tokio::task::spawn_blocking(move || demo_json(&db, &["--provider", "hub2"]))
            .await
            .unwrap();
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    assert!(
        report["ledger"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    let db = url.clone();
    let listed = tokio::task::spawn_blocking(move || ledger_json(&db, &["list"]))
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["status"], "succeeded");
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
}

// ------------------------------------------------------------------ webhook verify

/// A Payconiq payment paid in the sandbox, and the signed callback the sandbox delivered.
async fn captured_payconiq_callback(sandbox: &RunningSandbox) -> DeliveryRecord {
    let callback = format!("{}/_sandbox/sink/payconiq/callback", sandbox.base_url());
    let client = payments_sandbox::hooks::payconiq::client(
        sandbox,
        payments_core::http::HttpConfig::default(),
        &callback,
    )
    .unwrap();
    let request = CreatePayment::new(Money::from_minor(1250, Currency::EUR), "order-cli-1")
        .webhook_url(callback);
    let checkout = client.checkout(&request).await.unwrap();
    sandbox
        .act(Provider::Payconiq, &checkout.payment_id, PayerAction::Pay)
        .await
        .unwrap();
    sandbox
        .wait_for_delivery(
            |d| d.payment_id == checkout.payment_id,
            Duration::from_secs(5),
        )
        .await
        .expect("the sandbox delivered the callback")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_webhook_verifies_and_fails_after_one_byte_changes() {
    let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
    let delivery = captured_payconiq_callback(&sandbox).await;
    let scratch = Scratch::new("verify");
    let body = scratch.write("body.json", delivery.body.as_bytes());
    let jwks = scratch.write("jwks.json", sandbox.keys().payconiq_jwks_json().as_bytes());
    let headers: Vec<String> = delivery
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let mut args = vec![
        "webhook",
        "verify",
        "payconiq",
        "--jwks",
        &jwks,
        "--profile-id",
        &sandbox.credentials().payconiq_profile_id,
    ];
    for h in &headers {
        args.extend(["--header", h.as_str()]);
    }
    let mut with_body = args.clone();
    with_body.extend(["--url", &delivery.url, "--body", body.as_str()]);
    let out = payments(&with_body);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let event: Value = serde_json::from_slice(&out.stdout).expect("the verified event as JSON");
    assert_eq!(event["provider"], "payconiq");
    assert_eq!(event["authenticity"], "signed");
    assert_eq!(event["payment_id"], delivery.payment_id.as_str());
    assert_eq!(event["status"], "succeeded");

    // One byte of the body changed: rejected, with the reason, exit status 1, nothing on stdout.
    let mut tampered = delivery.body.clone().into_bytes();
    let at = tampered.iter().position(|b| b.is_ascii_digit()).unwrap();
    tampered[at] = if tampered[at] == b'9' {
        b'8'
    } else {
        tampered[at] + 1
    };
    let tampered = scratch.write("tampered.json", &tampered);
    let mut with_tampered = args.clone();
    with_tampered.extend(["--url", &delivery.url, "--body", tampered.as_str()]);
    let out = payments(&with_tampered);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("rejected: "), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Trip-over: without --url a genuine capture was rejected with "signed claim path does not
    // match"; the rejection names the expected and the signed path.
    let mut without_url = args.clone();
    without_url.extend(["--body", body.as_str()]);
    let out = payments(&without_url);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{:?}", delivery.url)), "{stderr}");
    assert!(
        stderr.contains("expected \"https://merchant.example/webhook\""),
        "{stderr}"
    );
    assert!(stderr.contains("--url"), "{stderr}");
    sandbox.shutdown().await;
}

#[test]
fn each_provider_is_a_verify_subcommand_whose_options_clap_requires() {
    let scratch = Scratch::new("verify-usage");
    let body = scratch.write("body.json", b"{}");
    for (provider, missing) in [
        ("payconiq", "--jwks"),
        ("fintecture", "--private-key"),
        ("hub2", "--secret"),
    ] {
        let out = payments(&["webhook", "verify", provider, "--body", &body]);
        assert_eq!(out.status.code(), Some(2), "{provider}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(missing), "{provider}: {stderr}");
    }
    // A previous secret needs the current one.
    let out = payments(&[
        "webhook",
        "verify",
        "banq",
        "--body",
        &body,
        "--previous-guard-secret",
        &body,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--guard-secret"));
    // Another provider's option is refused, naming it.
    let out = payments(&[
        "webhook", "verify", "hub2", "--body", &body, "--jwks", &body,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--jwks"));
}

// ------------------------------------------------------------------ trip-over

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    let out = payments(&["demo", "--provider", "stripe"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: unknown provider `stripe`"),
        "{stderr}"
    );
    let help = payments(&["--help"]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("demo"));
}

#[test]
fn a_command_without_its_subcommand_says_what_is_missing_and_lists_them() {
    for (args, expected) in [
        (
            vec![],
            "error: `payments` needs a subcommand: demo, sandbox, ledger, webhook",
        ),
        (
            vec!["webhook"],
            "error: `payments webhook` needs a subcommand: verify",
        ),
        (
            vec!["webhook", "verify"],
            "error: `payments webhook verify` needs a subcommand: payconiq, fintecture, hub2, banq, paylican",
        ),
        (
            vec!["ledger"],
            "error: `payments ledger` needs a subcommand: list, show, history, needs-review, dead-letters, retry, reconcile",
        ),
    ] {
        let out = payments(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_zero_timeout_is_refused() {
    let out = payments(&["demo", "--offline", "--provider", "hub2", "--timeout", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--timeout"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_provider_given_twice_runs_once() {
    let scratch = Scratch::new("twice");
    let (out, report) = demo_json(&scratch.db(), &["--provider", "hub2", "--provider", "hub2"]);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["flows"].as_array().unwrap().len(), 1);
}

#[test]
fn a_fault_on_no_sandbox_route_is_refused_naming_the_prefixes() {
    let fault = r#"{"method":"POST","path":"/hub3/payment-intents","fault":{"kind":"drop"}}"#;
    let out = payments(&["demo", "--offline", "--provider", "hub2", "--fault", fault]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/hub3/payment-intents"), "{stderr}");
    assert!(
        stderr.contains("/payconiq, /fintecture, /hub2, /banq, /paylican"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_secret_given_as_the_value_is_never_echoed() {
    let scratch = Scratch::new("secret");
    let body = scratch.write("body.json", b"{}");
    let out = payments(&[
        "webhook",
        "verify",
        "hub2",
        "--body",
        &body,
        "--secret",
        "whsec_do_not_print_me",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("whsec_do_not_print_me"), "{stderr}");
    assert!(
        stderr.contains("FILE") && stderr.contains("env:NAME"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
