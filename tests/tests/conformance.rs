//! Runs every conformance scenario against every provider crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use payments_conformance::providers;

payments_conformance::scenarios!(payconiq, providers::payconiq::PayconiqHarness::new());
payments_conformance::scenarios!(paylican, providers::paylican::PaylicanHarness::new());
payments_conformance::scenarios!(banq, providers::banq::BanqHarness::new());
payments_conformance::scenarios!(fintecture, providers::fintecture::FintectureHarness::new());
payments_conformance::scenarios!(hub2, providers::hub2::Hub2Harness::new());
