//! The ledger's promises, each run on SQLite and on PostgreSQL, against the sandbox over real
//! sockets: Payconiq's client creates payments, the sandbox's payer pays, and its signed
//! callbacks (delivered to the sandbox's sink) are what the merchant's server received.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use payments_core::{Payment, PaymentProvider, PaymentStatus};
use payments_ledger::{
    CheckPolicy, CreateOutcome, LedgerError, LedgerOptions, NotifyPolicy, Outcome, Providers,
    Source, Verdict,
};
use payments_sandbox::{Fault, FaultRule, PayerAction, Provider};

use support::{Payconiq, Recorder, TestDb, delivery, drain, request, start_sandbox};

on_both_databases!(
    a_webhook_delivered_three_times_is_applied_once,
    a_late_pending_after_succeeded_is_kept_but_not_applied,
    a_lost_webhook_is_found_by_the_reconciler,
    a_webhook_before_the_creation_answer_is_applied_when_the_payment_appears,
    a_reference_is_created_once_across_calls_instances_and_restarts,
    two_instances_creating_one_reference_at_once_create_one_payment,
    another_amount_for_a_used_reference_is_refused,
    an_amount_that_is_not_the_order_puts_the_payment_in_review,
    a_failing_handler_is_retried_then_dead_lettered_and_retryable,
    a_rejected_webhook_stores_nothing_and_answers_the_verifier_status,
    a_verifier_wired_to_another_providers_endpoint_stores_nothing,
    a_store_failure_answers_503_and_acknowledges_nothing,
    a_newer_schema_is_refused,
);

async fn a_webhook_delivered_three_times_is_applied_once(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    let created = ledger
        .create_once(payconiq.client.as_ref(), &payconiq.order(1000, "order-dup"))
        .await
        .unwrap();
    assert_eq!(created.outcome, CreateOutcome::Sent);
    let id = created.checkout.payment_id.clone();
    sandbox
        .act(Provider::Payconiq, &id, PayerAction::Pay)
        .await
        .unwrap();
    let paid = delivery(&sandbox, &id, "SUCCEEDED").await;

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let receipt = ledger
            .receive("payconiq", &payconiq.verifier, &request(&paid))
            .await;
        assert_eq!(receipt.status, 200, "{}", receipt.reason);
        outcomes.push(receipt.outcome);
    }
    assert!(
        matches!(
            &outcomes[0],
            Outcome::Applied {
                verdict: Verdict::Advance,
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| matches!(o, Outcome::Duplicate { .. })),
        "{outcomes:?}"
    );

    let recorder = Recorder::default();
    drain(&ledger, &recorder).await;
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].after, PaymentStatus::Succeeded);
    assert_eq!(seen[0].source, Source::Webhook);
    assert!(seen[0].payment.is_paid());
    assert_eq!(seen[0].payment.reference, "order-dup");

    let history = ledger.history("payconiq", "order-dup").await.unwrap();
    let verdicts: Vec<Verdict> = history.iter().map(|h| h.verdict).collect();
    assert_eq!(verdicts, [Verdict::Created, Verdict::Advance]);
    assert!(history[1].event_key.is_some());
}

async fn a_late_pending_after_succeeded_is_kept_but_not_applied(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    let created = ledger
        .create_once(payconiq.client.as_ref(), &payconiq.order(1000, "order-ooo"))
        .await
        .unwrap();
    let id = created.checkout.payment_id;
    // Payconiq calls back on the statuses the merchant acts on, this non-final one included.
    sandbox
        .act(
            Provider::Payconiq,
            &id,
            PayerAction::SetStatus("PENDING_MERCHANT_ACKNOWLEDGEMENT".into()),
        )
        .await
        .unwrap();
    let early = delivery(&sandbox, &id, "PENDING_MERCHANT_ACKNOWLEDGEMENT").await;
    sandbox
        .act(
            Provider::Payconiq,
            &id,
            PayerAction::SetStatus("SUCCEEDED".into()),
        )
        .await
        .unwrap();
    let paid = delivery(&sandbox, &id, "SUCCEEDED").await;

    // The provider's deliveries arrive the other way round.
    let first = ledger
        .receive("payconiq", &payconiq.verifier, &request(&paid))
        .await;
    let late = ledger
        .receive("payconiq", &payconiq.verifier, &request(&early))
        .await;
    assert_eq!((first.status, late.status), (200, 200));
    assert!(matches!(
        late.outcome,
        Outcome::Applied {
            verdict: Verdict::FinalAlready,
            ..
        }
    ));

    let payment = ledger
        .payment("payconiq", "order-ooo")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    let history = ledger.history("payconiq", "order-ooo").await.unwrap();
    let stale = history.last().unwrap();
    assert_eq!(stale.verdict, Verdict::FinalAlready);
    assert!(!stale.verdict.applied());
    assert_eq!(
        stale.raw_status.as_deref(),
        Some("PENDING_MERCHANT_ACKNOWLEDGEMENT")
    );
    assert_eq!(stale.after, PaymentStatus::Succeeded);

    let recorder = Recorder::default();
    drain(&ledger, &recorder).await;
    assert_eq!(recorder.seen().len(), 1, "only the change to succeeded");
}

async fn a_lost_webhook_is_found_by_the_reconciler(db: TestDb) {
    let sandbox = start_sandbox().await;
    // Every callback fails: the merchant's endpoint answers 500 to each attempt.
    let failing = format!("{}/_sandbox/sink/status/500", sandbox.base_url());
    let payconiq = Payconiq::with_callback(&sandbox, support::fast_http(), &failing).await;
    let ledger = db
        .open_with(LedgerOptions::default().policy(
            "payconiq",
            CheckPolicy::default().eager(Duration::from_millis(50)),
        ))
        .await;
    let created = ledger
        .create_once(
            payconiq.client.as_ref(),
            &payconiq.order(1000, "order-lost"),
        )
        .await
        .unwrap();
    let id = created.checkout.payment_id;
    sandbox
        .act(Provider::Payconiq, &id, PayerAction::Pay)
        .await
        .unwrap();

    let providers = Providers::new().with(payconiq.client.clone());
    let mut fetched = 0;
    for _ in 0..50 {
        let report = ledger.reconcile_once(&providers).await.unwrap();
        fetched += report.fetched;
        let payment = ledger
            .payment("payconiq", "order-lost")
            .await
            .unwrap()
            .unwrap();
        if payment.status.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let payment = ledger
        .payment("payconiq", "order-lost")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert!(payment.is_paid());
    assert_eq!(
        payment.next_check_at, None,
        "a final payment is not checked again"
    );
    assert!(fetched >= 1);
    let deliveries = sandbox.deliveries();
    assert!(!deliveries.is_empty());
    assert!(
        deliveries
            .iter()
            .all(|d| d.attempts.iter().all(|a| a.status == Some(500))),
        "no callback got through: {deliveries:?}"
    );

    // Further passes fetch nothing: the payment is final.
    let report = ledger.reconcile_once(&providers).await.unwrap();
    assert_eq!(report.fetched, 0);

    let recorder = Recorder::default();
    drain(&ledger, &recorder).await;
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].source, Source::Fetch);
    assert_eq!(seen[0].after, PaymentStatus::Succeeded);
}

async fn a_webhook_before_the_creation_answer_is_applied_when_the_payment_appears(db: TestDb) {
    let sandbox = start_sandbox().await;
    // The provider processes the creation at once but answers 1.5 s later: its callback
    // (the amount ending in 05 pays on its own) reaches the merchant first.
    sandbox.add_fault(
        FaultRule::new("POST", "/payconiq/v3/payments", Fault::Latency { ms: 1500 })
            .times(1)
            .after_processing(),
    );
    let http = support::fast_http().request_timeout(Duration::from_secs(10));
    let payconiq = Payconiq::with_http(&sandbox, http).await;
    let ledger = db.open().await;
    let creating = {
        let ledger = ledger.clone();
        let client = payconiq.client.clone();
        let order = payconiq.order(1005, "order-early");
        tokio::spawn(async move { ledger.create_once(client.as_ref(), &order).await })
    };
    let id = loop {
        if let Some(p) = sandbox.payments(Provider::Payconiq).first() {
            break p["paymentId"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let paid = delivery(&sandbox, &id, "SUCCEEDED").await;
    let receipt = ledger
        .receive("payconiq", &payconiq.verifier, &request(&paid))
        .await;
    assert_eq!(receipt.status, 200);
    assert!(
        matches!(receipt.outcome, Outcome::Kept { .. }),
        "{receipt:?}"
    );

    let created = creating.await.unwrap().unwrap();
    assert_eq!(created.outcome, CreateOutcome::Sent);
    assert_eq!(created.payment.status, PaymentStatus::Succeeded);
    let verdicts: Vec<Verdict> = ledger
        .history("payconiq", "order-early")
        .await
        .unwrap()
        .iter()
        .map(|h| h.verdict)
        .collect();
    assert_eq!(verdicts, [Verdict::Created, Verdict::Advance]);
}

async fn a_reference_is_created_once_across_calls_instances_and_restarts(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let order = payconiq.order(1000, "order-once");
    let first = db
        .open()
        .await
        .create_once(payconiq.client.as_ref(), &order)
        .await
        .unwrap();
    assert_eq!(first.outcome, CreateOutcome::Sent);
    // The same instance, another instance, and one opened after the others closed.
    let again = db.open().await;
    for ledger in [again.clone(), db.open().await] {
        let stored = ledger
            .create_once(payconiq.client.as_ref(), &order)
            .await
            .unwrap();
        assert_eq!(stored.outcome, CreateOutcome::Stored);
        assert_eq!(stored.checkout, first.checkout);
    }
    again.close().await;
    let reopened = db.open().await;
    let stored = reopened
        .create_once(payconiq.client.as_ref(), &order)
        .await
        .unwrap();
    assert_eq!(stored.checkout.payment_id, first.checkout.payment_id);
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);
}

async fn two_instances_creating_one_reference_at_once_create_one_payment(db: TestDb) {
    let sandbox = start_sandbox().await;
    // A slow provider makes the two calls overlap.
    sandbox.add_fault(FaultRule::new(
        "POST",
        "/payconiq/v3/payments",
        Fault::Latency { ms: 300 },
    ));
    let payconiq = Payconiq::new(&sandbox).await;
    let (a, b) = (db.open().await, db.open().await);
    let order = payconiq.order(1000, "order-race");
    let (ra, rb) = tokio::join!(
        a.create_once(payconiq.client.as_ref(), &order),
        b.create_once(payconiq.client.as_ref(), &order),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.checkout.payment_id, rb.checkout.payment_id);
    let mut outcomes = [ra.outcome, rb.outcome];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [CreateOutcome::Sent, CreateOutcome::Stored]);
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);
    let creations = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/payconiq/v3/payments")
        .count();
    assert_eq!(creations, 1);
}

async fn another_amount_for_a_used_reference_is_refused(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    ledger
        .create_once(payconiq.client.as_ref(), &payconiq.order(1000, "order-7"))
        .await
        .unwrap();
    let err = ledger
        .create_once(payconiq.client.as_ref(), &payconiq.order(99_900, "order-7"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::ReferenceConflict { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("10.00 EUR") && message.contains("999.00 EUR"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);
}

async fn an_amount_that_is_not_the_order_puts_the_payment_in_review(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    let created = ledger
        .create_once(
            payconiq.client.as_ref(),
            &payconiq.order(1000, "order-short"),
        )
        .await
        .unwrap();
    // What a fetch would report if the provider held another amount for this payment.
    let mut fetched = Payment::new(
        &created.checkout.payment_id,
        PaymentStatus::Succeeded,
        "SUCCEEDED",
    );
    fetched.amount = Some(payments_core::Money::from_minor(
        100,
        payments_core::Currency::EUR,
    ));
    let verdict = ledger
        .observe("payconiq", &fetched, Source::Fetch)
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::AmountMismatch);
    let payment = ledger
        .payment("payconiq", "order-short")
        .await
        .unwrap()
        .unwrap();
    assert!(!payment.is_paid());
    assert_eq!(payment.status, PaymentStatus::Pending, "not applied");
    assert!(payment.review.as_deref().unwrap().contains("1.00 EUR"));
    let review: Vec<String> = ledger
        .needs_review()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.reference)
        .collect();
    assert_eq!(review, ["order-short"]);
    let recorder = Recorder::default();
    drain(&ledger, &recorder).await;
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].verdict, Verdict::AmountMismatch);
    assert!(!seen[0].payment.is_paid());
}

async fn a_failing_handler_is_retried_then_dead_lettered_and_retryable(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db
        .open_with(
            LedgerOptions::default().notify(
                NotifyPolicy::default()
                    .max_attempts(3)
                    .backoff(Duration::from_millis(1), Duration::from_millis(2)),
            ),
        )
        .await;
    let (_, paid) = payconiq
        .create_and_pay(&ledger, &sandbox, "order-dead")
        .await;
    assert_eq!(
        ledger
            .receive("payconiq", &payconiq.verifier, &request(&paid))
            .await
            .status,
        200
    );

    let recorder = Recorder::default();
    recorder.failing.store(true, Ordering::SeqCst);
    let mut attempts = 0;
    while ledger.dead_letters().await.unwrap().is_empty() {
        let report = ledger.dispatch_once(&recorder).await.unwrap();
        attempts += report.failed + report.dead;
        assert!(attempts <= 3, "dead-lettered after 3 attempts");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(attempts, 3);
    let dead = ledger.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reference, "order-dead");
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("the merchant's order service is down")
    );
    // Dead letters are not redelivered on their own...
    assert_eq!(ledger.dispatch_once(&recorder).await.unwrap().failed, 0);
    // ...until a person retries them.
    recorder.failing.store(false, Ordering::SeqCst);
    ledger.retry_dead_letter(dead[0].id).await.unwrap();
    drain(&ledger, &recorder).await;
    assert_eq!(recorder.seen().len(), 1);
    assert!(ledger.dead_letters().await.unwrap().is_empty());
    assert!(matches!(
        ledger.retry_dead_letter(dead[0].id).await,
        Err(LedgerError::NotFound(_))
    ));
}

async fn a_rejected_webhook_stores_nothing_and_answers_the_verifier_status(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    let (_, mut forged) = payconiq
        .create_and_pay(&ledger, &sandbox, "order-forged")
        .await;
    forged.body = forged.body.replace("SUCCEEDED", "SUCCEEDEd");
    let receipt = ledger
        .receive("payconiq", &payconiq.verifier, &request(&forged))
        .await;
    assert_eq!(receipt.status, 401, "{}", receipt.reason);
    assert_eq!(receipt.outcome, Outcome::Rejected);
    let payment = ledger
        .payment("payconiq", "order-forged")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(
        ledger
            .history("payconiq", "order-forged")
            .await
            .unwrap()
            .len(),
        1
    );
    let rejections = ledger.rejections(10).await.unwrap();
    assert_eq!(rejections.len(), 1);
    assert_eq!(
        rejections[0].0, "payconiq",
        "logged under the endpoint's provider"
    );
    assert_eq!(rejections[0].1, 401);
    assert!(!rejections[0].2.contains("SUCCEEDEd"), "no body in the log");
}

async fn a_verifier_wired_to_another_providers_endpoint_stores_nothing(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    let (_, paid) = payconiq
        .create_and_pay(&ledger, &sandbox, "order-misrouted")
        .await;
    let receipt = ledger
        .receive("hub2", &payconiq.verifier, &request(&paid))
        .await;
    assert_eq!(receipt.status, 500, "{}", receipt.reason);
    assert_eq!(receipt.outcome, Outcome::Misrouted);
    assert!(
        receipt.reason.contains("payconiq verifier"),
        "{}",
        receipt.reason
    );
    let payment = ledger
        .payment("payconiq", "order-misrouted")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Pending, "nothing applied");
    // Wired right, the same delivery is applied: nothing was stored under its key.
    let receipt = ledger
        .receive("payconiq", &payconiq.verifier, &request(&paid))
        .await;
    assert!(matches!(
        receipt.outcome,
        Outcome::Applied {
            verdict: Verdict::Advance,
            ..
        }
    ));
}

async fn a_store_failure_answers_503_and_acknowledges_nothing(mut db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let ledger = db.open().await;
    let (_, paid) = payconiq
        .create_and_pay(&ledger, &sandbox, "order-down")
        .await;

    let broken = match db.kind {
        // A read-only ledger file: every write fails.
        support::Db::Sqlite => payments_ledger::Ledger::open(&format!("{}?mode=ro", db.url))
            .await
            .unwrap(),
        // The database dropped under the open ledger.
        support::Db::Postgres => {
            db.break_it().await;
            ledger.clone()
        }
    };
    let receipt = broken
        .receive("payconiq", &payconiq.verifier, &request(&paid))
        .await;
    assert_eq!(receipt.status, 503, "{}", receipt.reason);
    assert_eq!(receipt.outcome, Outcome::Unavailable);
    assert!(
        receipt
            .reason
            .starts_with("not stored: ledger database error: "),
        "{}",
        receipt.reason
    );
    assert!(!receipt.reason.contains('\n'));
    if db.kind == support::Db::Sqlite {
        // Nothing was acknowledged: the provider's retry is applied once the store works.
        let payment = ledger
            .payment("payconiq", "order-down")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(payment.status, PaymentStatus::Pending);
        let retry = ledger
            .receive("payconiq", &payconiq.verifier, &request(&paid))
            .await;
        assert!(matches!(
            retry.outcome,
            Outcome::Applied {
                verdict: Verdict::Advance,
                ..
            }
        ));
    }
}

async fn a_newer_schema_is_refused(db: TestDb) {
    let ledger = db.open().await;
    drop(ledger);
    let raw = payments_ledger::Ledger::open(&db.url).await.unwrap();
    raw.close().await;
    support::execute(
        &db,
        "INSERT INTO ledger_schema (version, applied_at) VALUES (99, 0)",
    )
    .await;
    let err = payments_ledger::Ledger::open(&db.url).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::SchemaTooNew {
                found: 99,
                known: 1
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade payments-ledger"), "{err}");
}

#[tokio::test]
async fn malformed_and_unreachable_urls_are_clear_one_line_errors() {
    let err = payments_ledger::Ledger::open("mysql://root:hunter2@db/payments")
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Url(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"));
    let err = payments_ledger::Ledger::open("payments.db")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sqlite://FILE"), "{err}");
    let err = payments_ledger::Ledger::open("sqlite:///nonexistent-dir/x/payments.db")
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Open(_)), "{err:?}");
    assert!(!err.to_string().contains('\n'), "{err}");
    if cfg!(feature = "postgres") {
        // Nothing listens on port 1.
        let err = payments_ledger::Ledger::open("postgres://app:s3cret@127.0.0.1:1/payments")
            .await
            .unwrap_err();
        assert!(matches!(err, LedgerError::Open(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("127.0.0.1:1/payments"), "{message}");
        assert!(
            !message.contains("s3cret") && !message.contains('\n'),
            "{message}"
        );
    }
}

#[tokio::test]
async fn an_in_memory_ledger_keeps_its_data_while_open() {
    let ledger = payments_ledger::Ledger::open("sqlite::memory:")
        .await
        .unwrap();
    let sandbox = start_sandbox().await;
    let payconiq = Payconiq::new(&sandbox).await;
    let order = payconiq.order(1000, "order-mem");
    ledger
        .create_once(payconiq.client.as_ref(), &order)
        .await
        .unwrap();
    let stored = ledger
        .create_once(payconiq.client.as_ref(), &order)
        .await
        .unwrap();
    assert_eq!(stored.outcome, CreateOutcome::Stored);
    assert_eq!(payconiq.client.name(), "payconiq");
}
