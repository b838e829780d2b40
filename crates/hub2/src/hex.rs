//! Lower-case hex, hand-written (a few lines rather than a dependency).

/// Encodes bytes as lower-case hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex (either case) that is exactly `out.len()` bytes long into `out`, without
/// allocating; `false` (and `out` unspecified) on another length or a non-hex character.
pub(crate) fn decode_into(text: &str, out: &mut [u8]) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != out.len() * 2 {
        return false;
    }
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let [hi, lo] = pair else { return false };
        match (nibble(*hi), nibble(*lo)) {
            (Some(hi), Some(lo)) => *slot = (hi << 4) | lo,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut back = vec![0u8; bytes.len()];
        assert!(decode_into(&encode(&bytes), &mut back));
        assert_eq!(back, bytes);
        assert_eq!(encode(&[0xde, 0xad, 0x0f]), "dead0f");
        let mut one = [0u8; 1];
        assert!(!decode_into("abc", &mut one));
        assert!(!decode_into("zz", &mut one));
        let mut out = [0u8; 3];
        assert!(decode_into("DEad0f", &mut out));
        assert_eq!(out, [0xde, 0xad, 0x0f]);
        assert!(!decode_into("dead0", &mut out));
        assert!(!decode_into("dead0f00", &mut out));
        assert!(!decode_into("deadzz", &mut out));
        assert!(!decode_into("+1", &mut one));
        assert!(decode_into("", &mut []));
    }
}
