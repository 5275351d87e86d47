//! Sentiment: how angry and how urgent a complaint sounds, and in which
//! language it is written: English, Simplified Chinese, Traditional Chinese
//! or Tagalog (the languages of Redress's source documents).
//!
//! Outputs (see `plugins/sentiment.toml`):
//! - `anger`: 0 (calm) to 1 (furious)
//! - `urgency`: 0 (whenever) to 1 (now: danger, injury, deadlines)
//! - `language`: `en`, `zh-Hans`, `zh-Hant`, `tl` or `und`
//! - `signals`: the phrases that moved the scores
//!
//! The method is deliberately simple and explainable: weighted phrase
//! lexicons per language, intensifiers, exclamation marks and shouting,
//! squashed into 0..1 (docs/plugins.md, "The example plugins", gives the
//! formula).
//!
//! Config:
//! - `anger_scale` (default 1.0) scales anger;
//! - `[config.anger]` and `[config.urgency]`: extra phrases per language
//!   (`zh-Hans = ["太生气"]`; the languages are `en`, `zh-Hans`, `zh-Hant`
//!   and `tl`), each worth `phrase_weight` of anger or urgency;
//! - `phrase_weight` (default 1.0, like the lexicon's strong words): what
//!   one extra phrase adds before squashing.

#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use redress_sdk::prelude::*;

mod language;
mod lexicon;

use lexicon::{CUES, Cue, Lang};
use redress_sdk::text::Phrases;

/// An extra phrase from the manifest: its language, and whether it is
/// anger (`true`) or urgency.
type ExtraCue = (Lang, bool);

/// The manifest's `[config.anger]` and `[config.urgency]`, read once per
/// instance.
fn extra_phrases() -> &'static Result<Phrases<ExtraCue>, String> {
    redress_sdk::once_per_instance("sentiment.phrases", || {
        let tags = Lang::ALL.map(Lang::tag);
        let mut entries = Vec::new();
        for (feeling, is_anger) in [("anger", true), ("urgency", false)] {
            entries.extend(redress_sdk::config_phrases(
                feeling,
                "language",
                &tags,
                |tag| {
                    Lang::ALL
                        .into_iter()
                        .find(|l| l.tag() == tag)
                        .map(|lang| (lang, is_anger))
                },
            )?);
        }
        Phrases::from_list(entries).map_err(|problem| format!("config: {problem}"))
    })
}

/// Scores one complaint.
#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let scale = redress_sdk::config_f64("anger_scale", 1.0);
    let extra = extra_phrases().as_ref().map_err(String::clone)?;
    let weight = redress_sdk::config_f64("phrase_weight", 1.0);
    let reading = read_with(&complaint.text, extra, weight);
    Ok(Analysis::new()
        .number("anger", round2((reading.anger * scale).clamp(0.0, 1.0)))
        .number("urgency", round2(reading.urgency))
        .text("language", reading.language)
        .list("signals", reading.signals))
}

/// What one reading of a text found.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub language: &'static str,
    pub anger: f64,
    pub urgency: f64,
    pub signals: Vec<String>,
}

/// Most phrases reported in `signals`.
const MAX_SIGNALS: usize = 10;

/// The language of `text`: `en`, `zh-Hans`, `zh-Hant`, `tl` or `und`.
pub fn detect_language(text: &str) -> &'static str {
    read(text).language
}

/// Reads `text` once: every cue of every language, then keeps the feelings
/// of the language it is written in (English too, for Tagalog: people mix
/// them).
pub fn read(text: &str) -> Reading {
    read_with(text, &Phrases::new(&[]), 0.0)
}

/// Reads `text` with `extra` phrases, each worth `weight`, counted like
/// the lexicon's own.
pub fn read_with(text: &str, extra: &Phrases<ExtraCue>, weight: f64) -> Reading {
    let mut evidence = language::Evidence::default();
    let mut intensifiers = 0usize;
    let mut feelings: Vec<(Lang, f64, f64, &'static str)> = Vec::with_capacity(32);
    let stats = CUES.for_each_match(text, |phrase, cue| match *cue {
        Cue::Feeling(lang, anger, urgency) => feelings.push((lang, anger, urgency, phrase)),
        Cue::Intensifier => intensifiers += 1,
        Cue::Word(Lang::Tl) => evidence.tagalog_words += 1,
        Cue::Word(_) => evidence.english_words += 1,
        Cue::Script(Lang::ZhHant) => evidence.traditional += 1,
        Cue::Script(_) => evidence.simplified += 1,
    });
    if !extra.entries().is_empty() {
        extra.for_each_match(text, |phrase, (lang, is_anger)| {
            let (anger, urgency) = if *is_anger {
                (weight, 0.0)
            } else {
                (0.0, weight)
            };
            feelings.push((*lang, anger, urgency, phrase));
        });
    }
    let language = language::decide(stats, evidence);
    let counts = |lang: Lang| match language {
        Some(Lang::Tl) => lang == Lang::Tl || lang == Lang::En,
        Some(chosen) => lang == chosen,
        None => lang == Lang::En,
    };
    let (mut anger, mut urgency) = (0.0, 0.0);
    let mut signals = Vec::with_capacity(MAX_SIGNALS);
    for (lang, phrase_anger, phrase_urgency, phrase) in feelings {
        if counts(lang) {
            anger += phrase_anger;
            urgency += phrase_urgency;
            if signals.len() < MAX_SIGNALS {
                signals.push(String::from(phrase));
            }
        }
    }
    let intensity = 1.0 + intensifiers.min(3) as f64 * 0.25;
    let exclamations = stats.exclamation_marks.min(3) as f64;
    let shouted = stats.shouted_words.min(3) as f64;
    let raw_anger = anger * intensity + 0.15 * exclamations + 0.2 * shouted;
    Reading {
        language: language.map_or("und", Lang::tag),
        anger: squash(raw_anger),
        urgency: squash(urgency * intensity),
        signals,
    }
}

/// Maps a non-negative score to 0..1: 1 point is about 0.63, 2 about 0.86.
fn squash(x: f64) -> f64 {
    1.0 - exp_neg(x.max(0.0))
}

/// e^-x for x >= 0, without std (a short series on the fractional part).
fn exp_neg(x: f64) -> f64 {
    let whole = x as u32;
    let fraction = x - whole as f64;
    let mut result = 1.0;
    for _ in 0..whole.min(60) {
        result *= 0.367_879_441_171_442_3; // e^-1
    }
    let mut term = 1.0;
    let mut series = 1.0;
    for n in 1..12 {
        term *= -fraction / n as f64;
        series += term;
    }
    result * series
}

fn round2(x: f64) -> f64 {
    let scaled = x * 100.0;
    let rounded = (scaled + 0.5) as i64 as f64;
    rounded / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Analysis {
        analyze(&Complaint::from_text(text)).unwrap()
    }

    #[test]
    fn outputs_match_the_manifest() {
        let analysis = analyze(&Complaint::from_text("太生气了! I am furious")).unwrap();
        redress_sdk::testing::check_manifest(include_str!("../../sentiment.toml"), &analysis)
            .unwrap();
    }

    #[test]
    fn calm_english_is_calm() {
        let analysis = run("Hello, could you tell me when my order will arrive? Thanks.");
        assert_eq!(analysis.text_value("language"), Some("en"));
        assert!(analysis.number_value("anger").unwrap() < 0.2);
        assert!(analysis.number_value("urgency").unwrap() < 0.2);
    }

    #[test]
    fn furious_english_is_furious() {
        let analysis = run(
            "This is UNACCEPTABLE! The worst service ever, I am furious and I want a refund immediately!",
        );
        assert!(
            analysis.number_value("anger").unwrap() >= 0.8,
            "{analysis:?}"
        );
        assert!(
            analysis.number_value("urgency").unwrap() >= 0.5,
            "{analysis:?}"
        );
    }

    #[test]
    fn simplified_chinese_complaint() {
        // Seed 003: a customer unhappy with quality and the staff's attitude.
        let analysis = run("产品质量太差了，服务员的态度非常恶劣，我要投诉！");
        assert_eq!(analysis.text_value("language"), Some("zh-Hans"));
        assert!(
            analysis.number_value("anger").unwrap() >= 0.8,
            "{analysis:?}"
        );
    }

    #[test]
    fn traditional_chinese_complaint() {
        // Seed 000 is in Traditional Chinese: 顧客投訴, 商品質量問題.
        let analysis = run("你們的商品質量問題太嚴重了！我要投訴，馬上處理！");
        assert_eq!(analysis.text_value("language"), Some("zh-Hant"));
        assert!(
            analysis.number_value("anger").unwrap() >= 0.7,
            "{analysis:?}"
        );
        assert!(
            analysis.number_value("urgency").unwrap() >= 0.5,
            "{analysis:?}"
        );
    }

    #[test]
    fn tagalog_outburst_from_seed_004() {
        // Seed 004: the customer who exploded over the plums.
        let analysis = run(
            "Dapat bang maging masaya ako? Dapat kang magbayad sa akin para sa aking oras at problema. \
             Sa katunayan, batay sa iyong tono sa akin, pupunta ako sa iyong kakumpitensya.",
        );
        assert_eq!(analysis.text_value("language"), Some("tl"));
        assert!(
            analysis.number_value("anger").unwrap() >= 0.6,
            "{analysis:?}"
        );
    }

    #[test]
    fn polite_staff_apology_from_seed_002_is_not_anger() {
        // Seed 002's model answer is an apology, not a complaint.
        let analysis = run("非常抱歉您遇到了这个问题，我可以详细听一下您的情况，然后帮助您解决。");
        assert_eq!(analysis.text_value("language"), Some("zh-Hans"));
        assert!(
            analysis.number_value("anger").unwrap() < 0.4,
            "{analysis:?}"
        );
    }

    #[test]
    fn danger_is_urgent_in_every_language() {
        for text in [
            "My child was injured, this is dangerous!",
            "孩子受伤了，非常危险！",
            "孩子受傷了，非常危險！",
            "Nasaktan ang anak ko, delikado ito!",
        ] {
            let analysis = run(text);
            assert!(
                analysis.number_value("urgency").unwrap() >= 0.6,
                "{text}: {analysis:?}"
            );
        }
    }

    #[test]
    fn anger_scale_comes_from_config() {
        redress_sdk::testing::set_config("anger_scale", "0.5");
        let analysis = run("This is unacceptable, I am furious!");
        redress_sdk::testing::set_config("anger_scale", "1.0");
        let full = run("This is unacceptable, I am furious!");
        assert!(analysis.number_value("anger").unwrap() < full.number_value("anger").unwrap());
    }

    #[test]
    fn phrases_from_the_config_count_in_their_language() {
        // "Very angry!": 生气 (1.0) made stronger by 太, and one `!`.
        let before = run("太生气了!").number_value("anger").unwrap();
        assert_eq!(before, 0.75);
        redress_sdk::testing::set_config("anger", "zh-Hans\ntl");
        redress_sdk::testing::set_config("anger.zh-Hans", "太生气");
        // Seed 004: the customer will take her business to the competitor.
        redress_sdk::testing::set_config("anger.tl", "pupunta ako sa iyong kakumpitensya");
        let after = run("太生气了!").number_value("anger").unwrap();
        assert!(after >= 0.8, "{after}");
        let outburst = run("Sa katunayan, pupunta ako sa iyong kakumpitensya.");
        assert_eq!(outburst.text_value("language"), Some("tl"));
        assert!(
            outburst.number_value("anger").unwrap() >= 0.6,
            "{outburst:?}"
        );
        // A phrase counts only in its own language: Traditional text is
        // not read with Simplified phrases.
        let traditional = "這個態度，真的氣死人";
        let unconfigured = run(traditional).number_value("anger").unwrap();
        redress_sdk::testing::set_config("anger", "zh-Hans");
        redress_sdk::testing::set_config("anger.zh-Hans", "真的");
        assert_eq!(run(traditional).text_value("language"), Some("zh-Hant"));
        assert_eq!(
            run(traditional).number_value("anger").unwrap(),
            unconfigured
        );
        assert!(run("真的").number_value("anger").unwrap() > 0.5);
    }

    #[test]
    fn urgency_phrases_and_a_wrong_language_from_the_config() {
        // Seed 002: a customer complains the dishes are served too slowly.
        let slow = "顾客抱怨上菜太慢";
        let before = run(slow).number_value("urgency").unwrap();
        redress_sdk::testing::set_config("urgency", "zh-Hans");
        redress_sdk::testing::set_config("urgency.zh-Hans", "上菜太慢");
        let after = run(slow);
        assert!(
            after.number_value("urgency").unwrap() > before + 0.5,
            "{after:?}"
        );
        assert!(
            after
                .get("signals")
                .is_some_and(|s| matches!(s, Value::List(l) if l.iter().any(|p| p == "上菜太慢"))),
            "{after:?}"
        );
        redress_sdk::testing::set_config("urgency", "zh");
        let error = analyze(&Complaint::from_text("x")).unwrap_err();
        assert!(
            error.contains("config `urgency.zh`: no such language"),
            "{error}"
        );
    }

    #[test]
    fn exclamations_and_shouting_raise_anger() {
        let calm = run("the refund did not arrive");
        let loud = run("the REFUND did NOT arrive! WHERE is it！");
        assert!(
            loud.number_value("anger").unwrap() > calm.number_value("anger").unwrap() + 0.3,
            "{calm:?} {loud:?}"
        );
    }

    #[test]
    fn exponential_is_accurate() {
        assert!((exp_neg(1.0) - 0.367_879).abs() < 1e-5);
        assert!((exp_neg(2.5) - 0.082_085).abs() < 1e-5);
    }
}
