//! The ledger with each provider's own client against the sandbox, on SQLite and PostgreSQL:
//! a creation whose answer was lost, and the two providers whose webhooks are not signed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use payments_conformance::sandbox::banq::BanqSandboxHarness;
use payments_conformance::sandbox::fintecture::FintectureSandboxHarness;
use payments_conformance::sandbox::hub2::Hub2SandboxHarness;
use payments_conformance::sandbox::payconiq::PayconiqSandboxHarness;
use payments_conformance::sandbox::paylican::{GUARD_SECRET, PaylicanSandboxHarness};
use payments_conformance::sandbox::{ProviderHooks as _, SandboxHarness};
use payments_core::webhook::Authenticity;
use payments_core::{Capability, PaymentProvider, PaymentStatus};
use payments_ledger::{
    CheckPolicy, CreateOutcome, CreationState, LedgerError, LedgerOptions, Outcome, Providers,
    Resolution, Source, Verdict,
};
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_sandbox::{Fault, FaultRule, PayerAction, Provider, RunningSandbox};

use payments_test_support::{count_requests, sink_url};
use support::{Recorder, TestDb, drain, fast_http, request, start_sandbox};

on_both_databases!(
    payconiq_creation_answered_500_is_found_by_reference,
    fintecture_creation_answered_500_is_found_by_reference,
    hub2_creation_answered_500_is_found_by_reference,
    banq_creation_answered_500_is_held_for_review,
    paylican_creation_answered_500_is_held_for_review,
    a_banq_notice_is_applied_only_through_its_fetch_back,
    a_paylican_event_applies_only_at_the_trusted_authenticity,
);

/// How many requests the sandbox received on `route` (`*` for one segment).
fn count(sandbox: &RunningSandbox, (method, path): (&str, &str)) -> usize {
    count_requests(sandbox, method, path)
}

fn sink(sandbox: &RunningSandbox, provider: Provider) -> String {
    sink_url(sandbox, provider.as_str())
}

/// The provider processes the creation and its answer is lost (a 500 after processing).
async fn creation_answered_500(db: TestDb, h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (method, path) = h.create_route();
    sandbox.add_fault(
        FaultRule::new(
            method,
            path,
            Fault::Status {
                status: 500,
                body: None,
            },
        )
        .times(1)
        .after_processing(),
    );
    let url = sink(&sandbox, h.provider());
    let client = h.client(&sandbox, fast_http(), &url).await;
    let order = h.create_request(1000, &url);
    let ledger = db.open().await;
    let first = ledger.create_once(client.as_ref(), &order).await;
    let held = sandbox.payments(h.provider());
    assert_eq!(held.len(), 1, "the provider processed the creation");
    let provider = client.name();

    if client.capabilities().supports(Capability::FindByReference) {
        let created = first.unwrap();
        assert_eq!(created.outcome, CreateOutcome::Recovered);
        assert!(
            held[0].to_string().contains(&created.checkout.payment_id),
            "the payment found ({}) is the one the provider holds: {}",
            created.checkout.payment_id,
            held[0]
        );
        assert_eq!(created.payment.creation, CreationState::Created);
        // Asked again: the stored checkout, nothing sent.
        let again = ledger.create_once(client.as_ref(), &order).await.unwrap();
        assert_eq!(again.outcome, CreateOutcome::Stored);
        assert_eq!(again.checkout.payment_id, created.checkout.payment_id);
        let history = ledger.history(provider, &order.reference).await.unwrap();
        assert_eq!(history[0].verdict, Verdict::Created);
        assert!(
            history[0]
                .note
                .as_deref()
                .unwrap()
                .contains("found by reference")
        );
    } else {
        let err = first.unwrap_err();
        assert!(matches!(err, LedgerError::NeedsReview { .. }), "{err:?}");
        assert!(err.to_string().contains("cannot be searched"), "{err}");
        let before = sandbox.requests().len();
        let again = ledger
            .create_once(client.as_ref(), &order)
            .await
            .unwrap_err();
        assert!(
            matches!(again, LedgerError::NeedsReview { .. }),
            "{again:?}"
        );
        assert_eq!(sandbox.requests().len(), before, "nothing sent while held");
        let review = ledger.needs_review().await.unwrap();
        assert_eq!(review.len(), 1);
        assert_eq!(review[0].creation, CreationState::NeedsReview);

        // A person finds the payment in the provider's back office and says so.
        let id_key = if h.provider() == Provider::Paylican {
            "invoiceId"
        } else {
            "id"
        };
        let id = held[0][id_key].as_str().unwrap().to_string();
        let resolved = ledger
            .resolve_creation(
                provider,
                &order.reference,
                Resolution::Created {
                    payment_id: id.clone(),
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resolved.checkout.payment_id, id);
        let stored = ledger.create_once(client.as_ref(), &order).await.unwrap();
        assert_eq!(stored.outcome, CreateOutcome::Stored);
        assert!(ledger.needs_review().await.unwrap().is_empty());
    }
    assert_eq!(count(&sandbox, h.create_route()), 1, "created once");
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
}

async fn payconiq_creation_answered_500_is_found_by_reference(db: TestDb) {
    creation_answered_500(db, &PayconiqSandboxHarness).await;
}

async fn fintecture_creation_answered_500_is_found_by_reference(db: TestDb) {
    creation_answered_500(db, &FintectureSandboxHarness::default()).await;
}

async fn hub2_creation_answered_500_is_found_by_reference(db: TestDb) {
    creation_answered_500(db, &Hub2SandboxHarness::default()).await;
}

async fn banq_creation_answered_500_is_held_for_review(db: TestDb) {
    creation_answered_500(db, &BanqSandboxHarness::default()).await;
}

async fn paylican_creation_answered_500_is_held_for_review(db: TestDb) {
    creation_answered_500(db, &PaylicanSandboxHarness::default()).await;
}

/// Polls `reconcile_once` until the payment is final (or gives up).
async fn reconcile_until_final(
    ledger: &payments_ledger::Ledger,
    providers: &Providers,
    provider: &str,
    reference: &str,
) -> payments_ledger::LedgerPayment {
    for _ in 0..100 {
        ledger.reconcile_once(providers).await.unwrap();
        let payment = ledger.payment(provider, reference).await.unwrap().unwrap();
        if payment.status.is_final() {
            return payment;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{provider} {reference} never became final");
}

async fn a_banq_notice_is_applied_only_through_its_fetch_back(db: TestDb) {
    let sandbox = start_sandbox().await;
    let h = BanqSandboxHarness::default();
    let url = sink(&sandbox, Provider::Banq);
    let client: std::sync::Arc<dyn PaymentProvider> =
        std::sync::Arc::from(h.client(&sandbox, fast_http(), &url).await);
    let ledger = db
        .open_with(LedgerOptions::default().policy(
            "banq",
            CheckPolicy::default().eager(Duration::from_millis(20)),
        ))
        .await;
    let order = h.create_request(1000, &url);
    let created = ledger.create_once(client.as_ref(), &order).await.unwrap();
    let id = created.checkout.payment_id;
    sandbox
        .act(Provider::Banq, &id, PayerAction::Pay)
        .await
        .unwrap();
    let notice = support::deliveries_for(&sandbox, &id, 1).await.remove(0);

    let receiver = payments_banq::webhook::WebhookReceiver::new();
    let receipt = ledger.receive("banq", &receiver, &request(&notice)).await;
    assert_eq!(receipt.status, 200, "{}", receipt.reason);
    assert!(
        matches!(
            receipt.outcome,
            Outcome::Applied {
                verdict: Verdict::FetchRequested,
                ..
            }
        ),
        "{receipt:?}"
    );
    let payment = ledger.payment("banq", "order-1").await.unwrap().unwrap();
    assert_eq!(
        payment.status,
        PaymentStatus::Pending,
        "the notice itself proves nothing"
    );

    let providers = Providers::new().with(client);
    let payment = reconcile_until_final(&ledger, &providers, "banq", "order-1").await;
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.authenticity, Some(Authenticity::FetchedBack));
    assert!(payment.is_paid());
    let recorder = Recorder::default();
    drain(&ledger, &recorder).await;
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].source, Source::Fetch);
}

async fn a_paylican_event_applies_only_at_the_trusted_authenticity(db: TestDb) {
    let sandbox = start_sandbox().await;
    let h = PaylicanSandboxHarness::default();
    let url = sink(&sandbox, Provider::Paylican);
    let client = h.client(&sandbox, fast_http(), &url).await;
    let verifier =
        PaylicanWebhookVerifier::new(WebhookGuards::new().secret_in_path(GUARD_SECRET).unwrap());

    // By default a guarded (unsigned) event only asks for a fetch.
    let wary = db.open().await;
    let order = h.create_request(1000, &url);
    let created = wary.create_once(client.as_ref(), &order).await.unwrap();
    let id = created.checkout.payment_id;
    sandbox
        .act(Provider::Paylican, &id, PayerAction::Pay)
        .await
        .unwrap();
    let paid = support::deliveries_for(&sandbox, &id, 1).await.remove(0);
    let receipt = wary.receive("paylican", &verifier, &request(&paid)).await;
    assert!(
        matches!(
            receipt.outcome,
            Outcome::Applied {
                verdict: Verdict::FetchRequested,
                ..
            }
        ),
        "{receipt:?}"
    );
    let payment = wary
        .payment("paylican", &order.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert!(payment.next_check_at.is_some(), "a fetch is scheduled");

    // A merchant who trusts its guard applies what the guarded sender claims.
    let trusting = db
        .open_with(LedgerOptions::default().trust("paylican", Authenticity::Guarded))
        .await;
    let second = trusting
        .receive("paylican", &verifier, &request(&paid))
        .await;
    assert!(
        matches!(second.outcome, Outcome::Duplicate { .. }),
        "the same delivery is a duplicate for every instance: {second:?}"
    );
    let mut again = paid.clone();
    // The provider's next delivery of the same event (its retry counter changed) is a
    // duplicate too; a new event (another status) is applied at the trusted level.
    again.body = again
        .body
        .replace("\"pendingWebhooks\":2", "\"pendingWebhooks\":1");
    assert_ne!(again.body, paid.body, "the retry's body differs");
    let retry = trusting
        .receive("paylican", &verifier, &request(&again))
        .await;
    assert!(
        matches!(retry.outcome, Outcome::Duplicate { .. }),
        "{retry:?}"
    );

    let other = trusting
        .create_once(client.as_ref(), &h.create_request(2000, &url))
        .await
        .unwrap();
    sandbox
        .act(
            Provider::Paylican,
            &other.checkout.payment_id,
            PayerAction::Pay,
        )
        .await
        .unwrap();
    let paid = support::deliveries_for(&sandbox, &other.checkout.payment_id, 1)
        .await
        .remove(0);
    let receipt = trusting
        .receive("paylican", &verifier, &request(&paid))
        .await;
    assert!(
        matches!(
            receipt.outcome,
            Outcome::Applied {
                verdict: Verdict::Advance,
                ..
            }
        ),
        "{receipt:?}"
    );
    let payment = trusting
        .payment("paylican", &other.payment.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.authenticity, Some(Authenticity::Guarded));
}
