//! Opaque bearer tokens: `hth_` followed by 43 base62 characters (256 random bits).
//! Only the SHA-256 digest is ever stored, so a copy of the database yields no usable token.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "hth_";
/// 43 base62 characters carry 43 × log2(62) ≈ 256.03 bits.
const SECRET_CHARS: usize = 43;

/// A fresh token from the thread-local CSPRNG (ChaCha, seeded from the OS).
pub fn generate() -> String {
    let mut token = String::with_capacity(PREFIX.len() + SECRET_CHARS);
    token.push_str(PREFIX);
    token.push_str(&Alphanumeric.sample_string(&mut rand::rng(), SECRET_CHARS));
    token
}

/// Rejects anything that cannot be one of our tokens before touching the database.
pub fn looks_valid(token: &str) -> bool {
    token.len() == PREFIX.len() + SECRET_CHARS
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_unique_and_checked() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(looks_valid(&a));
        assert!(!looks_valid("hth_short"));
        assert!(!looks_valid(&a.replace("hth_", "xxx_")));
        assert!(!looks_valid(&format!("{}!", &a[..a.len() - 1])));
        assert_eq!(digest(&a).len(), 32);
        assert_ne!(digest(&a), digest(&b));
    }
}
