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
//! How: every phrase of the table below (and of the manifest's
//! `[config.phrases]`) found in the text adds its weight to its type, once
//! however often it occurs; the type with the most evidence wins if it has
//! at least `min_score`, and `confidence` is its share of all the evidence.
//!
//! Config:
//! - `min_score` (default 1.0): evidence needed before a type is chosen
//!   over `other`;
//! - `[config.phrases]`: extra phrases per type, in any language
//!   (`after_sales = ["left my bag"]`), each worth `phrase_weight`;
//! - `phrase_weight` (default 2.0): what one extra phrase is worth, as much
//!   as the table's strongest cues, so one alone decides the type.

#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use redress_sdk::prelude::*;
use redress_sdk::text::Phrases;

/// Seed 003's five types, in the order ties are broken.
pub const CATEGORIES: [&str; 5] = [
    "unexpected_incident",
    "product_quality",
    "staff_attitude",
    "price_billing",
    "after_sales",
];

/// Evidence: (phrase, (category index into `CATEGORIES`, weight)), sorted
/// by phrase bytes.
const PHRASES: Phrases<(usize, f64)> = Phrases::new(&[
    ("accident", (0, 2.0)),
    ("after-sales", (4, 2.0)),
    ("aksidente", (0, 2.0)),
    ("appointment", (4, 1.0)),
    ("attitude", (2, 1.5)),
    ("bastos", (2, 2.0)),
    ("bill", (3, 1.0)),
    ("billing", (3, 1.5)),
    ("blackout", (0, 2.0)),
    ("broken", (1, 1.5)),
    ("brownout", (0, 2.0)),
    ("bulok", (1, 1.5)),
    ("cashier", (2, 0.7)),
    ("charge", (3, 1.0)),
    ("charged twice", (3, 2.0)),
    ("condescending", (2, 2.0)),
    ("cracked", (1, 1.5)),
    ("damaged", (1, 1.5)),
    ("danger", (0, 1.5)),
    ("dangerous", (0, 1.5)),
    ("defect", (1, 2.0)),
    ("defective", (1, 2.0)),
    ("delikado", (0, 1.5)),
    ("delivery", (4, 1.5)),
    ("depekto", (1, 2.0)),
    ("disrespectful", (2, 2.0)),
    ("does not work", (1, 1.5)),
    ("doesn't work", (1, 1.5)),
    ("double charge", (3, 2.0)),
    ("empleyado", (2, 0.7)),
    ("employee", (2, 0.7)),
    ("expired", (1, 1.5)),
    ("facilities", (4, 1.5)),
    ("facility", (4, 1.5)),
    ("faulty", (1, 2.0)),
    ("fee", (3, 1.5)),
    ("fees", (3, 1.5)),
    ("fell", (0, 1.0)),
    ("fire", (0, 1.5)),
    ("garantiya", (4, 2.0)),
    ("hindi gumagana", (1, 2.0)),
    ("hindi maganda", (1, 1.0)),
    ("hurt", (0, 1.5)),
    ("ignored me", (2, 1.5)),
    ("impolite", (2, 2.0)),
    ("injured", (0, 2.0)),
    ("injury", (0, 2.0)),
    ("installation", (4, 1.5)),
    ("invoice", (3, 1.5)),
    ("kalidad", (1, 1.5)),
    ("kawani", (2, 0.7)),
    ("leaking", (1, 1.5)),
    ("lost my", (0, 1.5)),
    ("malfunction", (1, 2.0)),
    ("masungit", (2, 2.0)),
    ("nadulas", (0, 1.5)),
    ("nasaktan", (0, 2.0)),
    ("nawala", (0, 1.5)),
    ("ninakaw", (0, 2.0)),
    ("no one called", (4, 1.0)),
    ("nobody answered", (4, 1.0)),
    ("outage", (0, 2.0)),
    ("overcharged", (3, 2.0)),
    ("paghahatid", (4, 1.5)),
    ("pagkakaiba sa presyo", (3, 2.0)),
    ("pagkumpuni", (4, 2.0)),
    ("palitan", (1, 1.0)),
    ("paradahan", (4, 1.5)),
    ("parking", (4, 1.5)),
    ("payment", (3, 1.0)),
    ("poor quality", (1, 2.0)),
    ("power cut", (0, 2.0)),
    ("presyo", (3, 2.0)),
    ("price", (3, 1.0)),
    ("quality", (1, 1.0)),
    ("refund", (3, 1.0)),
    ("refused", (2, 0.8)),
    ("repair", (4, 1.5)),
    ("resibo", (3, 1.0)),
    ("rolled her eyes", (2, 2.0)),
    ("rolled his eyes", (2, 2.0)),
    ("rotten", (1, 1.5)),
    ("rude", (2, 2.0)),
    ("service center", (4, 1.5)),
    ("shouted", (2, 1.5)),
    ("singil", (3, 2.0)),
    ("sira", (1, 2.0)),
    ("slipped", (0, 1.5)),
    ("sobra ang singil", (3, 2.0)),
    ("spoiled", (1, 1.5)),
    ("staff", (2, 0.7)),
    ("stolen", (0, 2.0)),
    ("stopped working", (1, 2.0)),
    ("sunog", (0, 2.0)),
    ("technician", (4, 1.5)),
    ("teller", (2, 0.7)),
    ("theft", (0, 2.0)),
    ("tone", (2, 1.0)),
    ("tono", (2, 1.0)),
    ("unfriendly", (2, 1.5)),
    ("waiting", (4, 1.0)),
    ("walang galang", (2, 2.0)),
    ("warranty", (4, 2.0)),
    ("yelled", (2, 1.5)),
    ("不礼貌", (2, 2.0)),
    ("不禮貌", (2, 2.0)),
    ("不能用", (1, 1.5)),
    ("丟失", (0, 2.0)),
    ("丢失", (0, 2.0)),
    ("价格", (3, 2.0)),
    ("伤害", (0, 1.5)),
    ("保修", (4, 2.0)),
    ("停水", (0, 2.0)),
    ("停电", (0, 2.0)),
    ("停車", (4, 1.5)),
    ("停车", (4, 1.5)),
    ("停電", (0, 2.0)),
    ("傷害", (0, 1.5)),
    ("價格", (3, 2.0)),
    ("冷漠", (2, 1.5)),
    ("危险", (0, 1.5)),
    ("危險", (0, 1.5)),
    ("受伤", (0, 2.0)),
    ("受傷", (0, 2.0)),
    ("品質", (1, 2.0)),
    ("品质", (1, 2.0)),
    ("售后", (4, 2.0)),
    ("售後", (4, 2.0)),
    ("坏了", (1, 2.0)),
    ("壞了", (1, 2.0)),
    ("多收", (3, 2.0)),
    ("安装", (4, 1.5)),
    ("安裝", (4, 1.5)),
    ("工作人员", (2, 1.0)),
    ("工作人員", (2, 1.0)),
    ("帳單", (3, 1.5)),
    ("店员", (2, 1.0)),
    ("店員", (2, 1.0)),
    ("态度", (2, 2.0)),
    ("性能", (1, 1.5)),
    ("意外", (0, 2.0)),
    ("態度", (2, 2.0)),
    ("收費", (3, 2.0)),
    ("收费", (3, 2.0)),
    ("故障", (1, 2.0)),
    ("服务员", (2, 1.0)),
    ("服務員", (2, 1.0)),
    ("次品", (1, 2.0)),
    ("火災", (0, 2.0)),
    ("火灾", (0, 2.0)),
    ("瑕疵", (1, 2.0)),
    ("破损", (1, 1.5)),
    ("破損", (1, 1.5)),
    ("結算", (3, 1.5)),
    ("維修", (4, 2.0)),
    ("结算", (3, 1.5)),
    ("维修", (4, 2.0)),
    ("罵", (2, 1.5)),
    ("被盗", (0, 2.0)),
    ("被盜", (0, 2.0)),
    ("設施", (4, 1.5)),
    ("设施", (4, 1.5)),
    ("費用", (3, 1.5)),
    ("質量", (1, 2.0)),
    ("账单", (3, 1.5)),
    ("质量", (1, 2.0)),
    ("费用", (3, 1.5)),
    ("过期", (1, 1.5)),
    ("退款", (3, 1.0)),
    ("送貨", (4, 1.5)),
    ("送货", (4, 1.5)),
    ("過期", (1, 1.5)),
    ("配套", (4, 1.5)),
    ("骂", (2, 1.5)),
]);

/// The manifest's extra phrases, by index into `CATEGORIES`.
type Extra = Result<Phrases<usize>, String>;

/// Reads `[config.phrases]` once per instance.
fn extra_phrases() -> &'static Extra {
    redress_sdk::once_per_instance("classify.phrases", || {
        let entries = redress_sdk::config_phrases("phrases", "type", &CATEGORIES, |name| {
            CATEGORIES.iter().position(|c| *c == name)
        })?;
        Phrases::from_list(entries).map_err(|problem| format!("config `phrases`: {problem}"))
    })
}

/// Classifies one complaint.
#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let min_score = redress_sdk::config_f64("min_score", 1.0);
    let extra = extra_phrases().as_ref().map_err(String::clone)?;
    let weight = redress_sdk::config_f64("phrase_weight", 2.0);
    let mut scores = scores(&complaint.text);
    if !extra.entries().is_empty() {
        extra.for_each_match(&complaint.text, |_, category| scores[*category] += weight);
    }
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
    let mut scores = [0.0; 5];
    PHRASES.for_each_match(text, |_, (category, weight)| scores[*category] += weight);
    scores
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
    fn outputs_match_the_manifest() {
        let analysis = analyze(&Complaint::from_text("broken and the cashier was rude")).unwrap();
        redress_sdk::testing::check_manifest(include_str!("../../classify.toml"), &analysis)
            .unwrap();
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
    fn everyday_complaints_are_classified_with_phrases_from_the_config() {
        let latte = "Too much milk in my latte again";
        let bag = "I left my bag at the checkout and now it is gone";
        assert_eq!(category(latte).0, "other");
        assert_eq!(category(bag).0, "other");
        redress_sdk::testing::set_config("phrases", "product_quality\nunexpected_incident");
        redress_sdk::testing::set_config("phrases.product_quality", "too much milk\nLatte");
        redress_sdk::testing::set_config("phrases.unexpected_incident", "left my bag\n落下");
        assert_eq!(category(latte), ("product_quality".to_string(), 1.0));
        assert_eq!(category(bag), ("unexpected_incident".to_string(), 1.0));
        assert_eq!(category("我的包落下了").0, "unexpected_incident");
        // The built-in evidence still counts alongside.
        assert_eq!(category("服务员的态度很差").0, "staff_attitude");
    }

    #[test]
    fn a_wrong_phrase_config_is_refused_by_name() {
        redress_sdk::testing::set_config("phrases", "aftersales");
        let error = analyze(&Complaint::from_text("x")).unwrap_err();
        assert!(
            error.contains("config `phrases.aftersales`: no such type")
                && error.contains("after_sales"),
            "{error}"
        );
        redress_sdk::testing::set_config("phrases", "after_sales");
        redress_sdk::testing::set_config("phrases.after_sales", "-waiting");
        let error = analyze(&Complaint::from_text("x")).unwrap_err();
        assert!(
            error.contains("phrase `-waiting` begins with `-`"),
            "{error}"
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
