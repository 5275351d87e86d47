//! Which language a complaint is written in: English, Simplified or
//! Traditional Chinese, or Tagalog.

/// Characters written one way in Simplified and another in Traditional
/// Chinese, frequent in complaints: (simplified, traditional).
const SCRIPT_PAIRS: &[(char, char)] = &[
    ('这', '這'),
    ('说', '說'),
    ('问', '問'),
    ('们', '們'),
    ('时', '時'),
    ('对', '對'),
    ('么', '麼'),
    ('来', '來'),
    ('为', '為'),
    ('务', '務'),
    ('应', '應'),
    ('顾', '顧'),
    ('处', '處'),
    ('产', '產'),
    ('质', '質'),
    ('费', '費'),
    ('价', '價'),
    ('题', '題'),
    ('电', '電'),
    ('话', '話'),
    ('还', '還'),
    ('没', '沒'),
    ('钱', '錢'),
    ('买', '買'),
    ('卖', '賣'),
    ('货', '貨'),
    ('诉', '訴'),
    ('换', '換'),
    ('坏', '壞'),
    ('给', '給'),
    ('让', '讓'),
    ('员', '員'),
    ('态', '態'),
    ('东', '東'),
    ('车', '車'),
    ('门', '門'),
    ('后', '後'),
    ('马', '馬'),
    ('险', '險'),
    ('伤', '傷'),
    ('严', '嚴'),
    ('气', '氣'),
    ('动', '動'),
    ('经', '經'),
    ('过', '過'),
    ('开', '開'),
    ('关', '關'),
    ('长', '長'),
    ('见', '見'),
    ('觉', '覺'),
    ('样', '樣'),
    ('点', '點'),
    ('从', '從'),
    ('号', '號'),
    ('单', '單'),
    ('帐', '帳'),
    ('账', '賬'),
    ('维', '維'),
];

/// Frequent Tagalog words that are not English words.
const TAGALOG_WORDS: &[&str] = &[
    "ang", "ng", "mga", "sa", "ay", "hindi", "ako", "ko", "na", "po", "ito", "siya", "kung",
    "niya", "nila", "akin", "iyong", "kang", "ba", "lang", "rin", "din", "pero", "dahil", "naman",
    "wala", "walang", "may", "mayroon", "kami", "namin", "kayo", "ninyo", "dapat",
];

/// Frequent English function words.
const ENGLISH_WORDS: &[&str] = &[
    "the", "and", "is", "are", "was", "were", "not", "my", "i", "you", "your", "it", "this",
    "that", "to", "of", "for", "with", "have", "has", "had", "me", "we", "they", "on", "at",
];

/// `en`, `zh-Hans`, `zh-Hant`, `tl` or `und` (undetermined).
pub fn detect_language(text: &str) -> &'static str {
    let mut han = 0usize;
    let mut latin = 0usize;
    for c in text.chars() {
        if is_han(c) {
            han += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if han > 0 && han * 3 >= latin {
        let (mut simplified, mut traditional) = (0, 0);
        for c in text.chars() {
            for (s, t) in SCRIPT_PAIRS {
                if s != t {
                    if c == *s {
                        simplified += 1;
                    } else if c == *t {
                        traditional += 1;
                    }
                }
            }
        }
        return if traditional > simplified {
            "zh-Hant"
        } else {
            "zh-Hans"
        };
    }
    if latin == 0 {
        return "und";
    }
    let (mut tagalog, mut english) = (0, 0);
    for word in text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        if TAGALOG_WORDS.contains(&word.as_str()) {
            tagalog += 1;
        }
        if ENGLISH_WORDS.contains(&word.as_str()) {
            english += 1;
        }
    }
    if tagalog >= 2 && tagalog > english {
        "tl"
    } else {
        "en"
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(detect_language("!!! 123"), "und");
    }
}
