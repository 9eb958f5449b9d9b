//! Keyed signatures (HMAC-SHA256, hex) of what the server hands out or receives, and their comparison in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The hex HMAC-SHA256 of `parts`, taken one after the other, under `secret`.
pub fn mac_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes a key of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Whether two signatures are equal, in a time that does not tell how much of them matched.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_sign_as_one_message_and_compare_exactly() {
        let whole = mac_hex(b"k", &[b"ab.c"]);
        assert_eq!(mac_hex(b"k", &[b"ab", b".", b"c"]), whole);
        assert_eq!(whole.len(), 64);
        assert_ne!(mac_hex(b"other", &[b"ab.c"]), whole);
        assert!(same(&whole, &whole.clone()));
        assert!(!same(&whole, &whole[..63]) && !same("ab", "ac"));
    }
}
