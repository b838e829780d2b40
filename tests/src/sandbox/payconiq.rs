//! Payconiq against the sandbox (placeholder: harness to be written).
