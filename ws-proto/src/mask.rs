//! Payload masking (RFC 6455 §5.3).

use rand::rngs::{StdRng, SysRng};
use rand::{Rng, SeedableRng};
use std::fmt;

/// A 32-bit masking key (RFC 6455 §5.3).
///
/// Clients pick a fresh, unpredictable key for every frame they send; servers never mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MaskingKey(pub [u8; 4]);

impl MaskingKey {
    /// A fresh key from the thread-local CSPRNG (ChaCha, seeded and reseeded from OS entropy),
    /// as RFC 6455 §5.3 and §10.3 require: the key must not be predictable by the application.
    pub fn random() -> Self {
        MaskingKey(rand::random())
    }
}

/// XORs `buf` with `key` in place, as if `buf` started at byte `offset` of the masked payload.
///
/// Masking and unmasking are the same operation. The bulk of the work is done eight bytes at a
/// time (the compiler turns the loop into vector instructions where the target has them), so the
/// cost stays close to a memory copy.
pub fn apply_mask(buf: &mut [u8], key: MaskingKey, offset: usize) {
    // The key as seen from `offset`: rotated by whole bytes (a shift, not a slice rotate).
    let k = u32::from_le_bytes(key.0)
        .rotate_right(8 * (offset & 3) as u32)
        .to_le_bytes();
    let wide = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            xor_word(word, wide);
        }
    }
    let rest = blocks.into_remainder();
    let mut words = rest.chunks_exact_mut(8);
    for word in &mut words {
        xor_word(word, wide);
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= k[i & 3];
    }
}

/// The masking keys of one connection: a ChaCha12 CSPRNG of its own, seeded from the operating
/// system when the first key is needed (RFC 6455 §5.3, §10.3: keys must not be predictable).
///
/// One seed per connection instead of one thread-local generator lookup per frame: drawing a
/// key is then a read from the generator's block buffer. A server never masks, so never seeds.
#[derive(Default)]
pub(crate) struct MaskKeys(Option<Box<StdRng>>);

impl MaskKeys {
    /// The next key.
    pub(crate) fn next_key(&mut self) -> MaskingKey {
        let rng = self.0.get_or_insert_with(|| Box::new(seed()));
        MaskingKey(rng.next_u32().to_ne_bytes())
    }
}

/// A generator seeded from the operating system; should that fail, from the thread-local
/// generator (itself seeded from the operating system) rather than failing the send.
fn seed() -> StdRng {
    StdRng::try_from_rng(&mut SysRng).unwrap_or_else(|_| StdRng::from_rng(&mut rand::rng()))
}

impl fmt::Debug for MaskKeys {
    /// Says whether the generator is seeded, never its state: that would predict the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskKeys")
            .field("seeded", &self.0.is_some())
            .finish()
    }
}

#[inline(always)]
fn xor_word(word: &mut [u8], wide: u64) {
    let mut w = [0u8; 8];
    w.copy_from_slice(word);
    word.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(i + offset) % 4];
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut data = *b"Hello";
        apply_mask(&mut data, MaskingKey([0x37, 0xfa, 0x21, 0x3d]), 0);
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn connection_keys_differ_and_hide_the_generator() {
        let mut keys = MaskKeys::default();
        assert_eq!(format!("{keys:?}"), "MaskKeys { seeded: false }");
        let drawn: std::collections::HashSet<_> = (0..1000).map(|_| keys.next_key()).collect();
        assert!(drawn.len() > 990, "masking keys repeat: {}", drawn.len());
        assert_eq!(format!("{keys:?}"), "MaskKeys { seeded: true }");
        // Two connections do not share a key sequence.
        let mut other = MaskKeys::default();
        let theirs: Vec<_> = (0..8).map(|_| other.next_key()).collect();
        let ours: Vec<_> = (0..8).map(|_| keys.next_key()).collect();
        assert_ne!(theirs, ours);
    }

    #[test]
    fn random_keys_differ() {
        let keys: std::collections::HashSet<_> = (0..64).map(|_| MaskingKey::random()).collect();
        assert!(keys.len() > 60, "masking keys repeat: {}", keys.len());
    }

    proptest! {
        #[test]
        fn matches_bytewise(data in proptest::collection::vec(any::<u8>(), 0..300),
                            key in any::<[u8; 4]>(), offset in 0usize..8) {
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast, MaskingKey(key), offset);
            naive(&mut slow, key, offset);
            prop_assert_eq!(&fast, &slow);
            apply_mask(&mut fast, MaskingKey(key), offset);
            prop_assert_eq!(fast, data);
        }

        #[test]
        fn split_masking_equals_whole(data in proptest::collection::vec(any::<u8>(), 0..200),
                                      key in any::<[u8; 4]>(), cut in 0usize..200) {
            let cut = cut.min(data.len());
            let mut whole = data.clone();
            apply_mask(&mut whole, MaskingKey(key), 0);
            let mut parts = data;
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, MaskingKey(key), 0);
            apply_mask(b, MaskingKey(key), cut);
            prop_assert_eq!(parts, whole);
        }
    }
}
