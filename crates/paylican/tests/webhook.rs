//! Webhooks: every documented example (fixtures from Paylican's documentation, verbatim), unknown
//! and malformed bodies, and each guard accepting and refusing. Needs no HTTP client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;

use payments_core::secret::SecretString;
use payments_core::webhook::{Authenticity, WebhookRejection, WebhookRequest, WebhookVerifier};
use payments_core::{Currency, Decimal, Money, PaymentStatus};
use payments_paylican::convert::money;
use payments_paylican::testing::{self, Delivery, EventBuilder};
use payments_paylican::webhook::{
    IpNet, PaylicanWebhookVerifier, WebhookGuards, client_address, parse_event,
};
use payments_paylican::{EventType, InvoiceStatus, PaylicanEvent, PaymentMode};
use payments_test_support::{Fixtures, fixtures};
use time::macros::datetime;

const FIXTURES: Fixtures = fixtures!();

const SECRET: &str = "9f2c1e7a4b6d8f0a2c4e6a8b0d2f4a6c";
const HOOK: &str = "https://shop.example/paylican/webhook";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn unguarded(
    body: &[u8],
) -> Result<payments_core::webhook::VerifiedEvent<PaylicanEvent>, WebhookRejection> {
    PaylicanWebhookVerifier::unguarded().verify(&WebhookRequest::new("POST", HOOK, body))
}

// ---------------------------------------------------------------- documented examples

#[test]
fn payment_initiated_is_pending_with_nanosecond_timestamps() {
    let event = unguarded(&FIXTURES.bytes("webhook_payment_initiated.json")).unwrap();
    assert_eq!(event.provider, "paylican");
    assert_eq!(
        event.event_id,
        "41768:invoice.payment_initiated:UNPAID:gup87876f"
    );
    assert_eq!(
        event.dedup_key(),
        "paylican:41768:invoice.payment_initiated:UNPAID:gup87876f"
    );
    assert_eq!(
        event.event_type.as_deref(),
        Some("invoice.payment_initiated")
    );
    assert_eq!(event.payment_id.as_deref(), Some("ABC2024-123"));
    assert_eq!(event.status, Some(PaymentStatus::Pending));
    assert_eq!(event.raw_status.as_deref(), Some("UNPAID"));
    assert_eq!(
        event.occurred_at,
        Some(datetime!(2024-03-28 14:32:47.238686329 UTC))
    );
    assert_eq!(event.authenticity, Authenticity::Unverified);
    let data = &event.data;
    assert_eq!(data.event_type, EventType::PaymentInitiated);
    assert_eq!(data.pending_webhooks, Some(2));
    assert!(!data.is_paid());
    assert_eq!(data.data.payment_mode, Some(PaymentMode::BankTransfer));
    assert_eq!(
        data.data.payment_date,
        Some(datetime!(2024-03-28 14:34:30.155101 UTC))
    );
    assert_eq!(data.data.bank_code.as_deref(), Some("GNAFRI"));
    assert_eq!(data.data.document_no.as_deref(), Some("REF-178T876"));
    assert_eq!(data.data.total_amount, Some(Decimal::new(100, 0).unwrap()));
    assert_eq!(
        event.raw_body,
        FIXTURES.bytes("webhook_payment_initiated.json")
    );
    insta::assert_debug_snapshot!("webhook_payment_initiated", data);
}

#[test]
fn payment_executed_is_paid_because_of_its_status_not_its_type() {
    let event = unguarded(&FIXTURES.bytes("webhook_payment_executed.json")).unwrap();
    assert_eq!(event.data.event_type, EventType::PaymentInitiated);
    assert!(event.data.is_paid());
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.raw_status.as_deref(), Some("PAID"));
    insta::assert_debug_snapshot!("webhook_payment_executed", event.data);
}

#[test]
fn payment_error_and_rejected_leave_the_invoice_unpaid() {
    for (name, expected) in [
        ("webhook_payment_error.json", EventType::PaymentError),
        ("webhook_payment_rejected.json", EventType::PaymentRejected),
    ] {
        let event = unguarded(&FIXTURES.bytes(name)).unwrap();
        assert_eq!(event.data.event_type, expected);
        assert_eq!(event.status, Some(PaymentStatus::Pending), "{name}");
        assert!(!event.data.is_paid());
        assert_eq!(event.data.data.payment_mode, None);
        assert_eq!(event.data.data.bank_code, None);
        assert_eq!(event.data.data.payment_no.as_deref(), Some("gup87876f"));
    }
    let error = unguarded(&FIXTURES.bytes("webhook_payment_error.json")).unwrap();
    assert_eq!(
        error.dedup_key(),
        "paylican:41768:invoice.payment_error:UNPAID:gup87876f"
    );
    assert_eq!(error.event_type.as_deref(), Some("invoice.payment_error"));
    assert_eq!(error.payment_id.as_deref(), Some("ABC2024-123"));
    assert_eq!(
        error.occurred_at,
        Some(datetime!(2024-03-28 14:32:47.238686329 UTC))
    );
    insta::assert_debug_snapshot!("webhook_payment_error", error.data);
    insta::assert_debug_snapshot!(
        "webhook_payment_rejected",
        unguarded(&FIXTURES.bytes("webhook_payment_rejected.json"))
            .unwrap()
            .data
    );
}

// ---------------------------------------------------------------- de-duplication

/// Paylican's four documented examples all carry webhook `id` 41768, with different types and
/// statuses: the id alone cannot be the de-duplication key, or the PAID event after an UNPAID
/// one is dropped as a duplicate.
#[test]
fn one_webhook_id_with_another_type_or_status_is_another_event() {
    let key = |name: &str| unguarded(&FIXTURES.bytes(name)).unwrap().dedup_key();
    let initiated = key("webhook_payment_initiated.json");
    let executed = key("webhook_payment_executed.json");
    let error = key("webhook_payment_error.json");
    let rejected = key("webhook_payment_rejected.json");
    assert_ne!(
        initiated, executed,
        "UNPAID then PAID under one id must be two events"
    );
    assert_ne!(error, rejected, "same status, another type: another event");
    assert_ne!(initiated, error);
    assert_eq!(
        executed,
        "paylican:41768:invoice.payment_initiated:PAID:gup87876f"
    );

    // The same delivery again (a retry) is the same event, even though Paylican counts
    // `pendingWebhooks` down and may stamp a new `createdAt`.
    assert_eq!(key("webhook_payment_executed.json"), executed);
    let retry = String::from_utf8(FIXTURES.bytes("webhook_payment_executed.json"))
        .unwrap()
        .replace(r#""pendingWebhooks":2"#, r#""pendingWebhooks":1"#)
        .replace("14:32:47.238686329Z", "14:33:47.5Z");
    assert_eq!(unguarded(retry.as_bytes()).unwrap().dedup_key(), executed);

    // Another payment attempt (another `paymentNo`) on the same invoice is another event.
    let attempt = String::from_utf8(FIXTURES.bytes("webhook_payment_error.json"))
        .unwrap()
        .replace("gup87876f", "gup99999x");
    assert_ne!(unguarded(attempt.as_bytes()).unwrap().dedup_key(), error);
}

/// Values that contain the separator, or a missing versus an empty `paymentNo`, never make two
/// different events share a key.
#[test]
fn dedup_keys_are_unambiguous_whatever_the_values_contain() {
    let body = |event_type: &str, status: &str, payment_no: Option<&str>| -> Vec<u8> {
        let mut data = serde_json::json!({"id": "ABC2024-123", "status": status});
        if let Some(no) = payment_no {
            data["paymentNo"] = no.into();
        }
        serde_json::to_vec(&serde_json::json!({"id": 41768, "type": event_type, "data": data}))
            .unwrap()
    };
    let pairs = [
        (body("a:b", "PAID", None), body("a", "b:PAID", None)),
        (body("x", "PAID:p", None), body("x", "PAID", Some("p"))),
        (body("x", "PAID", None), body("x", "PAID", Some(""))),
        (body("x", "PAID%3A", None), body("x", "PAID:", None)),
        (
            body("x", "PAID", Some("p:q")),
            body("x:PAID", "p", Some("q")),
        ),
    ];
    for (one, other) in pairs {
        let (a, b) = (
            unguarded(&one).unwrap().dedup_key(),
            unguarded(&other).unwrap().dedup_key(),
        );
        assert_ne!(
            a,
            b,
            "{} and {} share a key",
            String::from_utf8_lossy(&one),
            String::from_utf8_lossy(&other)
        );
    }
}

#[test]
fn invoice_paid_with_an_unpaid_status_is_not_paid() {
    let body = EventBuilder::paid()
        .status(InvoiceStatus::Unpaid)
        .to_json()
        .unwrap();
    let event = unguarded(&body).unwrap();
    assert_eq!(event.data.event_type, EventType::Paid);
    assert_eq!(event.status, Some(PaymentStatus::Pending));
}

#[test]
fn the_testing_constants_and_builders_are_the_documented_bodies() {
    for (constant, builder, file) in [
        (
            testing::PAYMENT_INITIATED,
            EventBuilder::initiated(),
            "webhook_payment_initiated.json",
        ),
        (
            testing::PAYMENT_ERROR,
            EventBuilder::error(),
            "webhook_payment_error.json",
        ),
        (
            testing::PAYMENT_EXECUTED,
            EventBuilder::executed(),
            "webhook_payment_executed.json",
        ),
        (
            testing::PAYMENT_REJECTED,
            EventBuilder::rejected(),
            "webhook_payment_rejected.json",
        ),
    ] {
        let documented = parse_event(&FIXTURES.bytes(file)).unwrap();
        assert_eq!(
            constant.as_bytes().trim_ascii(),
            FIXTURES.bytes(file).trim_ascii(),
            "{file}"
        );
        assert_eq!(builder.clone().build(), documented, "{file}");
        assert_eq!(
            parse_event(&builder.to_json().unwrap()).unwrap(),
            documented,
            "{file}"
        );
    }
    let body = String::from_utf8(EventBuilder::initiated().to_json().unwrap()).unwrap();
    assert!(
        body.contains(r#""createdAt":"2024-03-28T14:32:47.238686329Z""#),
        "{body}"
    );
    assert!(body.contains(r#""totalAmount":100"#), "{body}");
}

// ---------------------------------------------------------------- amounts and fields

#[test]
fn amounts_are_exact_decimals() {
    let body = EventBuilder::executed()
        .total_amount(Decimal::parse("5100.00").unwrap())
        .to_json()
        .unwrap();
    assert!(
        String::from_utf8(body.clone())
            .unwrap()
            .contains(r#""totalAmount":5100.00"#)
    );
    let event = unguarded(&body).unwrap();
    let amount = event.data.data.total_amount.unwrap();
    assert_eq!(amount.to_string(), "5100.00");
    assert_eq!(
        money(amount, Currency::EUR).unwrap(),
        Money::from_minor(510_000, Currency::EUR)
    );
    assert_eq!(
        money(amount, Currency::GNF).unwrap(),
        Money::from_minor(5100, Currency::GNF)
    );
    // Jackson writes a BigDecimal with a negative scale (`stripTrailingZeros()` of 5100) as
    // `5.1E+3`: read exactly, not refused (a refused PAID webhook is retried until Paylican gives
    // up).
    let text = String::from_utf8(FIXTURES.bytes("webhook_payment_executed.json"))
        .unwrap()
        .replace(r#""totalAmount": 100"#, r#""totalAmount": 5.1E+3"#);
    let event = unguarded(text.as_bytes()).unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(
        money(event.data.data.total_amount.unwrap(), Currency::GNF).unwrap(),
        Money::from_minor(5100, Currency::GNF)
    );
    let text = String::from_utf8(FIXTURES.bytes("webhook_payment_error.json"))
        .unwrap()
        .replace(r#""totalAmount": 100"#, r#""totalAmount": "0.10""#);
    let event = unguarded(text.as_bytes()).unwrap();
    assert_eq!(event.data.data.total_amount.unwrap().to_string(), "0.10");
    assert!(money(event.data.data.total_amount.unwrap(), Currency::GNF).is_err());
}

/// `5100.005` cannot be an amount in GNF (no decimals). With the account currency configured,
/// such an event is malformed and names the field; it is never accepted with the amount lost.
#[test]
fn an_amount_the_account_currency_cannot_hold_is_a_malformed_payload_naming_the_field() {
    let text = String::from_utf8(FIXTURES.bytes("webhook_payment_executed.json"))
        .unwrap()
        .replace(r#""totalAmount": 100"#, r#""totalAmount": 5100.005"#);
    let request = WebhookRequest::new("POST", HOOK, text.as_bytes());
    let err = PaylicanWebhookVerifier::unguarded()
        .currency(Currency::GNF)
        .verify(&request)
        .unwrap_err();
    assert!(
        matches!(&err, WebhookRejection::MalformedPayload(reason)
            if reason.contains("data.totalAmount") && reason.contains("GNF")),
        "{err:?}"
    );
    assert_eq!(err.http_status(), 400);
    assert!(!err.to_string().contains("5100"), "repeats nothing: {err}");
    // In a currency that holds it, the same body verifies, the amount exact.
    let event = PaylicanWebhookVerifier::unguarded()
        .currency(Currency::KWD)
        .verify(&request)
        .unwrap();
    assert_eq!(
        event.data.data.total_amount.unwrap().to_string(),
        "5100.005"
    );
    // Beyond 64-bit minor units: out of range, named too.
    let huge = String::from_utf8(FIXTURES.bytes("webhook_payment_executed.json"))
        .unwrap()
        .replace(r#""totalAmount": 100"#, r#""totalAmount": 1E+30"#);
    let err = PaylicanWebhookVerifier::unguarded()
        .currency(Currency::GNF)
        .verify(&WebhookRequest::new("POST", HOOK, huge.as_bytes()))
        .unwrap_err();
    assert!(
        matches!(&err, WebhookRejection::MalformedPayload(reason) if reason.contains("data.totalAmount")),
        "{err:?}"
    );
}

#[test]
fn additional_fields_are_kept_and_null_is_empty() {
    let body = EventBuilder::executed()
        .additional_field("documentNo", "TST1201901260")
        .additional_field("documentDate", "2018-01-03Z")
        .to_json()
        .unwrap();
    let event = unguarded(&body).unwrap();
    assert_eq!(event.data.data.additional_fields.len(), 2);
    assert_eq!(
        event.data.data.additional_field("documentDate"),
        Some("2018-01-03Z")
    );
    assert_eq!(event.data.data.additional_field("absent"), None);
    let text = String::from_utf8(FIXTURES.bytes("webhook_payment_error.json"))
        .unwrap()
        .replace(r#""additionalFields": []"#, r#""additionalFields": null"#);
    assert!(
        unguarded(text.as_bytes())
            .unwrap()
            .data
            .data
            .additional_fields
            .is_empty()
    );
    let text = String::from_utf8(FIXTURES.bytes("webhook_payment_error.json"))
        .unwrap()
        .replace(
            r#""additionalFields": []"#,
            r#""additionalFields": [{"code": "x"}, {}]"#,
        );
    let event = unguarded(text.as_bytes()).unwrap();
    assert_eq!(event.data.data.additional_fields[0].value, None);
}

#[test]
fn unknown_types_statuses_and_fields_are_kept_never_success() {
    let text = String::from_utf8(FIXTURES.bytes("webhook_payment_executed.json"))
        .unwrap()
        .replace("invoice.payment_initiated", "invoice.refunded")
        .replace(
            r#""status": "PAID""#,
            r#""status": "PARTIALLY_PAID", "newField": {"a": 1}"#,
        )
        .replace(
            r#""paymentMode": "BANK_TRANSFER""#,
            r#""paymentMode": "CARD""#,
        );
    let event = unguarded(text.as_bytes()).unwrap();
    assert_eq!(
        event.data.event_type,
        EventType::Other("invoice.refunded".into())
    );
    assert_eq!(event.event_type.as_deref(), Some("invoice.refunded"));
    assert_eq!(
        event.status,
        Some(PaymentStatus::Unknown("PARTIALLY_PAID".into()))
    );
    assert!(!event.status.unwrap().is_success());
    assert!(!event.data.is_paid());
    assert_eq!(
        event.data.data.payment_mode,
        Some(PaymentMode::Other("CARD".into()))
    );
}

#[test]
fn optional_fields_may_be_missing() {
    let event =
        unguarded(br#"{"id":1,"type":"invoice.viewed","data":{"id":"INV-1","status":"UNPAID"}}"#)
            .unwrap();
    assert_eq!(event.data.event_type, EventType::Viewed);
    assert_eq!(event.occurred_at, None);
    assert_eq!(event.data.pending_webhooks, None);
    assert_eq!(event.data.data.total_amount, None);
}

#[test]
fn missing_required_fields_are_malformed_payloads_naming_the_field() {
    let full = String::from_utf8(FIXTURES.bytes("webhook_payment_executed.json")).unwrap();
    for (from, to, field) in [
        (r#""id": 41768,"#, "", "id"),
        (
            r#""type": "invoice.payment_initiated""#,
            r#""other": 1"#,
            "type",
        ),
        (r#""id": "ABC2024-123","#, "", "id"),
        (r#""status": "PAID","#, "", "status"),
    ] {
        let body = full.replacen(from, to, 1);
        assert_ne!(body, full, "{from}");
        let err = unguarded(body.as_bytes()).unwrap_err();
        match &err {
            WebhookRejection::MalformedPayload(reason) => {
                assert!(
                    reason.contains(&format!("missing field `{field}`")),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.http_status(), 400);
    }
    let no_data = br#"{"id":1,"type":"invoice.paid"}"#;
    assert!(matches!(
        unguarded(no_data),
        Err(WebhookRejection::MalformedPayload(_))
    ));
}

#[test]
fn garbage_bodies_are_malformed_payloads_that_repeat_nothing() {
    let large = vec![b' '; payments_paylican::webhook::MAX_BODY + 1];
    for body in [
        &b""[..],
        b"not json",
        b"[]",
        b"null",
        &[0xff, 0xfe, 0x00],
        br#"{"id":"41768-SECRETISH","type":"invoice.paid","data":{"id":"I","status":"PAID"}}"#,
        br#"{"id":1,"type":"invoice.paid","data":{"id":"I","status":"PAID","totalAmount":1e400}}"#,
        br#"{"id":1,"type":"invoice.paid","data":{"id":"I","status":"PAID","totalAmount":"1,5"}}"#,
        br#"{"id":1,"type":"invoice.paid","createdAt":"yesterday","data":{"id":"I","status":"PAID"}}"#,
        br#"{"id":1,"type":"invoice.paid","data":{"id":"I","status":"PAID""#,
        &large,
    ] {
        let err = unguarded(body).unwrap_err();
        assert!(matches!(err, WebhookRejection::MalformedPayload(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRETISH"), "{err}");
    }
}

// ---------------------------------------------------------------- guards

fn executed() -> Vec<u8> {
    EventBuilder::executed().to_json().unwrap()
}

#[test]
fn a_secret_in_the_path_is_required() {
    let verifier =
        PaylicanWebhookVerifier::new(WebhookGuards::new().secret_in_path(SECRET).unwrap());
    let body = executed();
    let accepted = |url: &str| verifier.verify(&WebhookRequest::new("POST", url, &body));
    for url in [
        format!("{HOOK}/{SECRET}"),
        format!("{HOOK}/{SECRET}/"),
        format!("{HOOK}/{SECRET}?utm=1"),
        format!("/paylican/webhook/{SECRET}"),
        format!("{HOOK}/{}", SECRET.replace('9', "%39")),
    ] {
        let event = accepted(&url).unwrap_or_else(|e| panic!("{url}: {e:?}"));
        assert_eq!(event.authenticity, Authenticity::Guarded);
    }
    for url in [
        HOOK.to_string(),
        format!("{HOOK}/{}", &SECRET[..31]),
        format!("{HOOK}/{SECRET}x"),
        format!("{HOOK}/{SECRET}/extra"),
        format!("{HOOK}?{SECRET}"),
        "https://shop.example".to_string(),
    ] {
        let err = accepted(&url).unwrap_err();
        assert!(
            matches!(err, WebhookRejection::Unauthenticated(_)),
            "{url}: {err:?}"
        );
        assert_eq!(err.http_status(), 401);
        assert!(!err.to_string().contains(SECRET), "{err}");
    }
}

#[test]
fn a_secret_in_the_query_is_required_once() {
    let verifier = PaylicanWebhookVerifier::new(
        WebhookGuards::new()
            .secret_in_query("token", SECRET)
            .unwrap(),
    );
    let body = executed();
    let check = |url: String| verifier.verify(&WebhookRequest::new("POST", &url, &body));
    assert!(check(format!("{HOOK}?token={SECRET}")).is_ok());
    assert!(check(format!("{HOOK}?a=1&token={SECRET}#frag")).is_ok());
    for url in [
        format!("{HOOK}?token=wrong"),
        format!("{HOOK}?Token={SECRET}"),
        format!("{HOOK}?token={SECRET}&token={SECRET}"),
        format!("{HOOK}/{SECRET}"),
        HOOK.to_string(),
    ] {
        let err = check(url.clone()).unwrap_err();
        assert!(
            matches!(err, WebhookRejection::Unauthenticated(_)),
            "{url}: {err:?}"
        );
    }
}

/// Rotating the URL secret: the current secret and, while it is configured, the previous one are
/// accepted, in the path or in the query; once the previous one is removed it is refused.
#[test]
fn a_previous_url_secret_is_accepted_while_configured_and_refused_once_removed() {
    const PREVIOUS: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let body = executed();
    let path = |secret: &str| format!("{HOOK}/{secret}");
    let query = |secret: &str| format!("{HOOK}?token={secret}");
    type Case<'a> = (WebhookGuards, WebhookGuards, &'a dyn Fn(&str) -> String);
    let cases: [Case<'_>; 2] = [
        (
            WebhookGuards::new()
                .secret_in_path(SECRET)
                .unwrap()
                .with_previous_url_secret(PREVIOUS)
                .unwrap(),
            WebhookGuards::new().secret_in_path(SECRET).unwrap(),
            &path,
        ),
        (
            WebhookGuards::new()
                .secret_in_query("token", SECRET)
                .unwrap()
                .with_previous_url_secret(PREVIOUS)
                .unwrap(),
            WebhookGuards::new()
                .secret_in_query("token", SECRET)
                .unwrap(),
            &query,
        ),
    ];
    for (rotating, rotated, url) in cases {
        let (rotating, rotated) = (
            PaylicanWebhookVerifier::new(rotating),
            PaylicanWebhookVerifier::new(rotated),
        );
        let verify = |verifier: &PaylicanWebhookVerifier, secret: &str| {
            verifier.verify(&WebhookRequest::new("POST", &url(secret), &body))
        };
        for secret in [SECRET, PREVIOUS] {
            let event = verify(&rotating, secret).unwrap();
            assert_eq!(event.authenticity, Authenticity::Guarded);
        }
        assert!(verify(&rotated, SECRET).is_ok());
        for (verifier, secret) in [
            (&rotated, PREVIOUS),
            (&rotating, "ffffffffffffffffffffffffffffffff"),
            (&rotating, &PREVIOUS[..31]),
        ] {
            let err = verify(verifier, secret).unwrap_err();
            assert!(
                matches!(err, WebhookRejection::Unauthenticated(_)),
                "{secret}: {err:?}"
            );
            let reason = err.to_string();
            assert!(
                !reason.contains(SECRET) && !reason.contains(PREVIOUS),
                "{reason}"
            );
        }
        let shown = format!("{rotating:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains(PREVIOUS),
            "{shown}"
        );
        assert!(shown.contains("previous_url_secrets: 1"), "{shown}");
    }
    // A previous secret needs a current one, and is held to the same rules.
    assert!(
        WebhookGuards::new()
            .with_previous_url_secret(PREVIOUS)
            .is_err()
    );
    let guards = WebhookGuards::new().secret_in_path(SECRET).unwrap();
    assert!(guards.clone().with_previous_url_secret("short").is_err());
    assert!(
        guards
            .clone()
            .with_previous_url_secret("a/b-0123456789abcdef")
            .is_err()
    );
    assert!(
        guards.with_previous_url_secret(SECRET).is_err(),
        "the current one again"
    );
}

#[test]
fn basic_auth_is_checked() {
    let password = SecretString::from("correct horse battery staple");
    let verifier = PaylicanWebhookVerifier::new(
        WebhookGuards::new()
            .basic_auth("paylican", &password)
            .unwrap(),
    );
    let body = executed();
    let ok =
        Delivery::new(HOOK, body.clone()).basic_auth("paylican", "correct horse battery staple");
    assert_eq!(
        verifier.verify(&ok.request()).unwrap().authenticity,
        Authenticity::Guarded
    );
    let lower_scheme = Delivery::new(HOOK, body.clone())
        .header("authorization", ok.headers[1].1.replace("Basic", "basic"));
    assert!(verifier.verify(&lower_scheme.request()).is_ok());
    for delivery in [
        Delivery::new(HOOK, body.clone()),
        Delivery::new(HOOK, body.clone()).basic_auth("paylican", "correct horse battery stapl"),
        Delivery::new(HOOK, body.clone()).basic_auth("other", "correct horse battery staple"),
        Delivery::new(HOOK, body.clone()).header("Authorization", "Bearer abc"),
        Delivery::new(HOOK, body.clone()).header("Authorization", "Basic !!!"),
        Delivery::new(HOOK, body.clone()).header("Authorization", "Basic"),
    ] {
        let err = verifier.verify(&delivery.request()).unwrap_err();
        assert!(
            matches!(err, WebhookRejection::Unauthenticated(_)),
            "{err:?}"
        );
        assert!(!err.to_string().contains("staple"));
    }
    let twice = ok
        .clone()
        .basic_auth("paylican", "correct horse battery staple");
    assert!(matches!(
        verifier.verify(&twice.request()),
        Err(WebhookRejection::DuplicateHeader(_))
    ));
}

#[test]
fn the_source_allow_list_needs_the_peer_address() {
    let verifier = PaylicanWebhookVerifier::new(
        WebhookGuards::new()
            .allow_source("203.0.113.0/24")
            .unwrap()
            .allow_source("2001:db8::/32")
            .unwrap(),
    );
    let body = executed();
    let request = WebhookRequest::new("POST", HOOK, &body);
    for peer in ["203.0.113.9", "::ffff:203.0.113.200", "2001:db8::7"] {
        let event = verifier.verify_from(&request, ip(peer)).unwrap();
        assert_eq!(event.authenticity, Authenticity::Guarded);
        assert!(verifier.from_peer(ip(peer)).verify(&request).is_ok());
    }
    for peer in ["203.0.114.9", "10.0.0.1", "2001:db9::1", "::1"] {
        let err = verifier.verify_from(&request, ip(peer)).unwrap_err();
        assert!(
            matches!(&err, WebhookRejection::SourceNotAllowed(shown) if shown.contains(peer.trim_start_matches("::ffff:"))),
            "{err:?}"
        );
        assert_eq!(err.http_status(), 403);
    }
    // Without a peer address it fails closed.
    let err = verifier.verify(&request).unwrap_err();
    assert!(
        matches!(err, WebhookRejection::SourceNotAllowed(_)),
        "{err:?}"
    );
}

#[test]
fn every_configured_guard_must_pass() {
    let password = SecretString::from("correct horse battery staple");
    let verifier = PaylicanWebhookVerifier::new(
        WebhookGuards::new()
            .secret_in_path(SECRET)
            .unwrap()
            .basic_auth("paylican", &password)
            .unwrap()
            .allow_source("203.0.113.0/24")
            .unwrap(),
    );
    let good = Delivery::new(format!("{HOOK}/{SECRET}"), executed())
        .basic_auth("paylican", "correct horse battery staple");
    assert!(
        verifier
            .verify_from(&good.request(), ip("203.0.113.1"))
            .is_ok()
    );
    assert!(matches!(
        verifier.verify_from(&good.request(), ip("198.51.100.1")),
        Err(WebhookRejection::SourceNotAllowed(_))
    ));
    let no_secret = Delivery {
        url: HOOK.into(),
        ..good.clone()
    };
    assert!(matches!(
        verifier.verify_from(&no_secret.request(), ip("203.0.113.1")),
        Err(WebhookRejection::Unauthenticated(_))
    ));
    let no_auth = Delivery::new(format!("{HOOK}/{SECRET}"), executed());
    assert!(matches!(
        verifier.verify_from(&no_auth.request(), ip("203.0.113.1")),
        Err(WebhookRejection::Unauthenticated(_))
    ));
}

#[test]
fn guards_run_before_the_body_is_read() {
    let verifier =
        PaylicanWebhookVerifier::new(WebhookGuards::new().secret_in_path(SECRET).unwrap());
    let err = verifier
        .verify(&WebhookRequest::new("POST", HOOK, b"garbage"))
        .unwrap_err();
    assert!(
        matches!(err, WebhookRejection::Unauthenticated(_)),
        "{err:?}"
    );
}

#[test]
fn only_post_is_accepted_unless_told_otherwise() {
    let body = executed();
    let get = WebhookRequest::new("GET", HOOK, &body);
    let err = PaylicanWebhookVerifier::unguarded()
        .verify(&get)
        .unwrap_err();
    assert!(
        matches!(err, WebhookRejection::MethodNotAllowed(_)),
        "{err:?}"
    );
    assert_eq!(err.http_status(), 405);
    assert!(
        PaylicanWebhookVerifier::unguarded()
            .accept_any_method()
            .verify(&get)
            .is_ok()
    );
}

#[test]
fn weak_or_malformed_guard_configuration_is_refused() {
    assert!(WebhookGuards::new().secret_in_path("short").is_err());
    assert!(
        WebhookGuards::new()
            .secret_in_path("a/b-0123456789abcdef")
            .is_err()
    );
    assert!(WebhookGuards::new().secret_in_query("", SECRET).is_err());
    assert!(
        WebhookGuards::new()
            .basic_auth("u", &SecretString::from("short"))
            .is_err()
    );
    assert!(
        WebhookGuards::new()
            .basic_auth("a:b", &SecretString::from("correct horse battery staple"))
            .is_err()
    );
    assert!(WebhookGuards::new().allow_source("not-an-ip").is_err());
    assert!(WebhookGuards::new().is_empty());
}

#[test]
fn guards_never_show_their_secrets() {
    let guards = WebhookGuards::new()
        .secret_in_query("token", SECRET)
        .unwrap()
        .basic_auth(
            "paylican",
            &SecretString::from("correct horse battery staple"),
        )
        .unwrap();
    let shown = format!(
        "{guards:?} {:?}",
        PaylicanWebhookVerifier::new(guards.clone())
    );
    assert!(
        !shown.contains(SECRET) && !shown.contains("staple"),
        "{shown}"
    );
    assert!(
        shown.contains("token") && shown.contains("basic_auth: true"),
        "{shown}"
    );
}

// ---------------------------------------------------------------- X-Forwarded-For

#[test]
fn client_address_trusts_forwarded_for_only_behind_trusted_proxies() {
    let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    // Direct connection: the header is ignored, whatever it claims.
    assert_eq!(
        client_address(ip("198.51.100.1"), &["203.0.113.9"], &proxies),
        Some(ip("198.51.100.1"))
    );
    // Through our proxy: the rightmost untrusted entry, not the client's claim on the left.
    assert_eq!(
        client_address(ip("10.0.0.2"), &["203.0.113.9, 198.51.100.1"], &proxies),
        Some(ip("198.51.100.1"))
    );
    assert_eq!(
        client_address(
            ip("10.0.0.2"),
            &["1.2.3.4, 203.0.113.9, 10.0.0.3"],
            &proxies
        ),
        Some(ip("203.0.113.9"))
    );
    assert_eq!(
        client_address(ip("10.0.0.2"), &["[2001:db8::1]:443"], &proxies),
        Some(ip("2001:db8::1"))
    );
    // Fail closed: no header or a garbage entry.
    assert_eq!(client_address(ip("10.0.0.2"), &[], &proxies), None);
    assert_eq!(
        client_address(ip("10.0.0.2"), &["unknown, 10.0.0.3"], &proxies),
        None
    );
    assert_eq!(
        client_address(ip("::ffff:198.51.100.1"), &[], &proxies),
        Some(ip("198.51.100.1"))
    );
}
