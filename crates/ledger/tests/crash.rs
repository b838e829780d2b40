//! A process that stops while it receives a webhook (power lost, killed): a child process
//! receives the delivery and aborts at a chosen point; after the restart, the provider's retry
//! is applied exactly once, whatever the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;

use payments_core::PaymentStatus;
use payments_ledger::testing::{CrashPoint, arm_crash_point};
use payments_ledger::{Outcome, Verdict};
use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
use payments_payconiq::webhook::WebhookSettings;
use payments_sandbox::DeliveryRecord;
use serde_json::{Value, json};

use support::{Payconiq, Recorder, TestDb, drain, fast_http, request, start_sandbox};

on_both_databases!(a_crash_while_receiving_a_webhook_loses_nothing_and_applies_it_once);

const CHILD: &str = "crash_child";
const SPEC: &str = "PAYMENTS_LEDGER_CRASH_SPEC";

/// The child: opens the ledger, arms the crash point, receives the delivery. It must not
/// return: the crash point aborts the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the crash tests run it as a child process"]
async fn crash_child() {
    let spec: Value = serde_json::from_str(&std::env::var(SPEC).unwrap()).unwrap();
    let text = |key: &str| spec[key].as_str().unwrap().to_string();
    let headers: Vec<(String, String)> = serde_json::from_value(spec["headers"].clone()).unwrap();
    let body = text("body");
    let url = text("url");
    let ledger = payments_ledger::Ledger::open(&text("db")).await.unwrap();
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(text("profile_id"), text("callback_url")),
        JwksFetcher::new(&text("jwks_url"), &fast_http()).unwrap(),
    );
    arm_crash_point(match text("point").as_str() {
        "before_event_insert" => CrashPoint::BeforeEventInsert,
        "after_event_insert" => CrashPoint::AfterEventInsert,
        "before_commit" => CrashPoint::BeforeCommit,
        _ => CrashPoint::AfterCommit,
    });
    let delivered = payments_core::webhook::WebhookRequest::new("POST", &url, body.as_bytes())
        .headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let receipt = ledger.receive("payconiq", &verifier, &delivered).await;
    panic!("the child was to crash, but answered {receipt:?}");
}

/// Runs the child at `point`; returns once it has died.
fn crash_at(
    db: &TestDb,
    point: &str,
    payconiq: &Payconiq,
    jwks_url: &str,
    profile: &str,
    delivery: &DeliveryRecord,
) {
    let spec = json!({
        "db": db.url,
        "point": point,
        "jwks_url": jwks_url,
        "profile_id": profile,
        "callback_url": payconiq.callback_url,
        "url": delivery.url,
        "headers": delivery.headers,
        "body": delivery.body,
    });
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SPEC, spec.to_string())
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "the child did not crash at {point}: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            output.status.signal(),
            Some(6),
            "the child aborted at the crash point (SIGABRT), not another failure: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

async fn a_crash_while_receiving_a_webhook_loses_nothing_and_applies_it_once(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let jwks_url = payments_conformance::sandbox::payconiq::jwks_url(&sandbox);
    let profile = sandbox.credentials().payconiq_profile_id.clone();
    let ledger = db.open().await;
    let recorder = Recorder::default();

    for (n, point) in [
        "before_event_insert",
        "after_event_insert",
        "before_commit",
        "after_commit",
    ]
    .into_iter()
    .enumerate()
    {
        let reference = format!("order-crash-{n}");
        let (_, paid) = payconiq.create_and_pay(&ledger, &sandbox, &reference).await;

        crash_at(&db, point, &payconiq, &jwks_url, &profile, &paid);

        // The restart: a new instance on the same database.
        let restarted = db.open().await;
        let payment = restarted
            .payment("payconiq", &reference)
            .await
            .unwrap()
            .unwrap();
        let committed = point == "after_commit";
        assert_eq!(
            payment.status,
            if committed {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Pending
            },
            "{point}: a transaction cut short leaves nothing; a committed one is whole"
        );

        // The provider got no 2xx, so it delivers again: applied now, or a duplicate.
        let retry = restarted
            .receive("payconiq", &payconiq.verifier, &request(&paid))
            .await;
        assert_eq!(retry.status, 200, "{point}: {}", retry.reason);
        if committed {
            assert!(
                matches!(retry.outcome, Outcome::Duplicate { .. }),
                "{point}: {retry:?}"
            );
        } else {
            assert!(
                matches!(
                    retry.outcome,
                    Outcome::Applied {
                        verdict: Verdict::Advance,
                        ..
                    }
                ),
                "{point}: {retry:?}"
            );
        }
        let again = restarted
            .receive("payconiq", &payconiq.verifier, &request(&paid))
            .await;
        assert!(
            matches!(again.outcome, Outcome::Duplicate { .. }),
            "{point}: {again:?}"
        );

        let history = restarted.history("payconiq", &reference).await.unwrap();
        let webhook_rows = history
            .iter()
            .filter(|h| h.source == payments_ledger::Source::Webhook)
            .count();
        assert_eq!(
            webhook_rows, 1,
            "{point}: applied exactly once: {history:?}"
        );
        let payment = restarted
            .payment("payconiq", &reference)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        drain(&restarted, &recorder).await;
        assert_eq!(
            recorder.seen().len(),
            n + 1,
            "{point}: one change notified per payment"
        );
    }
}
