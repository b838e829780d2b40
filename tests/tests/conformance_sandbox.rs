//! Runs every sandbox scenario against every provider crate, each against its own local sandbox.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::default_constructed_unit_structs
)]

use payments_conformance::sandbox;

payments_conformance::sandbox_scenarios!(
    payconiq,
    sandbox::payconiq::PayconiqSandboxHarness::default()
);
payments_conformance::sandbox_scenarios!(
    fintecture,
    sandbox::fintecture::FintectureSandboxHarness::default()
);
payments_conformance::sandbox_scenarios!(hub2, sandbox::hub2::Hub2SandboxHarness::default());
payments_conformance::sandbox_scenarios!(banq, sandbox::banq::BanqSandboxHarness::default());
payments_conformance::sandbox_scenarios!(
    paylican,
    sandbox::paylican::PaylicanSandboxHarness::default()
);
