//! Which language a complaint is written in: English, Simplified or
//! Traditional Chinese, or Tagalog, decided from what one reading of the
//! text saw.

use redress_sdk::text::TextStats;

use crate::lexicon::Lang;

/// Evidence for a language, counted while reading.
#[derive(Debug, Default, Clone, Copy)]
pub struct Evidence {
    pub simplified: usize,
    pub traditional: usize,
    pub tagalog_words: usize,
    pub english_words: usize,
}

/// The language, or `None` when undetermined.
pub fn decide(stats: TextStats, evidence: Evidence) -> Option<Lang> {
    if stats.non_ascii_characters > 0 && stats.non_ascii_characters * 3 >= stats.ascii_alphanumeric
    {
        return Some(if evidence.traditional > evidence.simplified {
            Lang::ZhHant
        } else {
            Lang::ZhHans
        });
    }
    if stats.ascii_alphanumeric == 0 {
        return None;
    }
    if evidence.tagalog_words >= 2 && evidence.tagalog_words > evidence.english_words {
        Some(Lang::Tl)
    } else {
        Some(Lang::En)
    }
}

#[cfg(test)]
mod tests {
    use crate::detect_language;

    #[test]
    fn detects_the_source_languages() {
        assert_eq!(
            detect_language("商家接到顧客投訴或抱怨的信息,應立即向顧客打電話"),
            "zh-Hant"
        );
        assert_eq!(
            detect_language("客户投诉的类型大体可分为以下几种"),
            "zh-Hans"
        );
        assert_eq!(
            detect_language(
                "Ang pagharap sa mga reklamo sa customer ay isang katotohanan ng buhay"
            ),
            "tl"
        );
        assert_eq!(
            detect_language("The teller refused to stamp my parking ticket."),
            "en"
        );
        assert_eq!(detect_language("!!! ..."), "und");
    }
}
