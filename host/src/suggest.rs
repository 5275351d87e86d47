//! "Did you mean …?" hints: the closest known name by edit distance.

/// The candidate closest to `input`, if it is close enough to be a likely
/// typo (at most a third of the input's length in edits, and at least one).
pub fn closest<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(input, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `Some("did you mean `x`?")` when a close candidate exists.
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// serde says "unknown field `x`, expected one of `a`, `b`" (or "unknown
/// variant"): suggest the closest of the expected names.
///
/// This reads serde's text on purpose, for rule files, manifests and the
/// daemon's configuration (`deny_unknown_fields`): the text is what serde's
/// own `de::Error::unknown_field` writes, every table's expected names are
/// in it, and the suggestion is only a hint added to serde's error, which
/// is shown whole either way. Should the wording change, the hint goes
/// away and nothing else does (`suggests_near_misses_only` would fail).
pub fn from_serde_message(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    did_you_mean(unknown, candidates.iter().copied())
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["queue", "handler", "priority", "when", "name"];
        assert_eq!(closest("qeue", keys), Some("queue"));
        assert_eq!(closest("priorty", keys), Some("priority"));
        assert_eq!(closest("colour", keys), None);
    }

    #[test]
    fn serde_unknown_field_messages_yield_suggestions() {
        assert_eq!(
            from_serde_message("unknown field `escalte`, expected `escalate` or `notify`"),
            Some("did you mean `escalate`?".to_string())
        );
        assert_eq!(from_serde_message("missing field `queue`"), None);
    }

    #[test]
    fn distance_is_symmetric_on_examples() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("sitting", "kitten"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
