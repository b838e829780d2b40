//! Several instances on one database, many deliveries at once: every event is applied exactly
//! once, every payment ends in the right status, and the merchant hears of each change once and
//! in order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use payments_core::PaymentStatus;
use payments_ledger::{Ledger, LedgerOptions, Outcome, Source, Verdict};
use payments_sandbox::{PayerAction, Provider};

use support::{Payconiq, Recorder, TestDb, deliveries_for, request, start_sandbox};

on_both_databases!(four_instances_apply_a_thousand_deliveries_of_a_hundred_events_exactly_once);

const INSTANCES: usize = 4;
const PAYMENTS: usize = 10;
const EVENTS_PER_PAYMENT: usize = 10;
const DELIVERIES_PER_EVENT: usize = 10;

async fn four_instances_apply_a_thousand_deliveries_of_a_hundred_events_exactly_once(db: TestDb) {
    let sandbox = start_sandbox().await;
    let payconiq = Arc::new(Payconiq::new(&sandbox).await);
    let mut ledgers = Vec::new();
    for _ in 0..INSTANCES {
        ledgers.push(
            db.open_with(LedgerOptions::default().max_connections(4))
                .await,
        );
    }

    // Ten payments; each gets nine non-final callbacks and then its final one.
    let finals = ["SUCCEEDED", "FAILED", "CANCELLED"];
    let mut expected = HashMap::new();
    let mut events = Vec::new();
    for p in 0..PAYMENTS {
        let reference = format!("order-{p}");
        let created = ledgers[p % INSTANCES]
            .create_once(payconiq.client.as_ref(), &payconiq.order(1000, &reference))
            .await
            .unwrap();
        let id = created.checkout.payment_id;
        let last = finals[p % finals.len()];
        for n in 0..EVENTS_PER_PAYMENT {
            let status = if n + 1 == EVENTS_PER_PAYMENT {
                last
            } else {
                "PENDING_MERCHANT_ACKNOWLEDGEMENT"
            };
            sandbox
                .act(
                    Provider::Payconiq,
                    &id,
                    PayerAction::SetStatus(status.into()),
                )
                .await
                .unwrap();
        }
        events.extend(deliveries_for(&sandbox, &id, EVENTS_PER_PAYMENT).await);
        expected.insert(reference, last);
    }
    assert_eq!(events.len(), PAYMENTS * EVENTS_PER_PAYMENT);

    // A thousand deliveries in a random order, spread over the four instances, all at once.
    let mut deliveries: Vec<_> = events
        .iter()
        .flat_map(|e| std::iter::repeat_n(e.clone(), DELIVERIES_PER_EVENT))
        .collect();
    fastrand::shuffle(&mut deliveries);
    let mut tasks = Vec::new();
    for (n, delivery) in deliveries.into_iter().enumerate() {
        let ledger = ledgers[n % INSTANCES].clone();
        let payconiq = payconiq.clone();
        tasks.push(tokio::spawn(async move {
            ledger
                .receive("payconiq", &payconiq.verifier, &request(&delivery))
                .await
        }));
    }
    let mut applied = 0;
    let mut duplicates = 0;
    for task in tasks {
        let receipt = task.await.unwrap();
        assert_eq!(receipt.status, 200, "{}", receipt.reason);
        match receipt.outcome {
            Outcome::Applied { .. } => applied += 1,
            Outcome::Duplicate { .. } => duplicates += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        applied,
        PAYMENTS * EVENTS_PER_PAYMENT,
        "every event applied once"
    );
    assert_eq!(
        duplicates,
        PAYMENTS * EVENTS_PER_PAYMENT * (DELIVERIES_PER_EVENT - 1)
    );

    // Each payment: its final status, each of its events once in its history.
    let mut changes = 0;
    for (reference, last) in &expected {
        let payment = ledgers[0]
            .payment("payconiq", reference)
            .await
            .unwrap()
            .unwrap();
        let want = match *last {
            "SUCCEEDED" => PaymentStatus::Succeeded,
            "FAILED" => PaymentStatus::Failed,
            _ => PaymentStatus::Cancelled,
        };
        assert_eq!(payment.status, want, "{reference}");
        assert!(
            payment.review.is_none(),
            "{reference}: {:?}",
            payment.review
        );
        let history = ledgers[1].history("payconiq", reference).await.unwrap();
        let webhooks: Vec<_> = history
            .iter()
            .filter(|h| h.source == Source::Webhook)
            .collect();
        assert_eq!(webhooks.len(), EVENTS_PER_PAYMENT, "{reference}");
        let mut keys: Vec<_> = webhooks.iter().map(|h| h.event_key.clone()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            EVENTS_PER_PAYMENT,
            "{reference}: distinct events"
        );
        changes += history
            .iter()
            .filter(|h| h.verdict == Verdict::Advance)
            .count();
    }

    // The four instances deliver the changes together: each once, in order per payment.
    let recorder = Recorder::default();
    let mut dispatchers = Vec::new();
    for ledger in &ledgers {
        let ledger: Ledger = ledger.clone();
        let recorder = recorder.clone();
        dispatchers.push(tokio::spawn(async move {
            support::drain(&ledger, &recorder).await;
        }));
    }
    for d in dispatchers {
        d.await.unwrap();
    }
    let seen = recorder.seen();
    assert_eq!(seen.len(), changes, "one handler call per distinct change");
    let mut ids: Vec<i64> = seen.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), changes, "no change delivered twice");
    let mut last_seen: HashMap<String, PaymentStatus> = HashMap::new();
    for change in &seen {
        let before = last_seen
            .insert(change.payment.reference.clone(), change.after.clone())
            .unwrap_or(PaymentStatus::Pending);
        assert_eq!(
            change.before, before,
            "{}: changes in order",
            change.payment.reference
        );
    }
}
