//! The sandbox's control plane: its JSON bodies and path parameters.

use payments_sandbox::__fuzz::{
    Accepted, ControlBody, control_body, fault_answer, provider_param, sink,
};
use payments_sandbox::{Fault, FaultRule, PayerAction};

use crate::support::{round_trip, select, text};

/// Request paths a stored fault rule is matched against.
const PATHS: &[(&str, &str)] = &[
    ("POST", "/payconiq/v3/payments"),
    ("GET", "/hub2/payment-intents/pi_1/status"),
    ("POST", "/fintecture/pis/v2/connect"),
    ("GET", "/"),
];

/// The sandbox's control plane (`/_sandbox/...`), without a server. The first byte selects
/// (modulo 6):
///
/// - `0`: the body of `POST /_sandbox/faults` (a [`FaultRule`](payments_sandbox::FaultRule)):
///   an accepted rule is written back and read again to itself, matched against request paths,
///   and the answer its fault makes has a valid status.
/// - `1`: the body of `PUT /_sandbox/{provider}/webhook-url`: an accepted URL is absent or
///   http(s).
/// - `2`: the body of `POST /_sandbox/{provider}/payments/{id}/otp`.
/// - `3`: the body of `POST /_sandbox/{provider}/payments/{id}/status`.
///
///   Each body is decoded as axum's `Json` extractor does for the server and checked as its
///   handler does; a refusal is 400, 415 or 422.
/// - `4`: path parameters: the `{provider}` of every control path, and the rest of a
///   `/_sandbox/sink/{rest}` path (which may name the status to answer).
/// - `5`: a fault rule's path pattern (the first line) matched against a request's method and
///   path (the second line, `METHOD /path`).
pub fn sandbox_control(data: &[u8]) {
    let Some((selector, input)) = select(data, 6) else {
        return;
    };
    match selector {
        0 => fault_rule(input),
        1 => body(ControlBody::WebhookUrl, input),
        2 => body(ControlBody::Otp, input),
        3 => body(ControlBody::Status, input),
        4 => path_params(input),
        _ => pattern(input),
    }
}

fn fault_rule(input: &[u8]) {
    body(ControlBody::Fault, input);
}

fn body(endpoint: ControlBody, input: &[u8]) {
    let accepted = match control_body(endpoint, input) {
        Ok(accepted) => accepted,
        Err(status) => return refusal(status),
    };
    assert_eq!(
        endpoint_of(&accepted),
        Some(endpoint),
        "{endpoint:?} accepted {accepted:?}"
    );
    match accepted {
        Accepted::Fault(rule) => {
            round_trip(&rule);
            for (method, path) in PATHS {
                let _ = rule.matches(method, path);
            }
            let status = fault_answer(&rule.fault);
            assert!(
                (100..=999).contains(&status),
                "fault answer status {status}"
            );
        }
        Accepted::WebhookUrl(Some(url)) => {
            // The URL parser skips tabs and newlines and trims control characters and spaces.
            let seen: String = url
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            let seen = seen.trim_matches(|c: char| c <= ' ').to_ascii_lowercase();
            assert!(
                seen.starts_with("http:") || seen.starts_with("https:"),
                "webhook URL {url:?} accepted"
            );
        }
        Accepted::WebhookUrl(None) => {}
        Accepted::Action(action) => round_trip(&action),
    }
}

/// The endpoint whose body gives `accepted` (none gives the actions without a value).
fn endpoint_of(accepted: &Accepted) -> Option<ControlBody> {
    match accepted {
        Accepted::Fault(_) => Some(ControlBody::Fault),
        Accepted::WebhookUrl(_) => Some(ControlBody::WebhookUrl),
        Accepted::Action(PayerAction::SubmitOtp(_)) => Some(ControlBody::Otp),
        Accepted::Action(PayerAction::SetStatus(_)) => Some(ControlBody::Status),
        Accepted::Action(_) => None,
    }
}

fn refusal(status: u16) {
    assert!(
        matches!(status, 400 | 415 | 422),
        "a control body was refused with {status}"
    );
}

fn path_params(input: &[u8]) {
    let text = text(input);
    if let Some(provider) = provider_param(&text) {
        assert!(provider.as_str().eq_ignore_ascii_case(&text));
    }
    let status = sink(&text);
    assert!((100..=999).contains(&status), "sink status {status}");
    if !text.starts_with("status/") {
        assert_eq!(status, 200);
    }
}

fn pattern(input: &[u8]) {
    let text = text(input);
    let (pattern, request) = text.split_once('\n').unwrap_or((&text, "GET /"));
    let (method, path) = request.split_once(' ').unwrap_or(("GET", request));
    let rule = FaultRule::new("GET", pattern, Fault::Drop);
    let matched = rule.matches(method, path);
    if matched {
        assert!(method.eq_ignore_ascii_case("GET"));
    }
    let any_method = FaultRule {
        method: None,
        ..rule
    };
    assert!(!matched || any_method.matches(method, path));
}
