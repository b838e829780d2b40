//! Webhook verification: each provider's verifier against the raw library doing the same
//! cryptography (and, for HUB2, the same parse), on the same inputs, in the same run.
//!
//! | figure | SDK | baseline |
//! |---|---|---|
//! | Payconiq callback | `PayconiqWebhookVerifier::verify` of a signed callback | aws-lc-rs ES256 verify of the same signing input (key parsed once) |
//! | Fintecture webhook | `FintectureWebhookVerifier::verify` of a signed form delivery | aws-lc-rs RSA-OAEP-SHA1 decrypt of the same `Signature` + SHA-256 of the body |
//! | HUB2 webhook | `Hub2WebhookVerifier::verify` of a 1.3 KiB intent event | HMAC-SHA256 of the body, checked against the header, + one `serde_json` pass into `PaymentIntent` |
//! | HUB2 HMAC alone | the same verifier | HMAC-SHA256 only (how much the parse costs) |
//! | HUB2 memory | RSS at nine checkpoints over 1 M verifications | the RSS after the first 100 k |
//!
//! Run with `cargo xtask bench verify` (`--quick`: a smoke run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic,
    clippy::print_stdout,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use payments_bench::{Args, Figure, Report, Target};
use payments_core::secret::ExposeSecret;
use payments_core::webhook::{WebhookRequest, WebhookVerifier};
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings as FtSettings};
use payments_hub2::PaymentIntent;
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_payconiq::testing::WebhookSigner as PayconiqSigner;
use payments_payconiq::webhook::{PayconiqWebhookVerifier, WebhookSettings as PqSettings};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const PAYCONIQ_URL: &str = "https://shop.example/payconiq/callback";
const PAYCONIQ_BODY: &[u8] =
    include_bytes!("../../payconiq/tests/fixtures/callback_succeeded.json");
const FINTECTURE_URL: &str = "https://shop.example/fintecture/webhook";
const FINTECTURE_APP: &str = "2dfdcf57-5b2f-4309-846f-913d0b2802cf";
const FINTECTURE_BODY: &[u8] =
    include_bytes!("../../fintecture/tests/fixtures/webhook_payment_created.form");
const HUB2_URL: &str = "https://shop.example/hub2/webhook";
const HUB2_SECRET: &str = "whsec_bench_0123456789abcdef0123456789";
const HUB2_BODY: &[u8] = include_bytes!("../../hub2/tests/fixtures/event_intent_succeeded.json");

/// Runs `work` in batches of 16 until `slice` has passed; returns the operations and the time.
fn run_for(slice: Duration, mut work: impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < slice {
        for _ in 0..16 {
            work();
        }
        n += 16;
    }
    (n, start.elapsed())
}

/// How long each side runs before the other takes over.
const SLICE: Duration = Duration::from_millis(5);

/// One round: the SDK and the baseline in alternating slices of [`SLICE`] (the order flipping
/// every pair: SDK, baseline, baseline, SDK, ...) until each has run for `budget`; returns each
/// side's operations per second. A machine that slows down for a while slows both sides alike.
fn interleaved(budget: Duration, mut sdk: impl FnMut(), mut baseline: impl FnMut()) -> (f64, f64) {
    let (mut sdk_ops, mut sdk_time) = (0u64, Duration::ZERO);
    let (mut base_ops, mut base_time) = (0u64, Duration::ZERO);
    let mut pair = 0usize;
    while sdk_time < budget || base_time < budget {
        for side in 0..2 {
            if (side == 0) == pair.is_multiple_of(2) {
                let (n, t) = run_for(SLICE, &mut sdk);
                (sdk_ops, sdk_time) = (sdk_ops + n, sdk_time + t);
            } else {
                let (n, t) = run_for(SLICE, &mut baseline);
                (base_ops, base_time) = (base_ops + n, base_time + t);
            }
        }
        pair += 1;
    }
    (
        sdk_ops as f64 / sdk_time.as_secs_f64(),
        base_ops as f64 / base_time.as_secs_f64(),
    )
}

/// One figure: `rounds` rounds, each running the SDK and the baseline for `budget` in
/// interleaved slices.
fn compare(
    name: &str,
    target: Target,
    rounds: usize,
    budget: Duration,
    mut sdk: impl FnMut(),
    mut baseline: impl FnMut(),
) -> Figure {
    let mut figure = Figure::new(name, "ops/s", target);
    // `--only "<figure>" sdk|baseline N`: run one side N times, untimed (for a profiler such as
    // `valgrind --tool=callgrind`, which counts instructions whatever else the machine does).
    let args = Args::from_env();
    if let [flag, figure_name, side, n] = args.rest.as_slice()
        && flag == "--only"
    {
        if figure_name == name {
            let n: usize = n.parse().unwrap();
            for _ in 0..n {
                if side == "sdk" { sdk() } else { baseline() }
            }
        }
        return figure;
    }
    // Warm up both (caches, lazy statics).
    interleaved(budget / 4, &mut sdk, &mut baseline);
    for round in 0..rounds {
        let (s, b) = interleaved(budget, &mut sdk, &mut baseline);
        eprintln!("{name}, round {round}: SDK {s:.0}/s, baseline {b:.0}/s");
        figure.push(s, b);
    }
    figure
}

fn payconiq(rounds: usize, budget: Duration) -> Figure {
    let signer = PayconiqSigner::generate("bench-key", "bench-profile", PAYCONIQ_URL).unwrap();
    let verifier = PayconiqWebhookVerifier::new(
        PqSettings::new("bench-profile", PAYCONIQ_URL),
        signer.key_set().unwrap(),
    );
    let signature = signer
        .sign(PAYCONIQ_BODY, "bench-jti", OffsetDateTime::now_utc())
        .unwrap();
    // The baseline: the same signing input and signature, the same public key, parsed once.
    let (header_b64, signature_b64) = signature.split_once("..").unwrap();
    let signing_input = format!("{header_b64}.{}", URL_SAFE_NO_PAD.encode(PAYCONIQ_BODY));
    let raw_signature = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&signer.jwks_json()).unwrap();
    let mut point = vec![4u8];
    point.extend(
        URL_SAFE_NO_PAD
            .decode(jwks["keys"][0]["x"].as_str().unwrap())
            .unwrap(),
    );
    point.extend(
        URL_SAFE_NO_PAD
            .decode(jwks["keys"][0]["y"].as_str().unwrap())
            .unwrap(),
    );
    let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).unwrap();
    compare(
        "Payconiq callback verify",
        Target::AtLeast(0.95),
        rounds,
        budget,
        || {
            let request = WebhookRequest::new("POST", PAYCONIQ_URL, black_box(PAYCONIQ_BODY))
                .header("Signature", &signature);
            black_box(verifier.verify(&request).unwrap());
        },
        || {
            key.verify_sig(black_box(signing_input.as_bytes()), &raw_signature)
                .unwrap();
        },
    )
}

fn fintecture(rounds: usize, budget: Duration) -> Figure {
    let key = Arc::new(AppPrivateKey::generate().unwrap());
    let signer =
        payments_fintecture::testing::WebhookSigner::new(FINTECTURE_APP, key.public_key().clone());
    // `now`: the verifier's freshness check passes for the whole run.
    let signed = signer
        .sign(
            FINTECTURE_BODY,
            OffsetDateTime::now_utc(),
            "bench-request-id",
        )
        .unwrap();
    let verifier = FintectureWebhookVerifier::new(FtSettings::new(FINTECTURE_APP, key.clone()));
    let header = |name: &str| signed.header(name).unwrap().to_owned();
    let (signature, digest, date, request_id) = (
        header("Signature"),
        header("Digest"),
        header("Date"),
        header("X-Request-ID"),
    );
    // The baseline: the same key, decrypting the same ciphertext, and the body's digest.
    let pem = key.to_pkcs8_pem().unwrap();
    let der: String = pem
        .expose_secret()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let raw_key = OaepPrivateDecryptingKey::new(
        PrivateDecryptingKey::from_pkcs8(&STANDARD.decode(der).unwrap()).unwrap(),
    )
    .unwrap();
    let b64 = signature
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let ciphertext = STANDARD.decode(b64).unwrap();
    let mut plaintext = vec![0u8; raw_key.min_output_size()];
    compare(
        "Fintecture webhook verify",
        Target::AtLeast(0.95),
        rounds,
        budget,
        || {
            let request = WebhookRequest::new("POST", FINTECTURE_URL, black_box(FINTECTURE_BODY))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Signature", &signature)
                .header("Digest", &digest)
                .header("Date", &date)
                .header("X-Request-ID", &request_id);
            black_box(verifier.verify(&request).unwrap());
        },
        || {
            let out = raw_key
                .decrypt(
                    &OAEP_SHA1_MGF1SHA1,
                    black_box(&ciphertext),
                    &mut plaintext,
                    None,
                )
                .unwrap();
            black_box(out);
            black_box(Sha256::digest(black_box(FINTECTURE_BODY)));
        },
    )
}

/// What a raw integration parses a HUB2 event into: the envelope, `data` as the crate's own
/// `PaymentIntent`.
#[derive(Deserialize)]
#[allow(dead_code)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "createdAt")]
    created_at: String,
    data: PaymentIntent,
}

fn hub2_header() -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(HUB2_SECRET.as_bytes()).unwrap();
    mac.update(HUB2_BODY);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("s1={hex}")
}

/// The baseline's HMAC check: HMAC-SHA256 of the body under a key set up once (the least work
/// `hmac` allows), compared in constant time (by `hmac`) with the header's hex value.
fn raw_hmac_check(key: &Hmac<Sha256>, header: &str) {
    let hex = header.strip_prefix("s1=").unwrap().as_bytes();
    let mut expected = [0u8; 32];
    for (i, byte) in expected.iter_mut().enumerate() {
        let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).unwrap();
        *byte = u8::from_str_radix(pair, 16).unwrap();
    }
    let mut mac = key.clone();
    mac.update(black_box(HUB2_BODY));
    mac.verify_slice(&expected).unwrap();
}

fn hub2(rounds: usize, budget: Duration, memory_runs: usize) -> Vec<Figure> {
    let verifier = Hub2WebhookVerifier::new(HUB2_SECRET).unwrap();
    let header = hub2_header();
    let key = <Hmac<Sha256> as KeyInit>::new_from_slice(HUB2_SECRET.as_bytes()).unwrap();
    let sdk = || {
        let request = WebhookRequest::new("POST", HUB2_URL, black_box(HUB2_BODY))
            .header("Hub2-Signature", &header);
        black_box(verifier.verify(&request).unwrap());
    };
    let parse = compare(
        "HUB2 webhook verify (HMAC + parse)",
        Target::AtLeast(0.95),
        rounds,
        budget,
        sdk,
        || {
            raw_hmac_check(&key, &header);
            let event: RawEvent = serde_json::from_slice(black_box(HUB2_BODY)).unwrap();
            black_box(event);
        },
    );
    let hmac_only = compare(
        "HUB2 webhook verify (HMAC alone)",
        Target::None,
        rounds,
        budget,
        sdk,
        || raw_hmac_check(&key, &header),
    );
    if memory_runs == 0 {
        return vec![parse, hmac_only];
    }
    let memory = payments_bench::memory_figure(
        format!("HUB2 verify: RSS over {memory_runs} verifications"),
        9,
        memory_runs / 10,
        sdk,
    );
    vec![parse, hmac_only, memory]
}

fn main() {
    let args = Args::from_env();
    if args.rest.first().is_some_and(|a| a == "--only") {
        let name = args.rest.get(1).map(String::as_str).unwrap_or_default();
        let budget = Duration::ZERO;
        match name {
            n if n.starts_with("Payconiq") => drop(payconiq(0, budget)),
            n if n.starts_with("Fintecture") => drop(fintecture(0, budget)),
            _ => drop(hub2(0, budget, 0)),
        }
        return;
    }
    let rounds = args.pick(2, 9);
    let budget = args.pick(Duration::from_millis(50), Duration::from_millis(700));
    let mut figures = vec![payconiq(rounds, budget), fintecture(rounds, budget)];
    figures.extend(hub2(rounds, budget, args.pick(10_000, 1_000_000)));
    let mut report = Report::new("verify", args.quick, figures);
    report.note(format!(
        "{rounds} rounds of {} ms per side, in alternating slices of {} ms; ratio = SDK ops/s ÷ baseline ops/s.",
        budget.as_millis(),
        SLICE.as_millis()
    ));
    report.finish(&args).unwrap();
}
