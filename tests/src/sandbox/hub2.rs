//! Hub2 against the sandbox (placeholder: harness to be written).
