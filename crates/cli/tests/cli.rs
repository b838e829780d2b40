//! The `payments` binary as a process: the demo's exit code and summary, and offline webhook
//! verification of a webhook captured from the sandbox.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use payments_core::PaymentProvider;
use payments_sandbox::{DeliveryRecord, PayerAction, Provider, RunningSandbox, Sandbox};
use serde_json::Value;

fn payments(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_payments"))
        .args(args)
        .env_remove("PAYMENTS_DEMO_PUBLIC_URL")
        .output()
        .expect("the payments binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn demo_completes_every_provider_and_exits_zero() {
    let out = payments(&["demo", "--offline", "--json"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let report: Value = serde_json::from_str(&stdout).expect("--json prints one JSON document");
    assert_eq!(report["passed"], true);
    let flows = report["providers"].as_array().unwrap();
    let names: Vec<&str> = flows
        .iter()
        .map(|f| f["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["payconiq", "fintecture", "hub2", "banq", "paylican"]
    );
    for flow in flows {
        let steps: Vec<(&str, &str)> = flow["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
            .collect();
        for step in [
            "create",
            "payer pays",
            "webhook verified",
            "status fetched",
            "reconciled",
        ] {
            assert!(
                steps.contains(&(step, "ok")),
                "{}: step {step} not ok: {steps:?}",
                flow["provider"]
            );
        }
    }
}

#[test]
fn demo_prints_a_step_table_and_a_summary() {
    let out = payments(&["demo", "--offline", "--provider", "hub2"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("summary: 1/1 providers passed"), "{stdout}");
    assert!(stdout.contains("webhook verified"), "{stdout}");
    // Progress goes to stderr, the report to stdout.
    assert!(text(&out.stderr).contains("[hub2] create ..."));
}

#[test]
fn demo_exits_non_zero_when_a_step_fails() {
    // The creation is processed but its answer is lost: the client must report an unknown
    // outcome (and not create a second payment); the demo reports the failed step.
    let fault = r#"{"method":"POST","path":"/payconiq/v3/payments","fault":{"kind":"status","status":500},"phase":"after"}"#;
    let out = payments(&[
        "demo",
        "--offline",
        "--provider",
        "payconiq",
        "--fault",
        fault,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("summary: 0/1 providers passed"), "{stdout}");
    assert!(stdout.contains("; failed: payconiq"), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
}

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
}

#[test]
fn argument_errors_are_one_line_too() {
    let out = payments(&["webhook", "verify", "--provider", "hub2"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--body"), "{stderr}");
    let help = payments(&["--help"]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("demo"));
}

struct Capture {
    dir: PathBuf,
}

impl Capture {
    fn new(name: &str) -> Capture {
        let dir = std::env::temp_dir().join(format!(
            "payments-cli-{name}-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Capture { dir }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A Payconiq payment paid in the sandbox, and the signed callback the sandbox delivered.
async fn captured_payconiq_callback(sandbox: &RunningSandbox) -> DeliveryRecord {
    let callback = format!("{}/_sandbox/sink/payconiq/callback", sandbox.base_url());
    let config = payments_payconiq::PayconiqConfig::new(
        sandbox.credentials().payconiq_api_key.clone(),
        payments_payconiq::Environment::PreProduction,
    )
    .base_url(format!("{}/v3", sandbox.provider_url(Provider::Payconiq)));
    let client = payments_payconiq::PayconiqClient::new(config).unwrap();
    let request = payments_core::CreatePayment::new(
        payments_core::Money::from_minor(1250, payments_core::Currency::EUR),
        "order-cli-1",
    )
    .webhook_url(callback);
    let checkout = PaymentProvider::create_payment(&client, &request)
        .await
        .unwrap();
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
    let capture = Capture::new("verify");
    let body = capture.write("body.json", delivery.body.as_bytes());
    let jwks = capture.write("jwks.json", sandbox.keys().payconiq_jwks_json().as_bytes());
    let headers: Vec<String> = delivery
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let mut args = vec![
        "webhook",
        "verify",
        "--provider",
        "payconiq",
        "--url",
        &delivery.url,
        "--jwks",
        &jwks,
        "--profile-id",
        &sandbox.credentials().payconiq_profile_id,
    ];
    for h in &headers {
        args.extend(["--header", h.as_str()]);
    }
    let mut with_body = args.clone();
    with_body.extend(["--body", body.as_str()]);
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
    let tampered = capture.write("tampered.json", &tampered);
    let mut with_tampered = args.clone();
    with_tampered.extend(["--body", tampered.as_str()]);
    let out = payments(&with_tampered);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("rejected: "), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    sandbox.shutdown().await;
}
