//! Paylican: the webhook guards, events, API answers, its decimal and timestamp formats.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use payments_core::Currency;
use payments_core::webhook::{Authenticity, WebhookRequest, WebhookVerifier};
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards, parse_event};
use payments_paylican::wire::{CreatePaymentResponse, Invoice, big_decimal, zoned_date_time};
use secrecy::SecretString;

use crate::support::{round_trip, select, text};

const SECRET: &str = "9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9";
const USER: &str = "shop";
const PASSWORD: &str = "c1d0e7b2a4c58a1e6d4b3c2f1a0e99f3";
/// An invoice event as Paylican's webhook documentation shows it.
const BODY: &[u8] = br#"{"createdAt":"2024-03-28T14:32:47.238686329Z","data":{"additionalFields":[],"bankCode":"GNAFRI","collector":"GNAFRI","documentNo":"REF-178T876","id":"ABC2024-123","paymentDate":"2024-03-28T14:34:30.155101Z","paymentMode":"BANK_TRANSFER","paymentNo":"gup87876f","status":"PAID","totalAmount":100},"id":41768,"pendingWebhooks":2,"type":"invoice.payment_initiated"}"#;

/// Paylican's webhook guards and parsing. The first byte selects (modulo 4):
///
/// - `0`: the sender: the second byte picks the peer address (inside or outside the allowed
///   `203.0.113.0/24`, IPv4 or IPv4-mapped IPv6), the rest is the URL, a newline, and the
///   `Authorization` header, checked by a verifier with all three guards
///   ([`WebhookGuards`](payments_paylican::webhook::WebhookGuards): the URL secret in the query
///   parameter `token`, basic auth, the source allow-list) on a fixed body. An accepted event is
///   `Guarded`, came from the allowed network and carried the secret and the credentials.
/// - `1`: the same with the secret as the URL's last path segment.
/// - `2`: the event body, to an unguarded verifier in the currency the second byte picks: it
///   accepts exactly what [`parse_event`](payments_paylican::webhook::parse_event) accepts and
///   the currency holds, with the event's id.
/// - `3`: API answers: an invoice (and its neutral payment), a created payment (each written
///   back and read again to the same value), the error body, and Paylican's decimal and
///   timestamp texts ([`big_decimal::parse`](payments_paylican::wire::big_decimal::parse),
///   [`zoned_date_time::parse`](payments_paylican::wire::zoned_date_time::parse)).
pub fn paylican(data: &[u8]) {
    let Some((selector, input)) = select(data, 4) else {
        return;
    };
    match selector {
        0 => guards(input, false),
        1 => guards(input, true),
        2 => event(input),
        _ => api_answers(input),
    }
}

fn guards(input: &[u8], in_path: bool) {
    let Some((&pick, rest)) = input.split_first() else {
        return;
    };
    let password = SecretString::from(PASSWORD);
    let guards = if in_path {
        WebhookGuards::new().secret_in_path(SECRET)
    } else {
        WebhookGuards::new().secret_in_query("token", SECRET)
    };
    let Ok(guards) = guards
        .and_then(|g| g.basic_auth(USER, &password))
        .and_then(|g| g.allow_source("203.0.113.0/24"))
    else {
        return;
    };
    let verifier = PaylicanWebhookVerifier::new(guards);
    let peer = match pick % 4 {
        0 => IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        1 => IpAddr::V6(Ipv4Addr::new(203, 0, 113, 8).to_ipv6_mapped()),
        2 => IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
        _ => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    };
    let rest = text(rest);
    let (url, authorization) = rest.split_once('\n').unwrap_or((&rest, ""));
    let request = WebhookRequest::new("POST", url, BODY).header("Authorization", authorization);
    let Ok(event) = verifier.verify_from(&request, peer) else {
        return;
    };
    assert_eq!(event.authenticity, Authenticity::Guarded);
    assert!(pick % 4 < 2, "a sender outside the allow-list passed");
    let decoded = payments_core::provider_support::percent_decode(url);
    assert!(
        String::from_utf8_lossy(&decoded).contains(SECRET),
        "{url:?} passed without the secret"
    );
    let credentials = authorization
        .split_once(' ')
        .and_then(|(_, encoded)| B64.decode(encoded.trim()).ok());
    assert_eq!(
        credentials.as_deref(),
        Some(format!("{USER}:{PASSWORD}").as_bytes()),
        "wrong credentials passed"
    );
    // Without a peer address the allow-list refuses.
    assert!(verifier.verify(&request).is_err());
}

fn event(input: &[u8]) {
    let Some((&pick, body)) = input.split_first() else {
        return;
    };
    let all = Currency::ALL;
    let Some(&currency) = all.get(usize::from(pick) % all.len()) else {
        return;
    };
    let verifier = PaylicanWebhookVerifier::unguarded().currency(currency);
    let request = WebhookRequest::new("POST", "https://shop.example/paylican/webhook", body);
    let verified = verifier.verify(&request);
    let parsed = parse_event(body);
    if let Ok(event) = &verified {
        assert_eq!(event.authenticity, Authenticity::Unverified);
        assert_eq!(event.raw_body, body);
        let parsed = parsed.as_ref().ok();
        assert_eq!(parsed.map(|p| p.event_id()).as_ref(), Some(&event.event_id));
        assert_eq!(parsed.map(|p| &p.data.id), event.payment_id.as_ref());
    } else if let Ok(parsed) = &parsed {
        // Parsed but refused: only for an amount the currency cannot hold.
        assert!(
            payments_paylican::convert::total_amount(&parsed.data, currency, "totalAmount")
                .is_err(),
            "a parsed event was refused: {:?}",
            verified.err()
        );
    }
}

fn api_answers(input: &[u8]) {
    if let Ok(invoice) = serde_json::from_slice::<Invoice>(input) {
        round_trip(&invoice);
        let raw = serde_json::from_slice(input).unwrap_or_default();
        let _ = payments_paylican::convert::to_payment(&invoice, Some(Currency::GNF), raw);
    }
    if let Ok(created) = serde_json::from_slice::<CreatePaymentResponse>(input) {
        round_trip(&created);
    }
    let _ = payments_paylican::convert::provider_error(input);
    let text = text(input);
    if let Ok(decimal) = big_decimal::parse(&text) {
        let again = big_decimal::parse(&decimal.to_string());
        assert_eq!(again.ok(), Some(decimal), "decimal round trip");
    }
    let _ = zoned_date_time::parse(&text);
}
