//! # payments-fuzz-targets
//!
//! The fuzz targets of the payments workspace, as plain functions of the input bytes. Each one
//! feeds the bytes to the public parsing and verification entry points of one area, checks the
//! invariants that are cheap to state (a value that parses and is written back parses to the
//! same value; a verifier never accepts what it cannot have verified; the verifier accepts
//! exactly the authentic bodies its parser accepts), and must never panic: every input of a
//! target is something a stranger can send over the network.
//!
//! Two runners call them:
//!
//! - `fuzz/` is a cargo-fuzz project (libFuzzer, nightly Rust): `fuzz/fuzz_targets/<name>.rs`
//!   calls the function of the same name; `cargo xtask fuzz [--seconds N] [TARGET]` runs them.
//! - `tests/corpus_replay.rs` (stable Rust, part of `cargo test --workspace`) runs every saved
//!   input of `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/` through the same function.
//!
//! To keep the number of targets small, each covers one area and reads its **first byte** as a
//! selector: the sub-parser is the selector modulo the number of sub-parsers, and the rest of
//! the input is what that sub-parser gets. Each target's documentation lists its selectors.
//!
//! | target | area |
//! |---|---|
//! | [`core_parsers`] | payments-core: form decoding, decimals and money, `Retry-After`, `X-Forwarded-For`, IP networks, URL secrets, event ids |
//! | [`payconiq`] | the `Signature` header (detached JWS), its JOSE header, JWK sets, callbacks, API answers |
//! | [`fintecture`] | the `Signature` header, form and JSON bodies, the decrypted signing string, events, API answers, `Date` |
//! | [`hub2`] | the `Hub2-Signature` header, events, API answers |
//! | [`banq`] | the URL secret, events, API answers |
//! | [`paylican`] | the guards (URL secret, basic auth, source address), events, API answers, its decimal and date formats |
//! | [`sandbox_control`] | the sandbox's control-plane JSON bodies and path parameters |
//!
//! The keys and secrets used here are made up for the fuzzing (generated at start, or fixed
//! strings); none is a provider's.

mod banq;
mod core_parsers;
mod fintecture;
mod hub2;
mod payconiq;
mod paylican;
mod sandbox_control;
mod support;

pub use banq::banq;
pub use core_parsers::core_parsers;
pub use fintecture::fintecture;
pub use hub2::hub2;
pub use payconiq::payconiq;
pub use paylican::paylican;
pub use sandbox_control::sandbox_control;

/// A fuzz target: a function of the input bytes that must not panic.
pub type Target = fn(&[u8]);

/// Every target: its name (the name of its function, its `fuzz/fuzz_targets/<name>.rs` and its
/// corpus directory) and its function.
pub const TARGETS: &[(&str, Target)] = &[
    ("core_parsers", core_parsers),
    ("payconiq", payconiq),
    ("fintecture", fintecture),
    ("hub2", hub2),
    ("banq", banq),
    ("paylican", paylican),
    ("sandbox_control", sandbox_control),
];
