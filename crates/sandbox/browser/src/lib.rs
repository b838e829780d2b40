//! # payments-sandbox-browser (not published)
//!
//! The browser test of the sandbox's payer pages, in `tests/payer_pages.rs`: headless Chromium,
//! driven through chromedriver over WebDriver, pays once through each provider's page — the
//! checkout URL that provider's client returned to `payments-ledger`'s `create_once` — checks
//! that the browser ends where the provider sends the payer, and that the ledger reaches
//! `succeeded` (through its reconciler, or HUB2's webhook inbox).
//!
//! It needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`; `CHROMIUM` and `CHROMEDRIVER` name others). Without them the test
//! prints one line saying it was skipped, unless `PAYMENTS_REQUIRE_BROWSER=1` (CI), where that
//! is a failure. `.ci/run` installs the packages when they are missing.
