//! payments-core's parsers of network input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use payments_core::http::parse_retry_after;
use payments_core::net::{IpNet, client_address};
use payments_core::provider_support::{form_decode, form_encode, percent_decode, percent_encode};
use payments_core::webhook::{UrlSecretGuard, event_id_from_parts};
use payments_core::{Currency, Decimal, Money};

use crate::support::{select, text};

/// The URL secret of the guards below (hex, as `openssl rand -hex 16` makes them).
const SECRET: &str = "9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9";
/// The secret being rotated away from.
const PREVIOUS_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// payments-core's parsers of what arrives over the network. The first byte selects (modulo 8):
///
/// - `0`: one `application/x-www-form-urlencoded` component
///   ([`form_decode`](payments_core::provider_support::form_decode), strict): a decoded value
///   encodes and decodes back to itself; the lenient path decoder round-trips too.
/// - `1`: a decimal as providers write it ([`Decimal::parse`], and the JSON form through serde):
///   what parses prints back to the same digits and scale.
/// - `2`: money: the second byte picks a currency of [`Currency::ALL`], the rest is
///   [`Money::from_decimal_str`]; also [`Currency::from_code`]. Money prints back to itself.
/// - `3`: `Retry-After` ([`parse_retry_after`](payments_core::http::parse_retry_after)), as
///   delay-seconds or an HTTP date, against a fixed "now".
/// - `4`: `X-Forwarded-For` ([`client_address`](payments_core::net::client_address)): the second
///   byte picks the peer (a trusted proxy or not), the rest is the header, one value per line,
///   read behind the trusted proxies `10.0.0.0/8`, `2001:db8::/32` and `127.0.0.1`. An untrusted
///   peer is always the answer; behind a trusted one the answer is an address of the header.
/// - `5`: an IP network or address ([`IpNet`](payments_core::net::IpNet)'s `FromStr`): it
///   prints back to itself and contains its own address.
/// - `6`: a webhook URL checked by [`UrlSecretGuard`](payments_core::webhook::UrlSecretGuard)s
///   (query parameter `token`, and last path segment), each with a previous secret: a URL that
///   passes holds one of the secrets.
/// - `7`: event ids from parts separated by `|`
///   ([`event_id_from_parts`](payments_core::webhook::event_id_from_parts)): one part per `:`
///   separated piece; and [`redacted_excerpt`](payments_core::error::redacted_excerpt) of the bytes
///   as an error body.
pub fn core_parsers(data: &[u8]) {
    let Some((selector, input)) = select(data, 8) else {
        return;
    };
    match selector {
        0 => form_component(input),
        1 => decimal(input),
        2 => money(input),
        3 => retry_after(input),
        4 => forwarded_for(input),
        5 => network(input),
        6 => url_secret(input),
        _ => event_id(input),
    }
}

fn form_component(input: &[u8]) {
    let text = text(input);
    if let Some(decoded) = form_decode(&text)
        && let Ok(decoded) = String::from_utf8(decoded)
    {
        let again = form_decode(&form_encode(&decoded));
        assert_eq!(
            again.as_deref(),
            Some(decoded.as_bytes()),
            "form round trip"
        );
    }
    let lenient = percent_decode(&text);
    if let Ok(lenient) = std::str::from_utf8(&lenient) {
        assert_eq!(
            percent_decode(&percent_encode(lenient)).as_ref(),
            lenient.as_bytes(),
            "path segment round trip"
        );
    }
}

fn decimal(input: &[u8]) {
    let text = text(input);
    if let Ok(value) = Decimal::parse(&text) {
        let printed = value.to_string();
        let again = Decimal::parse(&printed);
        assert!(
            again.is_ok_and(|d| d.mantissa() == value.mantissa() && d.scale() == value.scale()),
            "decimal round trip: {text:?} printed as {printed:?}"
        );
    }
    if let Ok(value) = serde_json::from_slice::<Decimal>(input) {
        let written = serde_json::to_vec(&value).unwrap_or_default();
        let again = serde_json::from_slice::<Decimal>(&written);
        assert!(
            again.is_ok_and(|d| d.mantissa() == value.mantissa() && d.scale() == value.scale()),
            "decimal JSON round trip"
        );
    }
}

fn money(input: &[u8]) {
    let Some((&pick, rest)) = input.split_first() else {
        return;
    };
    let all = Currency::ALL;
    let Some(&currency) = all.get(usize::from(pick) % all.len()) else {
        return;
    };
    let text = text(rest);
    if let Ok(money) = Money::from_decimal_str(&text, currency) {
        let printed = money.to_decimal_string();
        assert_eq!(
            Money::from_decimal_str(&printed, currency).ok(),
            Some(money),
            "money round trip: {text:?} printed as {printed:?}"
        );
        assert_eq!(
            Money::from_decimal(money.to_decimal(), currency).ok(),
            Some(money)
        );
        let _ = money.checked_add(money);
        let _ = money.checked_sub(money);
    }
    if let Ok(parsed) = Currency::from_code(&text) {
        assert_eq!(parsed.code(), text, "currency code round trip");
    }
}

fn retry_after(input: &[u8]) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_564_800);
    let text = text(input);
    let delay = parse_retry_after(&text, now);
    if let Ok(seconds) = text.trim().parse::<u64>() {
        assert_eq!(delay, Some(Duration::from_secs(seconds)));
    }
}

fn forwarded_for(input: &[u8]) {
    let Some((&pick, rest)) = input.split_first() else {
        return;
    };
    let trusted: Vec<IpNet> = ["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"]
        .iter()
        .filter_map(|net| net.parse().ok())
        .collect();
    let peer = match pick % 4 {
        0 => IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
        1 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)),
        2 => IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
        _ => IpAddr::V6(Ipv4Addr::new(10, 9, 9, 9).to_ipv6_mapped()),
    };
    let header = text(rest);
    let values: Vec<&str> = header.split('\n').collect();
    let found = client_address(peer, &values, &trusted);
    let peer_trusted = trusted.iter().any(|net| net.contains(peer));
    if !peer_trusted {
        assert_eq!(
            found,
            Some(peer.to_canonical()),
            "an untrusted peer is the client"
        );
    } else if let Some(ip) = found {
        // Behind a trusted proxy the answer comes from the header: one of its entries names it.
        let named = values
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .any(|entry| {
                entry.parse::<IpAddr>().ok().map(|a| a.to_canonical()) == Some(ip)
                    || entry
                        .parse::<SocketAddr>()
                        .ok()
                        .map(|s| s.ip().to_canonical())
                        == Some(ip)
            });
        assert!(named, "{ip} is not an entry of the header");
    }
}

fn network(input: &[u8]) {
    let text = text(input);
    let Ok(net) = text.parse::<IpNet>() else {
        return;
    };
    let printed = net.to_string();
    assert_eq!(
        printed.parse::<IpNet>().ok(),
        Some(net),
        "network round trip: {text:?} printed as {printed:?}"
    );
    let address = printed
        .split_once('/')
        .and_then(|(address, _)| address.parse::<IpAddr>().ok());
    assert!(
        address.is_some_and(|address| net.contains(address)),
        "{printed} does not contain its own address"
    );
}

fn url_secret(input: &[u8]) {
    let url = text(input);
    let guards = [
        UrlSecretGuard::query_param("token", SECRET),
        UrlSecretGuard::last_path_segment(SECRET),
    ];
    for guard in guards
        .into_iter()
        .flatten()
        .filter_map(|guard| guard.with_previous(PREVIOUS_SECRET).ok())
    {
        if guard.check(&url).is_ok() {
            let decoded = percent_decode(&url);
            let decoded = String::from_utf8_lossy(&decoded);
            assert!(
                decoded.contains(SECRET) || decoded.contains(PREVIOUS_SECRET),
                "{url:?} passed without a secret"
            );
        }
    }
}

fn event_id(input: &[u8]) {
    let text = text(input);
    let parts: Vec<&str> = text.split('|').collect();
    let id = event_id_from_parts(parts.iter().copied());
    assert_eq!(id.split(':').count(), parts.len(), "event id parts");
    let _ = payments_core::error::redacted_excerpt(input);
}
