//! Streaming UTF-8 validation and the `Utf8Bytes` text type (RFC 6455 §5.6, §8.1).

use bytes::Bytes;
use bytestring::ByteString;
use std::fmt;

/// The bytes are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8")]
pub struct InvalidUtf8;

/// Validates UTF-8 that arrives in pieces, failing as soon as an invalid sequence is seen.
///
/// RFC 6455 §8.1: an endpoint must fail the connection when text data is not valid UTF-8. A
/// sequence split across pieces is carried over (at most 3 bytes); a piece that ends in the middle
/// of a sequence is still checked as far as it goes, so `F4 90` fails at once rather than at the
/// end of the message.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: usize,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets any carried-over bytes, to start a new text.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// Checks the next piece of the text.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let width = sequence_width(self.partial[0]);
            let take = (width - self.partial_len).min(input.len());
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&input[..take]);
            let len = self.partial_len + take;
            input = &input[take..];
            match simdutf8::compat::from_utf8(&self.partial[..len]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; the piece ran out before the sequence ended.
                    self.partial_len = len;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // std reports "incomplete" only for a valid prefix of a sequence.
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the text: a sequence left unfinished is an error.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

fn sequence_width(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// UTF-8 text backed by [`Bytes`]: received text is handed out without a copy, and cloning is cheap.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(ByteString);

impl Utf8Bytes {
    /// An empty text.
    pub const fn new() -> Self {
        Utf8Bytes(ByteString::new())
    }

    /// Text from a static string, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(ByteString::from_static(s))
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Gives up the text for its bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

/// From this size on, text is checked with `simdutf8` and copied into a buffer of its own rather
/// than checked in place by std's `from_utf8`.
///
/// Building the text in place, without a copy, needs std's check (inside `ByteString`): reusing
/// a faster check would take `unsafe`, which this crate forbids. On text that is not all ASCII,
/// std checks about 2.6 GB/s and `simdutf8` 13–17, so the check plus a copy (memcpy runs at
/// about 35) is 4–5 times faster than std alone, and as fast on ASCII (measured on text with a
/// non-ASCII character every 20 bytes or so, 64 KiB and 1 MiB). Below this size the copy's
/// allocation would cost more than the check saves, and small messages stay allocation-free.
const COPY_CHECK_FROM: usize = 4096;

impl Utf8Bytes {
    /// Checks `bytes` with std's `from_utf8` and shares them, whatever their size: for text
    /// that must keep its buffer (a prepared message handing out its payload), where the
    /// faster check's copy would defeat the sharing.
    pub(crate) fn try_shared(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        ByteString::try_from(bytes)
            .map(Utf8Bytes)
            .map_err(|_| InvalidUtf8)
    }
}

/// Checks that `bytes` are UTF-8: in place with std's `from_utf8` for small text, and with
/// `simdutf8` plus a copy from 4 KiB on (`COPY_CHECK_FROM` gives the measurements).
impl TryFrom<Bytes> for Utf8Bytes {
    type Error = InvalidUtf8;
    fn try_from(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        if bytes.len() >= COPY_CHECK_FROM {
            let text = simdutf8::basic::from_utf8(&bytes).map_err(|_| InvalidUtf8)?;
            return Ok(Utf8Bytes::from(text.to_owned()));
        }
        Utf8Bytes::try_shared(bytes)
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(ByteString::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(ByteString::from(s))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(t: Utf8Bytes) -> Bytes {
        t.into_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for p in pieces {
            v.feed(p)?;
        }
        v.finish()
    }

    #[test]
    fn valid_split_everywhere() {
        let text = "κόσμε 𝄞 €!".as_bytes();
        for cut in 0..=text.len() {
            assert_eq!(feed_all(&[&text[..cut], &text[cut..]]), Ok(()), "cut {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed_all(&bytes), Ok(()));
    }

    #[test]
    fn fails_fast_on_invalid_prefix() {
        // F4 90 starts a code point above U+10FFFF: invalid before the sequence completes.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xF4, 0x90]), Err(InvalidUtf8));
        // A surrogate (ED A0 80) fails at its second byte.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xED]), Ok(()));
        assert_eq!(v.feed(&[0xA0]), Err(InvalidUtf8));
    }

    #[test]
    fn truncated_at_end_fails() {
        assert_eq!(feed_all(&[&[0xE2, 0x82]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[b"ok", &[0xF0]]), Err(InvalidUtf8));
    }

    #[test]
    fn invalid_bytes_fail() {
        assert_eq!(feed_all(&[&[0xFF]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[&[0xC0, 0x80]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[b"abc", &[0x80]]), Err(InvalidUtf8));
    }

    #[test]
    fn utf8_bytes_round_trip() {
        let t = Utf8Bytes::try_from(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(t, "héllo");
        assert_eq!(t.as_bytes(), "héllo".as_bytes());
        assert!(Utf8Bytes::try_from(Bytes::from_static(&[0xff])).is_err());
    }

    /// Text around the size where the check changes method: the same verdict and the same text
    /// either way, for valid text and for text broken at its start, middle and end.
    #[test]
    fn utf8_bytes_check_agrees_with_std_on_both_sides_of_the_copy_size() {
        for len in [
            COPY_CHECK_FROM - 1,
            COPY_CHECK_FROM,
            3 * COPY_CHECK_FROM + 1,
        ] {
            let text: String = "größer 東京 𝄞 ".chars().cycle().take(len).collect();
            let bytes = Bytes::from(text.clone());
            let checked = Utf8Bytes::try_from(bytes).expect("valid text");
            assert_eq!(checked.as_str(), text, "len {len}");
            for at in [0, text.len() / 2, text.len() - 1] {
                let mut broken = text.clone().into_bytes();
                broken[at] = 0xFF;
                assert_eq!(
                    Utf8Bytes::try_from(Bytes::from(broken)),
                    Err(InvalidUtf8),
                    "len {len}, 0xFF at {at}"
                );
            }
            // Cut in the middle of the last character (4 bytes): incomplete at the end.
            let mut cut = text.clone().into_bytes();
            while cut.last().is_some_and(|b| b.is_ascii()) {
                cut.pop();
            }
            cut.pop();
            assert_eq!(
                Utf8Bytes::try_from(Bytes::from(cut)),
                Err(InvalidUtf8),
                "len {len}"
            );
        }
    }

    proptest! {
        #[test]
        fn agrees_with_std_on_any_chunking(data in proptest::collection::vec(any::<u8>(), 0..64),
                                           cuts in proptest::collection::vec(0usize..64, 0..6)) {
            let expected = std::str::from_utf8(&data).is_ok();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for c in cuts { pieces.push(&data[start..c]); start = c; }
            pieces.push(&data[start..]);
            prop_assert_eq!(feed_all(&pieces).is_ok(), expected);
        }

        #[test]
        fn utf8_bytes_agrees_with_std(text in "\\PC{1000,2500}",
                                      damage in proptest::option::of((any::<usize>(), any::<u8>()))) {
            // Mostly valid text of 1 to 10 KiB, sometimes with one byte changed.
            let mut data = text.into_bytes();
            if let Some((at, byte)) = damage {
                let at = at % data.len().max(1);
                if let Some(b) = data.get_mut(at) {
                    *b = byte;
                }
            }
            let expected = std::str::from_utf8(&data).ok().map(str::to_owned);
            let checked = Utf8Bytes::try_from(Bytes::from(data)).ok().map(|t| t.as_str().to_owned());
            prop_assert_eq!(checked, expected);
        }

        #[test]
        fn valid_strings_pass(s in "\\PC*", cut in 0usize..100) {
            let b = s.as_bytes();
            let cut = cut.min(b.len());
            prop_assert_eq!(feed_all(&[&b[..cut], &b[cut..]]), Ok(()));
        }
    }
}
