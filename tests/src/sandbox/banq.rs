//! Banq against the sandbox (placeholder: harness to be written).
