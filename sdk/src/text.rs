//! Finding phrases in complaint text, fast: one pass over the text, not one
//! per phrase.
//!
//! A [`Phrases`] table is a sorted list of phrases with a value each.
//! Phrases that start with an ASCII character are written in lowercase and
//! match whole words, ignoring ASCII case (`"refund"` matches `Refund!` but
//! not `refunded`); other phrases (Chinese, say) match anywhere, exactly. Build the table in a
//! `const` so an unsorted list is a compile error:
//!
//! ```
//! use redress_sdk::text::Phrases;
//!
//! // Sorted by bytes: ASCII before CJK, "fed up" before "furious".
//! const ANGER: Phrases<f64> = Phrases::new(&[
//!     ("fed up", 1.0),
//!     ("furious", 1.4),
//!     ("refund", 0.3),
//!     ("生气", 1.0),
//! ]);
//!
//! let mut score = 0.0;
//! ANGER.for_each_match("I am FED UP and furious. 我很生气", |_phrase, weight| score += weight);
//! assert_eq!(score, 3.4);
//! ```

use alloc::vec;

/// Character counts of a scanned text, gathered while matching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStats {
    /// ASCII letters and digits.
    pub ascii_alphanumeric: usize,
    /// Characters outside ASCII (Chinese characters, accented letters...).
    pub non_ascii_characters: usize,
}

/// Phrases and their values, sorted by phrase.
#[derive(Debug, Clone, Copy)]
pub struct Phrases<V: 'static> {
    entries: &'static [(&'static str, V)],
    /// `starts[b]..starts[b + 1]`: the entries whose first byte is `b`.
    starts: [u16; 257],
}

impl<V> Phrases<V> {
    /// A table; panics (at compile time, in a `const`) unless `entries`
    /// are sorted by phrase bytes and ASCII phrases are lowercase.
    pub const fn new(entries: &'static [(&'static str, V)]) -> Self {
        assert!(entries.len() < u16::MAX as usize, "too many phrases");
        let mut i = 0;
        while i < entries.len() {
            assert!(!entries[i].0.is_empty(), "a phrase is empty");
            assert!(
                is_lowercase(entries[i].0.as_bytes()),
                "ASCII phrases must be lowercase"
            );
            if i > 0 {
                assert!(
                    bytes_le(entries[i - 1].0.as_bytes(), entries[i].0.as_bytes()),
                    "phrases must be sorted by their bytes"
                );
            }
            i += 1;
        }
        let mut starts = [0u16; 257];
        let mut byte = 0;
        let mut entry = 0;
        while byte < 256 {
            while entry < entries.len() && (entries[entry].0.as_bytes()[0] as usize) < byte {
                entry += 1;
            }
            starts[byte] = entry as u16;
            byte += 1;
        }
        starts[256] = entries.len() as u16;
        Phrases { entries, starts }
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &'static [(&'static str, V)] {
        self.entries
    }

    /// Calls `found` once for every phrase that occurs in `text`, in the
    /// order they occur; returns character counts seen on the way.
    pub fn for_each_match(
        &self,
        text: &str,
        mut found: impl FnMut(&'static str, &'static V),
    ) -> TextStats {
        let mut stats = TextStats::default();
        // Most tables are small: remember matches in a bit set on the stack.
        let mut small = [0u64; 8];
        let mut large = if self.entries.len() > small.len() * 64 {
            vec![0u64; self.entries.len().div_ceil(64)]
        } else {
            vec![]
        };
        let seen: &mut [u64] = if large.is_empty() {
            &mut small
        } else {
            &mut large
        };
        let bytes = text.as_bytes();
        let mut previous_alphanumeric = 0u64;
        for (block, chunk) in bytes.chunks(64).enumerate() {
            // One bit per byte: which bytes are ASCII letters or digits, and
            // which start a non-ASCII character.
            let (alphanumeric, non_ascii_start) = classify_block(chunk);
            stats.ascii_alphanumeric += alphanumeric.count_ones() as usize;
            stats.non_ascii_characters += non_ascii_start.count_ones() as usize;
            if self.entries.is_empty() {
                continue;
            }
            let word_starts = alphanumeric & !((alphanumeric << 1) | previous_alphanumeric);
            previous_alphanumeric = (alphanumeric >> (chunk.len() - 1)) & 1;
            let mut candidates = word_starts | non_ascii_start;
            while candidates != 0 {
                let position = block * 64 + candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                let bit = position % 64;
                let run = (!(alphanumeric >> bit)).trailing_zeros() as usize;
                let word = if bit + run < 64 {
                    run
                } else {
                    word_length(bytes, position)
                };
                self.match_at(bytes, position, word, seen, &mut found);
            }
        }
        stats
    }

    /// Tries the phrases that could start at `position`.
    fn match_at(
        &self,
        bytes: &[u8],
        position: usize,
        word: usize,
        seen: &mut [u64],
        found: &mut impl FnMut(&'static str, &'static V),
    ) {
        let first = bytes[position].to_ascii_lowercase();
        let start = self.starts[first as usize] as usize;
        let end = self.starts[first as usize + 1] as usize;
        let run = &self.entries[start..end];
        let mut report = |index: usize, phrase: &'static str, value: &'static V| {
            if seen[index / 64] & (1 << (index % 64)) == 0 {
                seen[index / 64] |= 1 << (index % 64);
                found(phrase, value);
            }
        };
        if first.is_ascii() {
            // Whole words, ignoring ASCII case. A phrase of one word must
            // have the word's length; a longer phrase must continue after
            // it: most candidates fail that test without comparing bytes.
            for (offset, (phrase, value)) in run.iter().enumerate() {
                let phrase_bytes = phrase.as_bytes();
                let fits = phrase_bytes.len() == word
                    || (phrase_bytes.len() > word && !phrase_bytes[word].is_ascii_alphanumeric());
                if !fits {
                    continue;
                }
                let Some(candidate) = bytes.get(position..position + phrase_bytes.len()) else {
                    continue;
                };
                let word_ends = bytes
                    .get(position + phrase_bytes.len())
                    .is_none_or(|next| !next.is_ascii_alphanumeric());
                if word_ends && candidate.eq_ignore_ascii_case(phrase_bytes) {
                    report(start + offset, phrase, value);
                }
            }
            return;
        }
        // Many CJK phrases share a first byte: go straight to those that
        // share the whole first character, then compare exactly.
        let width = match first {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        let Some(character) = bytes.get(position..position + width) else {
            return;
        };
        let skip = run.partition_point(|(phrase, _)| prefix(phrase.as_bytes(), width) < character);
        for (offset, (phrase, value)) in run.iter().enumerate().skip(skip) {
            let phrase_bytes = phrase.as_bytes();
            if prefix(phrase_bytes, width) != character {
                break;
            }
            if bytes[position..].starts_with(phrase_bytes) {
                report(start + offset, phrase, value);
            }
        }
    }

    /// How many different phrases of the table occur in `text`.
    pub fn count_matches(&self, text: &str) -> usize {
        let mut count = 0;
        self.for_each_match(text, |_, _| count += 1);
        count
    }
}

/// Bit masks of a block of up to 64 bytes: ASCII letters and digits, and
/// bytes that start a non-ASCII character. Eight bytes at a time.
fn classify_block(chunk: &[u8]) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Sets the high bit of each byte of `word` that is within lo..=hi
    // (for bytes below 0x80).
    fn within(word: u64, lo: u8, hi: u8) -> u64 {
        let at_least_lo = word.wrapping_add((0x80 - lo as u64) * ONES);
        let above_hi = word.wrapping_add((0x7f - hi as u64) * ONES);
        at_least_lo & !above_hi & HIGH
    }
    // The high bit of each byte, gathered into the low eight bits.
    fn gather(high_bits: u64) -> u64 {
        (high_bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
    }
    let mut alphanumeric = 0u64;
    let mut non_ascii_start = 0u64;
    for (index, group) in chunk.chunks(8).enumerate() {
        let mut padded = [0u8; 8];
        padded[..group.len()].copy_from_slice(group);
        let word = u64::from_le_bytes(padded);
        let ascii = !word & HIGH;
        let letters = within(word | (0x20 * ONES), b'a', b'z');
        let digits = within(word, b'0', b'9');
        let shift = index * 8;
        alphanumeric |= gather((letters | digits) & ascii) << shift;
        non_ascii_start |= gather(word & (word << 1) & HIGH) << shift;
    }
    (alphanumeric, non_ascii_start)
}

/// Length of the ASCII word starting at `position`.
fn word_length(bytes: &[u8], position: usize) -> usize {
    bytes[position..]
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(bytes.len() - position)
}

/// The first `n` bytes of `bytes` (or all of them).
fn prefix(bytes: &[u8], n: usize) -> &[u8] {
    &bytes[..n.min(bytes.len())]
}

const fn is_lowercase(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_uppercase() {
            return false;
        }
        i += 1;
    }
    true
}

const fn bytes_le(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() <= b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const TABLE: Phrases<u8> = Phrases::new(&[
        ("close my account", 1),
        ("danger", 2),
        ("dangerous", 3),
        ("mad", 4),
        ("受伤", 5),
        ("受傷", 6),
    ]);

    fn matches(text: &str) -> Vec<u8> {
        let mut found = Vec::new();
        TABLE.for_each_match(text, |_, v| found.push(*v));
        found
    }

    #[test]
    fn block_masks_match_a_byte_by_byte_reading() {
        let text = "Hi! 质量 x9_Z@[`{ \u{e9}t\u{e9} 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ~";
        for chunk in text.as_bytes().chunks(64) {
            let (alphanumeric, non_ascii) = classify_block(chunk);
            for (bit, byte) in chunk.iter().enumerate() {
                assert_eq!(
                    (alphanumeric >> bit) & 1 == 1,
                    byte.is_ascii_alphanumeric(),
                    "{byte:#x}"
                );
                assert_eq!((non_ascii >> bit) & 1 == 1, *byte >= 0xC0, "{byte:#x}");
            }
        }
    }

    #[test]
    fn words_across_blocks_are_found() {
        let mut text = alloc::string::String::from("x ");
        while text.len() < 62 {
            text.push('y');
        }
        text.push_str(" dangerous mad");
        assert_eq!(matches(&text), [3, 4]);
        let long = alloc::format!("{}{}", " ".repeat(60), "dangerous");
        assert_eq!(matches(&long), [3]);
    }

    #[test]
    fn whole_words_ignoring_case_and_cjk_anywhere() {
        assert_eq!(matches("This is DANGEROUS, I am mad."), [3, 4]);
        assert_eq!(matches("a nomad in danger"), [2]);
        assert_eq!(matches("Please close my account now"), [1]);
        assert_eq!(matches("孩子受伤了，受伤很重"), [5]);
        assert_eq!(matches("孩子受傷了"), [6]);
        assert_eq!(matches(""), Vec::<u8>::new());
    }
}
