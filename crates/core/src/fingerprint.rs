//! FNV-1a, 64 bits: the stable hash behind the default scan seed and the scan's fingerprint.
//! Stable is the point: every machine, every build and every later run of the same command must
//! get the same value, which std's `DefaultHasher` does not promise. Not a defence against
//! forgery: it tells one's own scans apart.

/// An FNV-1a hasher.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn write_u128(&mut self, n: u128) {
        self.write(&n.to_le_bytes());
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a 64 test vectors: the value must never change between builds.
    #[test]
    fn matches_the_reference_vectors() {
        let h = |s: &str| {
            let mut f = Fnv64::default();
            f.write(s.as_bytes());
            f.finish()
        };
        assert_eq!(h(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(h("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(h("foobar"), 0x8594_4171_f739_67e8);
    }
}
