//! SHA-256 digests as Redress writes them: `sha256:<hex>` where a digest
//! names what it was taken of (plugin components, events, backed-up
//! files), bare hex for keys (kept blobs), and the first 8 bytes in hex for
//! versions (rule sets, snapshots), which people read and compare.

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn tagged(bytes: &[u8]) -> String {
    tagged_of(Sha256::new_with_prefix(bytes))
}

/// `sha256:<hex>` of what `hasher` was fed.
pub fn tagged_of(hasher: Sha256) -> String {
    format!("sha256:{:x}", hasher.finalize())
}

/// The whole digest of `bytes` in hex.
pub fn hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The first 8 bytes of what `hasher` was fed, in hex: a version.
pub fn short_of(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spellings_agree_with_each_other() {
        let whole = hex(b"redress");
        assert_eq!(whole.len(), 64);
        assert_eq!(tagged(b"redress"), format!("sha256:{whole}"));
        assert_eq!(short_of(Sha256::new_with_prefix(b"redress")), whole[..16]);
    }
}
