//! What the targets share: the selector byte, text from bytes, and a fixed clock.

use std::borrow::Cow;
use std::sync::Arc;

use payments_core::webhook::FixedClock;
use time::OffsetDateTime;

/// Splits the selector byte off `data`: `(selector % count, rest)`. `None` for an empty input.
pub(crate) fn select(data: &[u8], count: u8) -> Option<(u8, &[u8])> {
    let (first, rest) = data.split_first()?;
    Some((first % count, rest))
}

/// The bytes as text, invalid UTF-8 replaced by U+FFFD: header values and URLs reach the
/// parsers as `&str`, and a replacement character is as good a test as any other character.
pub(crate) fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The time every verifier of the targets lives at: 2024-05-01T12:00:00Z.
pub(crate) fn now() -> OffsetDateTime {
    // 1_714_564_800 is in range: the fallback never happens.
    OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A clock standing at [`now`].
pub(crate) fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(now()))
}

/// A value read from JSON, written and read again, is the same value.
pub(crate) fn round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let written = serde_json::to_vec(value).unwrap_or_default();
    let again = serde_json::from_slice::<T>(&written);
    assert!(
        again.as_ref().is_ok_and(|again| again == value),
        "JSON round trip of {value:?} gave {again:?}"
    );
}
