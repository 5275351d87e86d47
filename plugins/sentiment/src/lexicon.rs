//! Weighted phrases per language. A weight of 1.0 alone gives a score of
//! about 0.63; scores add up and saturate toward 1.

/// A phrase and what it says about anger and urgency.
pub struct Entry {
    pub phrase: &'static str,
    pub anger: f64,
    pub urgency: f64,
}

const fn e(phrase: &'static str, anger: f64, urgency: f64) -> Entry {
    Entry {
        phrase,
        anger,
        urgency,
    }
}

/// Words that make whatever follows stronger, in every language.
pub const INTENSIFIERS: &[&str] = &[
    "very",
    "so",
    "extremely",
    "totally",
    "absolutely",
    "really",
    "非常",
    "太",
    "极其",
    "極其",
    "特别",
    "特別",
    "sobrang",
    "napaka",
    "talagang",
];

const ENGLISH: &[Entry] = &[
    e("angry", 1.0, 0.0),
    e("furious", 1.4, 0.1),
    e("outraged", 1.4, 0.1),
    e("livid", 1.4, 0.1),
    e("disgusted", 1.2, 0.0),
    e("unacceptable", 1.0, 0.2),
    e("ridiculous", 0.8, 0.0),
    e("terrible", 0.8, 0.0),
    e("awful", 0.8, 0.0),
    e("worst", 1.0, 0.0),
    e("rude", 0.8, 0.0),
    e("incompetent", 1.0, 0.0),
    e("scam", 1.2, 0.2),
    e("fraud", 1.2, 0.3),
    e("never again", 1.0, 0.0),
    e("fed up", 1.0, 0.0),
    e("disappointed", 0.5, 0.0),
    e("unhappy", 0.5, 0.0),
    e("lawyer", 1.0, 0.5),
    e("sue", 1.0, 0.5),
    e("competitor", 0.6, 0.2),
    e("close my account", 0.9, 0.4),
    e("complaint", 0.3, 0.0),
    e("refund", 0.3, 0.2),
    e("immediately", 0.2, 0.8),
    e("urgent", 0.1, 1.0),
    e("asap", 0.2, 0.8),
    e("right now", 0.3, 0.8),
    e("today", 0.0, 0.4),
    e("emergency", 0.2, 1.4),
    e("danger", 0.2, 1.2),
    e("dangerous", 0.2, 1.2),
    e("injured", 0.4, 1.4),
    e("injury", 0.4, 1.4),
    e("hurt", 0.3, 1.0),
    e("fire", 0.2, 1.4),
    e("deadline", 0.0, 0.8),
];

const SIMPLIFIED: &[Entry] = &[
    e("生气", 1.0, 0.0),
    e("愤怒", 1.4, 0.1),
    e("气死", 1.4, 0.1),
    e("太差", 1.0, 0.0),
    e("恶劣", 1.2, 0.0),
    e("垃圾", 1.0, 0.0),
    e("骗", 1.2, 0.2),
    e("欺骗", 1.2, 0.2),
    e("无法接受", 1.0, 0.2),
    e("不满", 0.6, 0.0),
    e("失望", 0.5, 0.0),
    e("投诉", 0.6, 0.1),
    e("抱怨", 0.4, 0.0),
    e("退款", 0.3, 0.2),
    e("律师", 1.0, 0.5),
    e("再也不", 1.0, 0.0),
    e("马上", 0.2, 0.8),
    e("立即", 0.2, 0.8),
    e("立刻", 0.2, 0.8),
    e("紧急", 0.1, 1.0),
    e("今天", 0.0, 0.4),
    e("危险", 0.2, 1.2),
    e("受伤", 0.4, 1.4),
    e("伤害", 0.4, 1.2),
    e("着火", 0.2, 1.4),
];

const TRADITIONAL: &[Entry] = &[
    e("生氣", 1.0, 0.0),
    e("憤怒", 1.4, 0.1),
    e("氣死", 1.4, 0.1),
    e("太差", 1.0, 0.0),
    e("惡劣", 1.2, 0.0),
    e("垃圾", 1.0, 0.0),
    e("騙", 1.2, 0.2),
    e("欺騙", 1.2, 0.2),
    e("無法接受", 1.0, 0.2),
    e("太嚴重", 0.8, 0.3),
    e("不滿", 0.6, 0.0),
    e("失望", 0.5, 0.0),
    e("投訴", 0.6, 0.1),
    e("抱怨", 0.4, 0.0),
    e("退款", 0.3, 0.2),
    e("律師", 1.0, 0.5),
    e("再也不", 1.0, 0.0),
    e("馬上", 0.2, 0.8),
    e("立即", 0.2, 0.8),
    e("立刻", 0.2, 0.8),
    e("緊急", 0.1, 1.0),
    e("今天", 0.0, 0.4),
    e("危險", 0.2, 1.2),
    e("受傷", 0.4, 1.4),
    e("傷害", 0.4, 1.2),
    e("著火", 0.2, 1.4),
];

const TAGALOG: &[Entry] = &[
    e("galit", 1.0, 0.0),
    e("nagagalit", 1.2, 0.0),
    e("nakakainis", 0.9, 0.0),
    e("bastos", 0.9, 0.0),
    e("walang kwenta", 1.0, 0.0),
    e("hindi katanggap-tanggap", 1.0, 0.2),
    e("sumabog", 1.2, 0.1),
    e("reklamo", 0.4, 0.0),
    e("dapat kang magbayad", 0.9, 0.2),
    e("kakumpitensya", 0.7, 0.2),
    e("kumpetisyon", 0.5, 0.1),
    e("dismayado", 0.5, 0.0),
    e("tono", 0.3, 0.0),
    e("agad", 0.2, 0.8),
    e("kaagad", 0.2, 0.8),
    e("ngayon din", 0.3, 0.8),
    e("emergency", 0.2, 1.4),
    e("delikado", 0.2, 1.2),
    e("nasaktan", 0.4, 1.4),
    e("sunog", 0.2, 1.4),
];

/// The phrases to look for in a text of `language`. English phrases are
/// also looked for in Tagalog texts (code-switching is common).
pub fn for_language(language: &str) -> impl Iterator<Item = &'static Entry> {
    let (first, second): (&'static [Entry], &'static [Entry]) = match language {
        "zh-Hans" => (SIMPLIFIED, &[]),
        "zh-Hant" => (TRADITIONAL, &[]),
        "tl" => (TAGALOG, ENGLISH),
        _ => (ENGLISH, &[]),
    };
    first.iter().chain(second.iter())
}
