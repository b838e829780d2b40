//! Runs every sandbox scenario against every provider crate, each against its own local sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_imports)]
use payments_conformance::sandbox;
