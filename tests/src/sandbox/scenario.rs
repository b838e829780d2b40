//! The sandbox scenarios. Each starts its own sandbox, so they run in parallel.

use std::time::Duration;

use payments_core::webhook::Authenticity;
use payments_core::{Capability, Delivery as Sent, Error, PaymentStatus, RefundRequest};
use payments_sandbox::{
    DeliveryRecord, DeliveryState, Fault, FaultRule, PayerAction, RunningSandbox,
};
use payments_test_support::{
    act, count_requests, fast_http, fault_once, sink_url, start_sandbox, status_fault,
    too_many_requests,
};

use super::SandboxHarness;

/// An amount the sandbox leaves to the control endpoints (ends in 00).
const PLAIN: i64 = 1000;
/// An amount the sandbox's payer fails (ends in 01).
const FAILS: i64 = 1001;

fn sink(sandbox: &RunningSandbox, h: &dyn SandboxHarness) -> String {
    sink_url(sandbox, &h.provider().to_string())
}

fn count(sandbox: &RunningSandbox, (method, path): (&str, &str)) -> usize {
    count_requests(sandbox, method, path)
}

async fn create(
    h: &dyn SandboxHarness,
    sandbox: &RunningSandbox,
    minor_units: i64,
) -> (Box<dyn payments_core::PaymentProvider>, String) {
    let url = sink(sandbox, h);
    let client = h.client(sandbox, fast_http(), &url).await;
    let checkout = client
        .checkout(&h.create_request(minor_units, &url))
        .await
        .unwrap();
    (client, checkout.payment_id)
}

fn supports_get(client: &dyn payments_core::PaymentProvider) -> bool {
    client.capabilities().supports(Capability::GetPayment)
}

/// A creation is pending, gives the payer somewhere to pay, and exists once at the provider.
pub async fn create_is_pending_and_says_where_to_pay(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let url = sink(&sandbox, h);
    let client = h.client(&sandbox, fast_http(), &url).await;
    let checkout = client
        .checkout(&h.create_request(PLAIN, &url))
        .await
        .unwrap();
    assert_eq!(checkout.status, PaymentStatus::Pending);
    assert!(
        checkout.redirect_url.is_some()
            || checkout.deeplink.is_some()
            || checkout.qr_code_url.is_some(),
        "a checkout gives the payer somewhere to pay"
    );
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
    assert_eq!(count(&sandbox, h.create_route()), 1);
}

/// Once the payer pays, the payment is `Succeeded` with the provider's paid status.
pub async fn the_payer_pays_and_the_payment_is_succeeded(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, PLAIN).await;
    act(&sandbox, h.provider(), &id, PayerAction::Pay).await;
    if supports_get(client.as_ref()) {
        let payment = client.fetch_payment(&id).await.unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        assert_eq!(payment.raw_status, h.paid_status());
    } else {
        let delivery = paid_delivery(&sandbox, &id).await;
        let verified = h.verify(&sandbox, &delivery).await.unwrap();
        assert_eq!(verified.status, Some(PaymentStatus::Succeeded));
    }
}

/// An amount ending in 01 fails on its own: the payment is never success, and final where the
/// provider's failures are final.
pub async fn a_failing_amount_ends_final_and_never_success(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, FAILS).await;
    let status = if supports_get(client.as_ref()) {
        let mut status = PaymentStatus::Pending;
        for _ in 0..100 {
            status = client.fetch_payment(&id).await.unwrap().status;
            if status.is_final() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        status
    } else {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let delivery = last_delivery(&sandbox, &id).await;
        h.verify(&sandbox, &delivery)
            .await
            .unwrap()
            .status
            .expect("a status")
    };
    assert!(!status.is_success(), "{status:?}");
    if h.failures_are_final() {
        assert!(status.is_final(), "{status:?}");
    }
}

/// Any raw status the crate does not know is `Unknown`, never success.
pub async fn an_undocumented_status_is_unknown_never_success(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, PLAIN).await;
    if !supports_get(client.as_ref()) {
        return;
    }
    act(
        &sandbox,
        h.provider(),
        &id,
        PayerAction::SetStatus("SANDBOX_NEW_STATUS_2031".into()),
    )
    .await;
    let payment = client.fetch_payment(&id).await.unwrap();
    assert!(
        matches!(&payment.status, PaymentStatus::Unknown(raw) if raw.contains("SANDBOX_NEW_STATUS_2031")),
        "{:?}",
        payment.status
    );
}

/// A 429 is retried (the provider refused to process it) and one payment exists.
pub async fn a_429_on_create_is_retried_and_creates_one_payment(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (method, path) = h.create_route();
    fault_once(&sandbox, method, path, too_many_requests(0));
    let (_, id) = create(h, &sandbox, PLAIN).await;
    assert!(!id.is_empty());
    assert_eq!(count(&sandbox, h.create_route()), 2);
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
}

async fn creation_fails_once(h: &dyn SandboxHarness, rule: FaultRule) -> (RunningSandbox, Error) {
    let sandbox = start_sandbox().await;
    sandbox.add_fault(rule);
    let url = sink(&sandbox, h);
    let client = h.client(&sandbox, fast_http(), &url).await;
    let err = client
        .checkout(&h.create_request(PLAIN, &url))
        .await
        .unwrap_err();
    assert_eq!(err.delivery(), Sent::Unknown, "{err:?}");
    assert_eq!(
        count(&sandbox, h.create_route()),
        1,
        "a creation with an unknown outcome is never sent again"
    );
    (sandbox, err)
}

/// A creation processed but answered 500 is not re-sent; the caller is told to reconcile, and
/// the provider holds exactly one payment.
pub async fn a_creation_answered_500_after_processing_is_sent_once(h: &dyn SandboxHarness) {
    let (method, path) = h.create_route();
    let rule = FaultRule::new(
        method,
        path,
        Fault::Status {
            status: 500,
            body: None,
        },
    )
    .times(1)
    .after_processing();
    let (sandbox, err) = creation_fails_once(h, rule).await;
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
}

/// A creation processed but answered 500 is resolved by the merchant reference where the
/// provider can search: exactly one payment is found, it is the one the provider holds, and
/// the creation is not sent again. Where the provider cannot search, `find_by_reference` is
/// `Unsupported` and sends nothing.
pub async fn a_creation_answered_500_is_found_by_reference_or_declared_unsupported(
    h: &dyn SandboxHarness,
) {
    let (method, path) = h.create_route();
    let rule = FaultRule::new(
        method,
        path,
        Fault::Status {
            status: 500,
            body: None,
        },
    )
    .times(1)
    .after_processing();
    let sandbox = start_sandbox().await;
    sandbox.add_fault(rule);
    let url = sink(&sandbox, h);
    let client = h.client(&sandbox, fast_http(), &url).await;
    let request = h.create_request(PLAIN, &url);
    let err = client.checkout(&request).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    let held = sandbox.payments(h.provider());
    assert_eq!(held.len(), 1, "the provider processed the creation");
    let before = sandbox.requests().len();
    if !client.capabilities().supports(Capability::FindByReference) {
        let err = client
            .find_by_reference(&request.reference)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert_eq!(sandbox.requests().len(), before, "nothing sent");
        return;
    }
    let found = client.find_by_reference(&request.reference).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        !found[0].id.is_empty() && held[0].to_string().contains(&found[0].id),
        "the payment found ({}) is the one the provider holds: {}",
        found[0].id,
        held[0]
    );
    assert_eq!(found[0].amount, Some(request.amount));
    let find_route = h
        .find_route()
        .expect("a harness declaring FindByReference gives its route");
    assert!(count(&sandbox, find_route) >= 1, "the search was sent");
    assert_eq!(count(&sandbox, h.create_route()), 1, "never created twice");
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
}

/// A creation whose connection drops before the answer is not re-sent.
pub async fn a_creation_whose_connection_drops_is_sent_once(h: &dyn SandboxHarness) {
    let (method, path) = h.create_route();
    let rule = FaultRule::new(method, path, Fault::Drop)
        .times(1)
        .after_processing();
    let (sandbox, _) = creation_fails_once(h, rule).await;
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
}

/// A creation slower than the client's timeout is not re-sent, and exists once.
pub async fn a_creation_timing_out_is_sent_once(h: &dyn SandboxHarness) {
    let (method, path) = h.create_route();
    let rule = FaultRule::new(method, path, Fault::Latency { ms: 2000 }).times(1);
    let (sandbox, err) = creation_fails_once(h, rule).await;
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    // The provider went on with the request after the client gave up: the payment exists, once.
    for _ in 0..100 {
        if !sandbox.payments(h.provider()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sandbox.payments(h.provider()).len(), 1);
}

/// A read answered 503, then dropped, is retried and returns the real answer.
pub async fn a_read_answered_503_or_dropped_is_retried(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, PLAIN).await;
    if !supports_get(client.as_ref()) {
        return;
    }
    act(&sandbox, h.provider(), &id, PayerAction::Pay).await;
    let (method, path) = h.get_route();
    fault_once(&sandbox, method, path, status_fault(503));
    fault_once(&sandbox, method, path, Fault::Drop);
    let payment = client.fetch_payment(&id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(count(&sandbox, h.get_route()), 3);
}

/// A truncated answer is an error, never a status.
pub async fn a_malformed_answer_is_an_error_never_success(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, PLAIN).await;
    if !supports_get(client.as_ref()) {
        return;
    }
    let (method, path) = h.get_route();
    sandbox.add_fault(FaultRule::new(method, path, Fault::Malformed));
    let err = client.fetch_payment(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

/// A payment the provider does not have is the provider's own error, with its HTTP status.
pub async fn an_unknown_payment_is_a_provider_error(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let url = sink(&sandbox, h);
    let client = h.client(&sandbox, fast_http(), &url).await;
    if !supports_get(client.as_ref()) {
        return;
    }
    let err = client.fetch_payment("no-such-payment").await.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(404), "{err:?}");
}

/// Cancel moves the payment to a final non-success status when declared, and is
/// `Unsupported` with nothing sent otherwise.
pub async fn cancel_works_or_is_declared_unsupported(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, PLAIN).await;
    let before = sandbox.requests().len();
    if client.capabilities().supports(Capability::CancelPayment) {
        client.cancel(&id).await.unwrap();
        if supports_get(client.as_ref()) {
            let payment = client.fetch_payment(&id).await.unwrap();
            assert!(payment.status.is_final() && !payment.status.is_success());
        }
    } else {
        let err = client.cancel(&id).await.unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert_eq!(sandbox.requests().len(), before);
    }
}

/// A declared refund of a paid payment succeeds once; a refund of an unpaid one is refused;
/// an undeclared refund is `Unsupported` with nothing sent.
pub async fn refund_works_or_is_declared_unsupported(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (client, id) = create(h, &sandbox, PLAIN).await;
    let before = sandbox.requests().len();
    if client.capabilities().supports(Capability::Refund) {
        act(&sandbox, h.provider(), &id, PayerAction::Pay).await;
        let refund = client
            .refund_payment(&RefundRequest::full(&id))
            .await
            .unwrap();
        assert!(
            !matches!(refund.status, payments_core::RefundStatus::Unknown(_)),
            "{refund:?}"
        );
    } else {
        let err = client
            .refund_payment(&RefundRequest::full(&id))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert_eq!(sandbox.requests().len(), before);
    }
}

/// The last delivery about `id` once none is pending (a provider may send several, e.g.
/// "processing" then "succeeded").
async fn last_delivery(sandbox: &RunningSandbox, id: &str) -> DeliveryRecord {
    for _ in 0..250 {
        let about: Vec<DeliveryRecord> = sandbox
            .deliveries()
            .into_iter()
            .filter(|d| d.payment_id == id)
            .collect();
        if about.iter().all(|d| d.state != DeliveryState::Pending)
            && let Some(last) = about.into_iter().last()
        {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "no finished webhook delivery about {id}: {:?}",
        sandbox.deliveries()
    );
}

async fn paid_delivery(sandbox: &RunningSandbox, id: &str) -> DeliveryRecord {
    let delivery = last_delivery(sandbox, id).await;
    assert_eq!(delivery.state, DeliveryState::Delivered, "{delivery:?}");
    delivery
}

/// The webhook of a paid payment verifies with the crate's verifier and reports success; a
/// copy with one body byte changed is rejected (signed providers) or established only by what
/// the provider confirms (unsigned ones).
pub async fn the_paid_webhook_verifies_and_a_tampered_one_does_not(h: &dyn SandboxHarness) {
    let sandbox = start_sandbox().await;
    let (_client, id) = create(h, &sandbox, PLAIN).await;
    act(&sandbox, h.provider(), &id, PayerAction::Pay).await;
    let delivery = paid_delivery(&sandbox, &id).await;
    let verified = h.verify(&sandbox, &delivery).await.unwrap();
    assert_eq!(verified.status, Some(PaymentStatus::Succeeded));

    let mut tampered = delivery.clone();
    let mut bytes = tampered.body.into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'0' { b'1' } else { b'0' };
    tampered.body = String::from_utf8_lossy(&bytes).into_owned();
    match h.verify(&sandbox, &tampered).await {
        Err(_) => {}
        Ok(v) => assert_ne!(
            v.authenticity,
            Authenticity::Signed,
            "a tampered body passed a signature check"
        ),
    }
    if verified.authenticity == Authenticity::Signed {
        assert!(
            h.verify(&sandbox, &tampered).await.is_err(),
            "a signed provider must reject a tampered body"
        );
    }
}

/// A receiver that keeps answering 500 gets the provider's documented number of attempts.
pub async fn a_refused_webhook_is_retried_as_documented(h: &dyn SandboxHarness) {
    // HUB2 documents about 34 h of retries: a million times faster, 124 ms.
    let sandbox = payments_sandbox::Sandbox::builder()
        .time_divisor(1_000_000)
        .start()
        .await
        .unwrap();
    let url = format!("{}/_sandbox/sink/status/500", sandbox.base_url());
    let client = h.client(&sandbox, fast_http(), &url).await;
    let id = client
        .checkout(&h.create_request(PLAIN, &url))
        .await
        .unwrap()
        .payment_id;
    act(&sandbox, h.provider(), &id, PayerAction::Pay).await;
    let delivery = last_delivery(&sandbox, &id).await;
    assert_eq!(delivery.state, DeliveryState::GaveUp, "{delivery:?}");
    assert_eq!(
        delivery.attempts.len(),
        h.webhook_attempts(),
        "{delivery:?}"
    );
    assert!(delivery.attempts.iter().all(|a| a.status == Some(500)));
}
