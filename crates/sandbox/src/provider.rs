//! The emulated providers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the providers the sandbox emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Payconiq by Bancontact, under `/payconiq`.
    Payconiq,
    /// Fintecture, under `/fintecture`.
    Fintecture,
    /// HUB2, under `/hub2`.
    Hub2,
    /// Banq, under `/banq`.
    Banq,
    /// Paylican, under `/paylican`.
    Paylican,
}

impl Provider {
    /// Every provider, in the order the CLI runs them.
    pub const ALL: [Provider; 5] = [
        Provider::Payconiq,
        Provider::Fintecture,
        Provider::Hub2,
        Provider::Banq,
        Provider::Paylican,
    ];

    /// The lowercase name, also the URL prefix (`"payconiq"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Payconiq => "payconiq",
            Provider::Fintecture => "fintecture",
            Provider::Hub2 => "hub2",
            Provider::Banq => "banq",
            Provider::Paylican => "paylican",
        }
    }

    /// The provider whose prefix starts `path` (`/payconiq/v3/payments` → Payconiq).
    pub fn from_path(path: &str) -> Option<Provider> {
        let first = path.trim_start_matches('/').split('/').next()?;
        first.parse().ok()
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name the sandbox does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider `{0}` (expected one of payconiq, fintecture, hub2, banq, paylican)")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_paths_select_the_provider() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
        }
        assert_eq!(
            Provider::from_path("/hub2/payment-intents"),
            Some(Provider::Hub2)
        );
        assert_eq!(Provider::from_path("/_sandbox/faults"), None);
        assert!("stripe".parse::<Provider>().is_err());
    }
}
