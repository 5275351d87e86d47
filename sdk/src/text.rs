//! Finding phrases in complaint text, fast: one pass over the text, not one
//! per phrase.
//!
//! A [`Phrases`] table is a sorted list of phrases with a value each.
//! Phrases that start with an ASCII character are written in lowercase and
//! match whole words, ignoring ASCII case (`"refund"` matches `Refund!` but
//! not `refunded`); other phrases (Chinese, say) match anywhere, exactly.
//! ASCII phrases must begin with a letter or digit. A phrase ending in `*`
//! is a word prefix (`"galit*"` matches `galit`, `galitin`, not
//! `nagagalit`), for languages that inflect, such as Tagalog; a table holds
//! up to 64 of them, and each is compared with every word of the text.
//! [`Phrases::for_each_match`] reports each distinct phrase once, at its
//! first occurrence; [`Phrases::for_each_occurrence`] reports every one.
//! Build the table in a
//! `const` so an unsorted list is a compile error, and so the index that
//! finds a word's phrases in one lookup is built by the compiler:
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
//! let stats = ANGER.for_each_match("I am FED UP and furious! 我很生气", |_phrase, weight| {
//!     score += weight
//! });
//! assert_eq!(score, 3.4);
//! // One `!`; "FED" is shouted, "UP" too short to count.
//! assert_eq!((stats.exclamation_marks, stats.shouted_words), (1, 1));
//! ```

use alloc::vec;

/// Character counts of a scanned text, gathered while matching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStats {
    /// ASCII letters and digits.
    pub ascii_alphanumeric: usize,
    /// Characters outside ASCII (Chinese characters, accented letters...).
    pub non_ascii_characters: usize,
    /// Exclamation marks: `!` and the full-width `！`.
    pub exclamation_marks: usize,
    /// Shouted words: ASCII words (runs of letters and digits) of three
    /// letters or more, all capitals (`UNACCEPTABLE`, not `OK` or `A4`).
    pub shouted_words: usize,
}

/// The full-width exclamation mark, as Chinese text writes it.
const FULL_WIDTH_EXCLAMATION: &[u8] = "！".as_bytes();

/// Phrases and their values, sorted by phrase.
#[derive(Debug, Clone, Copy)]
pub struct Phrases<V: 'static> {
    entries: &'static [(&'static str, V)],
    /// `starts[b]..starts[b + 1]`: the entries whose first byte is `b`.
    starts: [u16; 257],
    /// ASCII phrases by a hash of their first word: the first entry whose
    /// first word has this hash (with [`ALONE`] set when that entry is the
    /// word's only phrase and is the word itself), [`NO_PHRASE`], or
    /// [`SHARED`] when two different first words have it. A word of the
    /// text that starts no phrase is passed over after one lookup, and one
    /// that does goes straight to its phrases.
    by_first_word: [u16; FIRST_WORD_BUCKETS],
    /// The entries that are word prefixes (`"galit*"`), tried on every
    /// ASCII word of the text.
    prefixes: [u16; MAX_PREFIXES],
    prefix_count: usize,
}

/// Most prefix phrases (`"galit*"`) one table holds: each is compared with
/// every word of the text.
pub const MAX_PREFIXES: usize = 64;

/// Buckets of [`Phrases`]'s first-word index.
const FIRST_WORD_BUCKETS: usize = 4096;
/// A bucket no phrase's first word falls in.
const NO_PHRASE: u16 = u16::MAX;
/// A bucket two different first words fall in: its words are looked up
/// among all phrases with the same first letter.
const SHARED: u16 = u16::MAX - 1;
/// Marks a bucket whose word has one phrase, the word itself: a word seen
/// again (`and`, `the` in a language's cues) costs no comparison.
const ALONE: u16 = 0x8000;

/// The first-word index's bucket for an ASCII word, ignoring case, from its
/// first eight bytes (little-endian, zero-padded) and its length.
const fn first_word_bucket(head: u64, len: usize) -> usize {
    let kept = if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (len * 8)) - 1
    };
    // `| 0x20` lowercases letters and leaves digits as they are.
    let key = (head | 0x2020_2020_2020_2020) & kept;
    let hash = key
        .wrapping_add(len as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (hash >> (64 - FIRST_WORD_BUCKETS.trailing_zeros())) as usize
}

/// Up to eight bytes from `start`, little-endian, zero-padded.
const fn head_of(bytes: &[u8], start: usize) -> u64 {
    let mut head = 0u64;
    let mut i = 0;
    while i < 8 && start + i < bytes.len() {
        head |= (bytes[start + i] as u64) << (i * 8);
        i += 1;
    }
    head
}

impl<V> Phrases<V> {
    /// A table; panics (at compile time, in a `const`) unless `entries`
    /// are sorted by phrase bytes and ASCII phrases are lowercase.
    pub const fn new(entries: &'static [(&'static str, V)]) -> Self {
        assert!(
            entries.len() < ALONE as usize,
            "too many phrases: a table holds at most 32,767"
        );
        let mut i = 0;
        while i < entries.len() {
            assert!(!entries[i].0.is_empty(), "a phrase is empty");
            let first = entries[i].0.as_bytes()[0];
            assert!(
                !first.is_ascii() || first.is_ascii_alphanumeric(),
                "ASCII phrases must begin with a letter or digit (they match whole words)"
            );
            assert!(
                is_lowercase(entries[i].0.as_bytes()),
                "ASCII phrases must be lowercase"
            );
            assert!(
                prefix_problem(entries[i].0.as_bytes()).is_none(),
                "a word prefix is letters and digits then `*`, like \"galit*\""
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
        let mut by_first_word = [NO_PHRASE; FIRST_WORD_BUCKETS];
        let mut prefixes = [0u16; MAX_PREFIXES];
        let mut prefix_count = 0;
        let mut i = 0;
        while i < entries.len() {
            let phrase = entries[i].0.as_bytes();
            if is_prefix(phrase) {
                assert!(
                    prefix_count < MAX_PREFIXES,
                    "too many word prefixes: a table holds at most 64"
                );
                prefixes[prefix_count] = i as u16;
                prefix_count += 1;
            } else if phrase[0].is_ascii() {
                let word = ascii_word_length(phrase, 0);
                let bucket = first_word_bucket(head_of(phrase, 0), word);
                let slot = by_first_word[bucket];
                if slot == NO_PHRASE {
                    let alone = if word == phrase.len() { ALONE } else { 0 };
                    by_first_word[bucket] = i as u16 | alone;
                } else if slot != SHARED {
                    let first = slot & !ALONE;
                    let other = entries[first as usize].0.as_bytes();
                    by_first_word[bucket] = if same_first_word(other, phrase, word) {
                        // A second phrase with this first word.
                        first
                    } else {
                        SHARED
                    };
                }
            }
            i += 1;
        }
        Phrases {
            entries,
            starts,
            by_first_word,
            prefixes,
            prefix_count,
        }
    }

    /// A table made while the plugin runs, from phrases it was given (its
    /// manifest's `[config]`, say) rather than written in its code: ASCII
    /// letters are lowercased, surrounding spaces trimmed, the list sorted,
    /// and a phrase given twice kept once, with its first value. A phrase
    /// that could never match (empty, or ASCII not beginning with a letter
    /// or digit) is refused, naming it.
    ///
    /// The table lives as long as the plugin instance (it is leaked): make
    /// it once, with [`once_per_instance`](crate::once_per_instance), not
    /// on every call.
    pub fn from_list(
        entries: alloc::vec::Vec<(alloc::string::String, V)>,
    ) -> Result<Self, alloc::string::String> {
        use alloc::string::String;
        let mut cleaned: alloc::vec::Vec<(&'static str, V)> =
            alloc::vec::Vec::with_capacity(entries.len());
        for (phrase, value) in entries {
            let phrase = phrase.trim().to_ascii_lowercase();
            match phrase.bytes().next() {
                None => return Err(String::from("a phrase is empty")),
                Some(first) if first.is_ascii() && !first.is_ascii_alphanumeric() => {
                    return Err(alloc::format!(
                        "phrase `{phrase}` begins with `{}`: phrases in Latin letters match whole words, so they begin with a letter or digit",
                        first as char
                    ));
                }
                Some(_) => {}
            }
            if let Some(problem) = prefix_problem(phrase.as_bytes()) {
                return Err(alloc::format!("phrase `{phrase}`: {problem}"));
            }
            if cleaned.iter().any(|(kept, _)| *kept == phrase) {
                continue;
            }
            cleaned.push((alloc::boxed::Box::leak(phrase.into_boxed_str()), value));
        }
        if cleaned
            .iter()
            .filter(|(p, _)| is_prefix(p.as_bytes()))
            .count()
            > MAX_PREFIXES
        {
            return Err(alloc::format!(
                "more than {MAX_PREFIXES} word prefixes (phrases ending in `*`)"
            ));
        }
        if cleaned.len() >= ALONE as usize {
            return Err(alloc::format!(
                "{} phrases: a table holds at most 32,767",
                cleaned.len()
            ));
        }
        cleaned.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(Phrases::new(alloc::boxed::Box::leak(
            cleaned.into_boxed_slice(),
        )))
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &'static [(&'static str, V)] {
        self.entries
    }

    /// Calls `found` once for every distinct phrase that occurs in `text`,
    /// at its first occurrence, in the order they occur: a phrase said
    /// three times is reported once (see [`for_each_occurrence`] to count
    /// them all). Returns the [`TextStats`] gathered on the way.
    ///
    /// [`for_each_occurrence`]: Phrases::for_each_occurrence
    pub fn for_each_match(
        &self,
        text: &str,
        found: impl FnMut(&'static str, &'static V),
    ) -> TextStats {
        self.scan(text, true, found)
    }

    /// Calls `found` for every occurrence of every phrase in `text`, in the
    /// order they occur: "very very angry" reports `very` twice.
    pub fn for_each_occurrence(
        &self,
        text: &str,
        found: impl FnMut(&'static str, &'static V),
    ) -> TextStats {
        self.scan(text, false, found)
    }

    /// One pass over `text`; with `once`, each phrase is reported at its
    /// first occurrence only.
    fn scan(
        &self,
        text: &str,
        once: bool,
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
        let mut seen = Reported {
            seen: if large.is_empty() {
                &mut small
            } else {
                &mut large
            },
            once,
        };
        let seen = &mut seen;
        let bytes = text.as_bytes();
        let mut previous_alphanumeric = 0u64;
        for (block, chunk) in bytes.chunks(64).enumerate() {
            // One bit per byte: letters and digits, capitals, starts of
            // non-ASCII characters, exclamation marks.
            let masks = classify_block(chunk);
            let (alphanumeric, non_ascii_start) = (masks.alphanumeric, masks.non_ascii_start);
            stats.ascii_alphanumeric += alphanumeric.count_ones() as usize;
            stats.non_ascii_characters += non_ascii_start.count_ones() as usize;
            stats.exclamation_marks += masks.exclamation.count_ones() as usize;
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
                    ascii_word_length(bytes, position)
                };
                if word == 0 {
                    if bytes[position..].starts_with(FULL_WIDTH_EXCLAMATION) {
                        stats.exclamation_marks += 1;
                    }
                    self.match_non_ascii(bytes, position, seen, &mut found);
                    continue;
                }
                let capitals = if bit + word <= 64 {
                    let span = u64::MAX >> (64 - word);
                    (masks.uppercase >> bit) & span == span
                } else {
                    bytes[position..position + word]
                        .iter()
                        .all(u8::is_ascii_uppercase)
                };
                if capitals && word >= 3 {
                    stats.shouted_words += 1;
                }
                let head = match bytes.get(position..position + 8) {
                    Some(eight) => u64::from_le_bytes([
                        eight[0], eight[1], eight[2], eight[3], eight[4], eight[5], eight[6],
                        eight[7],
                    ]),
                    None => head_of(bytes, position),
                };
                match self.by_first_word[first_word_bucket(head, word)] {
                    NO_PHRASE => {}
                    SHARED => {
                        let first = bytes[position].to_ascii_lowercase() as usize;
                        let from = self.starts[first] as usize;
                        self.match_word(bytes, position, word, from, seen, &mut found);
                    }
                    alone if alone & ALONE != 0 => {
                        let index = (alone & !ALONE) as usize;
                        let (phrase, value) = &self.entries[index];
                        if phrase.len() == word
                            && phrase
                                .as_bytes()
                                .eq_ignore_ascii_case(&bytes[position..position + word])
                            && seen.fresh(index)
                        {
                            found(phrase, value);
                        }
                    }
                    from => {
                        self.match_word(bytes, position, word, from as usize, seen, &mut found);
                    }
                }
                for &index in &self.prefixes[..self.prefix_count] {
                    let (phrase, value) = &self.entries[index as usize];
                    let stem = &phrase.as_bytes()[..phrase.len() - 1];
                    if word >= stem.len()
                        && bytes[position..position + stem.len()].eq_ignore_ascii_case(stem)
                        && seen.fresh(index as usize)
                    {
                        found(phrase, value);
                    }
                }
            }
        }
        stats
    }

    /// Reports the phrases that start with the ASCII word at `position`
    /// (`word` bytes long), looking from entry `from` on: the table is sorted
    /// and its ASCII phrases are lowercase, so the phrases that begin with
    /// the word follow each other, and the first that does not (past the
    /// word's own) ends the search.
    fn match_word(
        &self,
        bytes: &[u8],
        position: usize,
        word: usize,
        from: usize,
        seen: &mut Reported<'_>,
        found: &mut impl FnMut(&'static str, &'static V),
    ) {
        let text_word = &bytes[position..position + word];
        let mut started = false;
        for (index, (phrase, value)) in self.entries.iter().enumerate().skip(from) {
            let phrase_bytes = phrase.as_bytes();
            let begins = phrase_bytes
                .get(..word)
                .is_some_and(|head| head.eq_ignore_ascii_case(text_word));
            if !begins {
                // Past the phrases that begin with the word, or past those of
                // its first letter: none further can match.
                if started || !phrase_bytes[0].eq_ignore_ascii_case(&bytes[position]) {
                    return;
                }
                continue;
            }
            started = true;
            if is_prefix(phrase_bytes) {
                // Matched on every word, after this lookup.
                continue;
            }
            let matched = match phrase_bytes.get(word) {
                // The phrase is this word.
                None => true,
                // A longer word ("dangerous" for "danger").
                Some(next) if next.is_ascii_alphanumeric() => false,
                // A phrase of several words: the rest must follow, and end a
                // word.
                Some(_) => {
                    let end = position + phrase_bytes.len();
                    bytes.get(position + word..end).is_some_and(|rest| {
                        rest.eq_ignore_ascii_case(&phrase_bytes[word..])
                            && bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric())
                    })
                }
            };
            if matched && seen.fresh(index) {
                found(phrase, value);
            }
        }
    }

    /// Reports the phrases that start with the non-ASCII character at
    /// `position`; they match anywhere, exactly.
    fn match_non_ascii(
        &self,
        bytes: &[u8],
        position: usize,
        seen: &mut Reported<'_>,
        found: &mut impl FnMut(&'static str, &'static V),
    ) {
        let first = bytes[position];
        let start = self.starts[first as usize] as usize;
        let end = self.starts[first as usize + 1] as usize;
        let run = &self.entries[start..end];
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
            if bytes[position..].starts_with(phrase_bytes) && seen.fresh(start + offset) {
                found(phrase, value);
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

/// One bit per byte of a block of up to 64 bytes.
struct BlockMasks {
    /// ASCII letters and digits.
    alphanumeric: u64,
    /// ASCII capital letters.
    uppercase: u64,
    /// Bytes that start a non-ASCII character.
    non_ascii_start: u64,
    /// `!`.
    exclamation: u64,
}

/// The masks of a block of up to 64 bytes, eight bytes at a time.
fn classify_block(chunk: &[u8]) -> BlockMasks {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Sets the high bit of each byte of `word` that is within lo..=hi
    // (for bytes below 0x80; others must be masked out by the caller).
    // High bits are cleared first, so no byte's sum carries into the next.
    fn within(word: u64, lo: u8, hi: u8) -> u64 {
        let word = word & 0x7f7f_7f7f_7f7f_7f7f;
        let at_least_lo = word.wrapping_add((0x80 - lo as u64) * ONES);
        let above_hi = word.wrapping_add((0x7f - hi as u64) * ONES);
        at_least_lo & !above_hi & HIGH
    }
    // Sets the high bit of each byte of `word` equal to `byte`; exact, as
    // no byte's sum carries into the next.
    fn equal(word: u64, byte: u8) -> u64 {
        const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let x = word ^ (byte as u64 * ONES);
        !((x & LOW).wrapping_add(LOW) | x) & HIGH
    }
    // The high bit of each byte, gathered into the low eight bits.
    fn gather(high_bits: u64) -> u64 {
        (high_bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
    }
    let mut masks = BlockMasks {
        alphanumeric: 0,
        uppercase: 0,
        non_ascii_start: 0,
        exclamation: 0,
    };
    for (index, group) in chunk.chunks(8).enumerate() {
        let word = match <[u8; 8]>::try_from(group) {
            Ok(eight) => u64::from_le_bytes(eight),
            Err(_) => {
                let mut padded = [0u8; 8];
                padded[..group.len()].copy_from_slice(group);
                u64::from_le_bytes(padded)
            }
        };
        let ascii = !word & HIGH;
        let uppercase = within(word, b'A', b'Z') & ascii;
        let letters = within(word | (0x20 * ONES), b'a', b'z') & ascii;
        let digits = within(word, b'0', b'9') & ascii;
        let exclamation = equal(word, b'!');
        let shift = index * 8;
        masks.alphanumeric |= gather(letters | digits) << shift;
        masks.uppercase |= gather(uppercase) << shift;
        masks.non_ascii_start |= gather(word & (word << 1) & HIGH) << shift;
        masks.exclamation |= gather(exclamation) << shift;
    }
    masks
}

/// Which entries a scan has reported: one bit each.
struct Reported<'s> {
    seen: &'s mut [u64],
    /// Report each entry once; otherwise at every occurrence.
    once: bool,
}

impl Reported<'_> {
    /// Whether to report entry `index` now, remembering that it was.
    fn fresh(&mut self, index: usize) -> bool {
        if !self.once {
            return true;
        }
        let (block, bit) = (index / 64, 1 << (index % 64));
        let fresh = self.seen[block] & bit == 0;
        self.seen[block] |= bit;
        fresh
    }
}

/// A word prefix: ASCII letters and digits, then `*`.
const fn is_prefix(phrase: &[u8]) -> bool {
    !phrase.is_empty() && phrase[phrase.len() - 1] == b'*'
}

/// Why `phrase`, if it ends in `*`, is not a word prefix.
const fn prefix_problem(phrase: &[u8]) -> Option<&'static str> {
    if !is_prefix(phrase) {
        return None;
    }
    if phrase.len() < 2 {
        return Some("a word prefix needs a letter or digit before `*`");
    }
    let mut i = 0;
    while i < phrase.len() - 1 {
        if !phrase[i].is_ascii_alphanumeric() {
            return Some(
                "a word prefix is letters and digits (ASCII) then `*`, like \"galit*\"; Chinese phrases match anywhere already",
            );
        }
        i += 1;
    }
    None
}

/// Length of the ASCII word (letters and digits) starting at `start`.
const fn ascii_word_length(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
        end += 1;
    }
    end - start
}

/// Whether both phrases begin with the same `word`-byte word.
const fn same_first_word(a: &[u8], b: &[u8], word: usize) -> bool {
    if ascii_word_length(a, 0) != word || ascii_word_length(b, 0) != word {
        return false;
    }
    let mut i = 0;
    while i < word {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
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
        let text = "Hi! 质量 x9_Z@[`{ \u{e9}t\u{e9} \u{c1}!\u{a1} \u{3b0}/\u{3bf}0\u{e9}! 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ~";
        for chunk in text.as_bytes().chunks(64) {
            let masks = classify_block(chunk);
            for (bit, byte) in chunk.iter().enumerate() {
                let set = |mask: u64| (mask >> bit) & 1 == 1;
                assert_eq!(
                    set(masks.alphanumeric),
                    byte.is_ascii_alphanumeric(),
                    "{byte:#x}"
                );
                assert_eq!(set(masks.uppercase), byte.is_ascii_uppercase(), "{byte:#x}");
                assert_eq!(set(masks.non_ascii_start), *byte >= 0xC0, "{byte:#x}");
                assert_eq!(set(masks.exclamation), *byte == b'!', "{byte:#x}");
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

    const SHARED_PREFIXES: Phrases<u8> = Phrases::new(&[
        ("charge", 0),
        ("chargeback", 1),
        ("charged", 2),
        ("charged twice", 3),
        ("charged twice again", 4),
        ("danger", 5),
        ("danger zone", 6),
        ("dangerous", 7),
        ("doesn't work", 8),
        ("i", 9),
        ("it", 10),
        ("服务", 11),
        ("服务员", 12),
    ]);

    /// What the table should find, by brute force.
    fn reference(table: &Phrases<u8>, text: &str) -> Vec<u8> {
        let bytes = text.as_bytes();
        let lower = text.to_ascii_lowercase();
        let mut found: Vec<(usize, u8)> = Vec::new();
        for (phrase, value) in table.entries() {
            let first = lower.match_indices(phrase).map(|(at, _)| at).find(|&at| {
                let end = at + phrase.len();
                !phrase.is_ascii()
                    || ((at == 0 || !bytes[at - 1].is_ascii_alphanumeric())
                        && bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric()))
            });
            if let Some(at) = first {
                found.push((at, *value));
            }
        }
        found.sort();
        found.into_iter().map(|(_, value)| value).collect()
    }

    #[test]
    fn every_occurrence_is_counted_when_asked() {
        const CUES: Phrases<u8> = Phrases::new(&[("refund", 0), ("very", 1), ("生气", 2)]);
        let text = "Very very angry, refund! 生气, 生气. Refund.";
        let mut once = Vec::new();
        CUES.for_each_match(text, |phrase, _| once.push(phrase));
        assert_eq!(once, ["very", "refund", "生气"]);
        let mut every = Vec::new();
        CUES.for_each_occurrence(text, |phrase, _| every.push(phrase));
        assert_eq!(every, ["very", "very", "refund", "生气", "生气", "refund"]);
    }

    #[test]
    fn a_word_prefix_matches_inflected_words() {
        // Tagalog inflects by affixes: galit (anger), galitin, galit na galit.
        const TL: Phrases<u8> = Phrases::new(&[("galit*", 0), ("sira", 1)]);
        let mut found = Vec::new();
        TL.for_each_occurrence("Galit na galit ako, galitin mo pa! sirang sira", |p, _| {
            found.push(p)
        });
        assert_eq!(found, ["galit*", "galit*", "galit*", "sira"]);
        let mut once = Vec::new();
        TL.for_each_match("nagagalit, galit*", |p, _| once.push(p));
        // A prefix begins the word: `nagagalit` is not `galit...`.
        assert_eq!(once, ["galit*"]);
        let runtime = Phrases::from_list(alloc::vec![
            (String::from("Galit*"), 0u8),
            (String::from("refund"), 1),
        ])
        .unwrap();
        assert_eq!(runtime.count_matches("galitin, REFUNDS, refund"), 2);
        for (phrase, problem) in [
            ("gal it*", "letters and digits (ASCII) then `*`"),
            ("*", "begins with `*`"),
            ("生气*", "Chinese phrases match anywhere already"),
        ] {
            let error = Phrases::from_list(alloc::vec![(String::from(phrase), 0u8)]).unwrap_err();
            assert!(error.contains(problem), "{phrase}: {error}");
        }
    }

    #[test]
    fn phrases_sharing_a_prefix_match_like_brute_force() {
        let long = alloc::format!("{}Charged TWICE again", "x".repeat(58));
        for text in [
            "I was charged twice, then CHARGED again; it doesn't work.",
            "danger! Danger zone ahead, dangerous chargeback charge",
            "it i It I iT",
            "charged twic",
            "charged twice again and again",
            "服务员的服务",
            "dangers chargers charges",
            long.as_str(),
        ] {
            let mut found = Vec::new();
            SHARED_PREFIXES.for_each_match(text, |_, value| found.push(*value));
            assert_eq!(found, reference(&SHARED_PREFIXES, text), "{text}");
        }
    }

    #[test]
    fn first_words_sharing_a_bucket_are_all_found() {
        // Two three-letter words starting with `q` that land in the same
        // bucket of the first-word index.
        let words: Vec<alloc::string::String> = (b'a'..=b'z')
            .flat_map(|b| (b'a'..=b'z').map(move |c| alloc::format!("q{}{}", b as char, c as char)))
            .collect();
        let bucket = |word: &str| first_word_bucket(head_of(word.as_bytes(), 0), word.len());
        let (first, second) = words
            .iter()
            .enumerate()
            .find_map(|(i, a)| {
                words[i + 1..]
                    .iter()
                    .find(|b| bucket(b) == bucket(a))
                    .map(|b| (a.clone(), b.clone()))
            })
            .expect("676 words in 4,096 buckets collide somewhere");
        let second_phrase = alloc::format!("{second} zone");
        let leaked: &'static [(&'static str, u8)] = Vec::leak(alloc::vec![
            (&*alloc::string::String::leak(first.clone()), 1),
            (&*alloc::string::String::leak(second.clone()), 2),
            (&*alloc::string::String::leak(second_phrase.clone()), 3),
        ]);
        let table = Phrases::new(leaked);
        assert_eq!(table.by_first_word[bucket(&first)], SHARED);
        let text = alloc::format!(
            "{} and {} then {}",
            first.to_uppercase(),
            second,
            second_phrase
        );
        let mut found = Vec::new();
        table.for_each_match(&text, |_, value| found.push(*value));
        assert_eq!(found, reference(&table, &text));
        assert_eq!(found, [1, 2, 3]);
    }

    #[test]
    fn exclamations_and_shouted_words_are_counted() {
        let stats = |text: &str| {
            let stats = TABLE.for_each_match(text, |_, _| {});
            (stats.exclamation_marks, stats.shouted_words)
        };
        assert_eq!(stats(""), (0, 0));
        assert_eq!(stats("NO! no!! 不行！"), (4, 0));
        assert_eq!(stats("THIS is UNACCEPTABLE!!"), (2, 2));
        assert_eq!(stats("OK A4 ABC1 ABC Abc"), (0, 1));
        let long = alloc::format!("{}UNACCEPTABLE", " ".repeat(60));
        assert_eq!(stats(&long), (0, 1));
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
