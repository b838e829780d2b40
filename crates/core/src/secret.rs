//! Secrets (API keys, passwords, private keys, tokens, webhook secrets) are held in
//! [`SecretString`], whose `Debug` prints `[REDACTED]` and which has no `Display`: a secret reaches
//! the wire only through an explicit [`ExposeSecret::expose_secret`] at the one place it is sent.
//!
//! ```
//! use payments_core::secret::{ExposeSecret, SecretString};
//!
//! let key = SecretString::from("sk_live_very_secret");
//! assert!(!format!("{key:?}").contains("very_secret"));
//! assert_eq!(key.expose_secret(), "sk_live_very_secret");
//! ```

pub use secrecy::{ExposeSecret, SecretBox, SecretString};
