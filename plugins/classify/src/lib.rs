//! Classify: free text to seed 003's five types of complaint, in English,
//! Simplified and Traditional Chinese, and Tagalog.
//!
//! Outputs (see `plugins/classify.toml`):
//! - `category`: `product_quality`, `staff_attitude`, `price_billing`,
//!   `after_sales`, `unexpected_incident`, or `other` (seed 001's "other"
//!   cell); fills the event's `category` when the sender gave none
//! - `confidence`: 0..1, the winning type's share of the evidence
//! - `topics`: every type with evidence, strongest first
//!
//! Config `min_score` (default 1.0): evidence needed before a type is
//! chosen over `other`.

#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use redress_sdk::prelude::*;

/// Seed 003's five types, in the order ties are broken.
pub const CATEGORIES: [&str; 5] = [
    "unexpected_incident",
    "product_quality",
    "staff_attitude",
    "price_billing",
    "after_sales",
];

/// (category index into `CATEGORIES`, phrase, weight)
const PHRASES: &[(usize, &str, f64)] = &[
    // Unexpected incidents: lost property, danger or injury, outages.
    (0, "injured", 2.0),
    (0, "injury", 2.0),
    (0, "hurt", 1.5),
    (0, "accident", 2.0),
    (0, "fire", 1.5),
    (0, "lost my", 1.5),
    (0, "stolen", 2.0),
    (0, "theft", 2.0),
    (0, "outage", 2.0),
    (0, "power cut", 2.0),
    (0, "blackout", 2.0),
    (0, "slipped", 1.5),
    (0, "fell", 1.0),
    (0, "danger", 1.5),
    (0, "dangerous", 1.5),
    (0, "受伤", 2.0),
    (0, "受傷", 2.0),
    (0, "意外", 2.0),
    (0, "丢失", 2.0),
    (0, "丟失", 2.0),
    (0, "危险", 1.5),
    (0, "危險", 1.5),
    (0, "停电", 2.0),
    (0, "停電", 2.0),
    (0, "停水", 2.0),
    (0, "火灾", 2.0),
    (0, "火災", 2.0),
    (0, "被盗", 2.0),
    (0, "被盜", 2.0),
    (0, "伤害", 1.5),
    (0, "傷害", 1.5),
    (0, "nasaktan", 2.0),
    (0, "aksidente", 2.0),
    (0, "nawala", 1.5),
    (0, "ninakaw", 2.0),
    (0, "brownout", 2.0),
    (0, "delikado", 1.5),
    (0, "nadulas", 1.5),
    (0, "sunog", 2.0),
    // Product quality or performance.
    (1, "defect", 2.0),
    (1, "defective", 2.0),
    (1, "broken", 1.5),
    (1, "stopped working", 2.0),
    (1, "doesn't work", 1.5),
    (1, "does not work", 1.5),
    (1, "faulty", 2.0),
    (1, "poor quality", 2.0),
    (1, "quality", 1.0),
    (1, "damaged", 1.5),
    (1, "cracked", 1.5),
    (1, "leaking", 1.5),
    (1, "expired", 1.5),
    (1, "spoiled", 1.5),
    (1, "rotten", 1.5),
    (1, "malfunction", 2.0),
    (1, "质量", 2.0),
    (1, "質量", 2.0),
    (1, "品质", 2.0),
    (1, "品質", 2.0),
    (1, "性能", 1.5),
    (1, "坏了", 2.0),
    (1, "壞了", 2.0),
    (1, "故障", 2.0),
    (1, "破损", 1.5),
    (1, "破損", 1.5),
    (1, "次品", 2.0),
    (1, "瑕疵", 2.0),
    (1, "不能用", 1.5),
    (1, "过期", 1.5),
    (1, "過期", 1.5),
    (1, "sira", 2.0),
    (1, "hindi gumagana", 2.0),
    (1, "bulok", 1.5),
    (1, "depekto", 2.0),
    (1, "hindi maganda", 1.0),
    (1, "palitan", 1.0),
    (1, "kalidad", 1.5),
    // Staff attitude.
    (2, "rude", 2.0),
    (2, "impolite", 2.0),
    (2, "attitude", 1.5),
    (2, "unfriendly", 1.5),
    (2, "ignored me", 1.5),
    (2, "shouted", 1.5),
    (2, "yelled", 1.5),
    (2, "disrespectful", 2.0),
    (2, "condescending", 2.0),
    (2, "rolled her eyes", 2.0),
    (2, "rolled his eyes", 2.0),
    (2, "tone", 1.0),
    (2, "cashier", 0.7),
    (2, "teller", 0.7),
    (2, "staff", 0.7),
    (2, "employee", 0.7),
    (2, "refused", 0.8),
    (2, "态度", 2.0),
    (2, "態度", 2.0),
    (2, "服务员", 1.0),
    (2, "服務員", 1.0),
    (2, "店员", 1.0),
    (2, "店員", 1.0),
    (2, "不礼貌", 2.0),
    (2, "不禮貌", 2.0),
    (2, "冷漠", 1.5),
    (2, "骂", 1.5),
    (2, "罵", 1.5),
    (2, "工作人员", 1.0),
    (2, "工作人員", 1.0),
    (2, "bastos", 2.0),
    (2, "masungit", 2.0),
    (2, "walang galang", 2.0),
    (2, "tono", 1.0),
    (2, "empleyado", 0.7),
    (2, "kawani", 0.7),
    // Price, fees, billing.
    (3, "overcharged", 2.0),
    (3, "charged twice", 2.0),
    (3, "double charge", 2.0),
    (3, "bill", 1.0),
    (3, "billing", 1.5),
    (3, "invoice", 1.5),
    (3, "price", 1.0),
    (3, "fee", 1.5),
    (3, "fees", 1.5),
    (3, "refund", 1.0),
    (3, "payment", 1.0),
    (3, "charge", 1.0),
    (3, "价格", 2.0),
    (3, "價格", 2.0),
    (3, "收费", 2.0),
    (3, "收費", 2.0),
    (3, "费用", 1.5),
    (3, "費用", 1.5),
    (3, "多收", 2.0),
    (3, "结算", 1.5),
    (3, "結算", 1.5),
    (3, "账单", 1.5),
    (3, "帳單", 1.5),
    (3, "退款", 1.0),
    (3, "presyo", 2.0),
    (3, "singil", 2.0),
    (3, "sobra ang singil", 2.0),
    (3, "resibo", 1.0),
    (3, "pagkakaiba sa presyo", 2.0),
    // Supporting services, facilities, after-sales.
    (4, "repair", 1.5),
    (4, "warranty", 2.0),
    (4, "delivery", 1.5),
    (4, "installation", 1.5),
    (4, "service center", 1.5),
    (4, "parking", 1.5),
    (4, "waiting", 1.0),
    (4, "appointment", 1.0),
    (4, "technician", 1.5),
    (4, "after-sales", 2.0),
    (4, "facility", 1.5),
    (4, "facilities", 1.5),
    (4, "nobody answered", 1.0),
    (4, "no one called", 1.0),
    (4, "售后", 2.0),
    (4, "售後", 2.0),
    (4, "维修", 2.0),
    (4, "維修", 2.0),
    (4, "保修", 2.0),
    (4, "安装", 1.5),
    (4, "安裝", 1.5),
    (4, "送货", 1.5),
    (4, "送貨", 1.5),
    (4, "配套", 1.5),
    (4, "设施", 1.5),
    (4, "設施", 1.5),
    (4, "停车", 1.5),
    (4, "停車", 1.5),
    (4, "garantiya", 2.0),
    (4, "pagkumpuni", 2.0),
    (4, "paghahatid", 1.5),
    (4, "paradahan", 1.5),
];

/// Classifies one complaint.
#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let min_score = redress_sdk::config_f64("min_score", 1.0);
    let scores = scores(&complaint.text);
    let total: f64 = scores.iter().sum();
    let mut ranked: Vec<(usize, f64)> = scores
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| *s > 0.0)
        .collect();
    ranked.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(core::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    });
    let (category, confidence) = match ranked.first() {
        Some((index, score)) if *score >= min_score => (CATEGORIES[*index], score / total),
        _ => ("other", 0.0),
    };
    let topics = ranked
        .iter()
        .map(|(i, _)| String::from(CATEGORIES[*i]))
        .collect();
    Ok(Analysis::new()
        .text("category", category)
        .number(
            "confidence",
            (confidence * 100.0 + 0.5) as i64 as f64 / 100.0,
        )
        .list("topics", topics))
}

/// Evidence for each of `CATEGORIES` in `text`.
pub fn scores(text: &str) -> [f64; 5] {
    let lower = text.to_lowercase();
    let mut scores = [0.0; 5];
    for (category, phrase, weight) in PHRASES {
        let found = if phrase.is_ascii() {
            contains_word(&lower, phrase)
        } else {
            text.contains(phrase)
        };
        if found {
            scores[*category] += weight;
        }
    }
    scores
}

fn contains_word(text: &str, phrase: &str) -> bool {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(found) = text[start..].find(phrase) {
        let at = start + found;
        let end = at + phrase.len();
        let before = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        let after = end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before && after {
            return true;
        }
        start = at + 1;
        while start < text.len() && !text.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(text: &str) -> (String, f64) {
        let analysis = analyze(&Complaint::from_text(text)).unwrap();
        (
            analysis.text_value("category").unwrap().to_string(),
            analysis.number_value("confidence").unwrap(),
        )
    }

    #[test]
    fn seed_003_types_in_chinese() {
        // Seed 003 lists the five types; one complaint of each kind.
        assert_eq!(
            category("我买的电视质量太差，用了两天就坏了").0,
            "product_quality"
        );
        assert_eq!(category("服务员的态度很差，对我很冷漠").0, "staff_attitude");
        assert_eq!(
            category("你们多收了我的费用，价格不合理").0,
            "price_billing"
        );
        assert_eq!(category("售后维修等了两个星期还没人来").0, "after_sales");
        assert_eq!(
            category("在商场里突然停电，我的孩子受伤了").0,
            "unexpected_incident"
        );
    }

    #[test]
    fn traditional_chinese_from_seed_000() {
        // Seed 000: 如果顧客投訴的是商品質量問題
        assert_eq!(category("顧客投訴的是商品質量問題").0, "product_quality");
        assert_eq!(category("店員態度不禮貌").0, "staff_attitude");
    }

    #[test]
    fn english_and_tagalog() {
        assert_eq!(
            category("The left earbud stopped working after two days.").0,
            "product_quality"
        );
        assert_eq!(
            category("The teller was rude and refused to stamp my parking ticket.").0,
            "staff_attitude"
        );
        assert_eq!(
            category("I was overcharged and charged twice on my bill").0,
            "price_billing"
        );
        // Seed 004: the plums, and the comment about the price difference.
        let (tl, _) = category(
            "Bulok ang mga plum, gusto kong palitan. Sinabi niya ang pagkakaiba sa presyo sa bastos na tono.",
        );
        assert!(
            ["product_quality", "staff_attitude", "price_billing"].contains(&tl.as_str()),
            "{tl}"
        );
        assert_eq!(
            category("Nasaktan ang anak ko dahil nadulas sa tindahan").0,
            "unexpected_incident"
        );
    }

    #[test]
    fn no_evidence_is_other() {
        assert_eq!(
            category("Hello, I have a question."),
            ("other".to_string(), 0.0)
        );
    }

    #[test]
    fn confidence_is_the_winning_share() {
        let (name, confidence) = category("defective and broken, poor quality");
        assert_eq!(name, "product_quality");
        assert_eq!(confidence, 1.0);
        let analysis = analyze(&Complaint::from_text("broken, and the cashier was rude")).unwrap();
        let topics = match analysis.get("topics").unwrap() {
            Value::List(items) => items.clone(),
            _ => panic!(),
        };
        assert_eq!(topics, vec!["staff_attitude", "product_quality"]);
    }
}
