//! Turns rule files' TOML into raw rules, collecting every problem with
//! its place. Each rule is read on its own, so an unknown key in one rule
//! does not hide a bad condition in the next. Which key holds which kind
//! comes from the table of kinds ([`RuleKind`]).

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostic::{Diagnostic, LineIndex, Location};
use crate::rule_kind::RuleKind;
use crate::rules::files::RuleFileText;
use crate::rules::raw::{
    Located, RawAuthority, RawCap, RawCompensate, RawCondition, RawControlLine, RawEscalate,
    RawRoute, RawRule, RawSettings, RawSla, file_tables, known_keys,
};
use crate::suggest::did_you_mean;

/// A raw rule and the file it came from.
#[derive(Debug)]
pub(crate) struct Parsed<T> {
    pub file: usize,
    pub raw: T,
}

/// Everything read from the files, before validation.
#[derive(Debug, Default)]
pub(crate) struct RawSet {
    pub settings: Vec<Parsed<(RawSettings, std::ops::Range<usize>)>>,
    pub conditions: Vec<Parsed<RawCondition>>,
    pub routes: Vec<Parsed<RawRoute>>,
    pub escalations: Vec<Parsed<RawEscalate>>,
    pub slas: Vec<Parsed<RawSla>>,
    pub control_lines: Vec<Parsed<RawControlLine>>,
    pub compensations: Vec<Parsed<RawCompensate>>,
    pub caps: Vec<Parsed<RawCap>>,
    pub authorities: Vec<Parsed<RawAuthority>>,
    /// Files that are not valid TOML: their rules are unknown, so checks of
    /// the whole set (a fallback route exists) are not made.
    pub unreadable_files: usize,
}

/// Reads every file into one raw set; `files` are in rule-set order.
pub(crate) fn parse_files(files: &[RuleFileText], diagnostics: &mut Vec<Diagnostic>) -> RawSet {
    let mut raw = RawSet::default();
    for (index, file) in files.iter().enumerate() {
        parse_file(index, file, &mut raw, diagnostics);
    }
    raw
}

fn parse_file(
    index: usize,
    file: &RuleFileText,
    raw: &mut RawSet,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let (table, errors) = DeTable::parse_recoverable(&file.text);
    for error in &errors {
        diagnostics.push(toml_error(file, error, "invalid TOML"));
    }
    if !errors.is_empty() {
        // Rules in a file that does not parse would only add noise.
        raw.unreadable_files += 1;
        return;
    }
    let lines = LineIndex::new(&file.text);
    let reader = FileReader {
        index,
        file,
        lines: &lines,
    };
    for (key, value) in table.get_ref().iter() {
        let name: &str = key.get_ref();
        if let Some(kind) = RuleKind::from_name(name) {
            reader.kind(kind, value, raw, diagnostics);
            continue;
        }
        match name {
            "ruleset" => {
                if let Some(settings) =
                    reader.deserialize::<RawSettings>(value, "[ruleset]", None, diagnostics)
                {
                    raw.settings.push(Parsed {
                        file: index,
                        raw: (settings, key.span()),
                    });
                }
            }
            "conditions" => reader.conditions(value, &mut raw.conditions, diagnostics),
            other => {
                let help =
                    did_you_mean(other, file_tables().iter().copied()).unwrap_or_else(|| {
                        let kinds: Vec<&str> = RuleKind::all().map(RuleKind::name).collect();
                        format!(
                            "a rule file holds `[ruleset]`, `[conditions]` and arrays of `[[{}]]`",
                            kinds.join("]]`, `[[")
                        )
                    });
                diagnostics.push(
                    Diagnostic::error(format!("unknown table `{other}`"))
                        .at(reader.location(key.span()))
                        .with_label("not a rule kind")
                        .with_help(help),
                );
            }
        }
    }
}

struct FileReader<'f> {
    index: usize,
    file: &'f RuleFileText,
    lines: &'f LineIndex,
}

impl FileReader<'_> {
    fn location(&self, span: std::ops::Range<usize>) -> Location {
        self.lines.locate(&self.file.path, &self.file.text, span)
    }

    /// Reads `[conditions]`: a table of names to condition strings.
    fn conditions(
        &self,
        value: &Spanned<DeValue<'_>>,
        out: &mut Vec<Parsed<RawCondition>>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let DeValue::Table(table) = value.get_ref() else {
            diagnostics.push(
                Diagnostic::error("`conditions` must be a table")
                    .at(self.location(value.span()))
                    .with_help("write `[conditions]` and under it `name = 'condition'`"),
            );
            return;
        };
        for (key, condition) in table.iter() {
            let DeValue::String(text) = condition.get_ref() else {
                let name: &str = key.get_ref();
                diagnostics.push(
                    Diagnostic::error(format!(
                        "condition `{name}` must be a string, not a {}",
                        condition.get_ref().type_str()
                    ))
                    .at(self.location(condition.span()))
                    .with_help(format!(
                        "write `{name} = 'category == \"billing\"'`; a dotted name makes a table, and condition names are single words"
                    )),
                );
                continue;
            };
            out.push(Parsed {
                file: self.index,
                raw: RawCondition {
                    name: Located(Spanned::new(key.span(), key.get_ref().to_string())),
                    when: Located(Spanned::new(condition.span(), text.to_string())),
                },
            });
        }
    }

    /// Reads the `[[kind]]` tables of one kind into its list of the raw set.
    fn kind(
        &self,
        kind: RuleKind,
        value: &Spanned<DeValue<'_>>,
        raw: &mut RawSet,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        match kind {
            RuleKind::Route => self.rules(kind, value, &mut raw.routes, diagnostics),
            RuleKind::Escalate => self.rules(kind, value, &mut raw.escalations, diagnostics),
            RuleKind::Sla => self.rules(kind, value, &mut raw.slas, diagnostics),
            RuleKind::ControlLine => self.rules(kind, value, &mut raw.control_lines, diagnostics),
            RuleKind::Compensate => self.rules(kind, value, &mut raw.compensations, diagnostics),
            RuleKind::Cap => self.rules(kind, value, &mut raw.caps, diagnostics),
            RuleKind::Authority => self.rules(kind, value, &mut raw.authorities, diagnostics),
        }
    }

    /// Reads every rule of one kind (`[[kind]]` tables).
    fn rules<T: DeserializeOwned + RawRule>(
        &self,
        kind: RuleKind,
        value: &Spanned<DeValue<'_>>,
        out: &mut Vec<Parsed<T>>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let items = match value.get_ref() {
            DeValue::Array(items) => items,
            DeValue::Table(_) => {
                diagnostics.push(
                    Diagnostic::error(format!("`{kind}` must be an array of tables"))
                        .at(self.location(value.span()))
                        .with_label("a single table")
                        .with_help(format!(
                            "write `[[{kind}]]` (double brackets) for each rule"
                        )),
                );
                return;
            }
            other => {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "`{kind}` must be an array of tables, not a {}",
                        other.type_str()
                    ))
                    .at(self.location(value.span()))
                    .with_help(format!("write `[[{kind}]]` for each rule")),
                );
                return;
            }
        };
        for item in items.iter() {
            if let Some(rule) = self.rule::<T>(kind, item, diagnostics) {
                out.push(Parsed {
                    file: self.index,
                    raw: rule,
                });
            }
        }
    }

    fn rule<T: DeserializeOwned>(
        &self,
        kind: RuleKind,
        item: &Spanned<DeValue<'_>>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<T> {
        let DeValue::Table(table) = item.get_ref() else {
            diagnostics.push(
                Diagnostic::error(format!("each `{kind}` rule must be a table"))
                    .at(self.location(item.span()))
                    .with_help(format!("write the rule under a `[[{kind}]]` header")),
            );
            return None;
        };
        let name = table
            .get("name")
            .and_then(|v| v.get_ref().as_str())
            .map(|n| format!("{kind} `{n}`"));
        let allowed = known_keys(kind);
        // Keys an unknown key was probably meant to be: their absence is
        // not reported again.
        let mut meant: Vec<&str> = Vec::new();
        for (key, _) in table.iter() {
            let key_name: &str = key.get_ref();
            if allowed.contains(&key_name) {
                continue;
            }
            if let Some(intended) = crate::suggest::closest(key_name, allowed.iter().copied()) {
                meant.push(intended);
            }
            let help = did_you_mean(key_name, allowed.iter().copied())
                .unwrap_or_else(|| format!("`[[{kind}]]` accepts: {}", allowed.join(", ")));
            let mut diagnostic =
                Diagnostic::error(format!("unknown key `{key_name}` in `[[{kind}]]`"))
                    .at(self.location(key.span()))
                    .with_label("unknown key")
                    .with_help(help);
            if let Some(name) = &name {
                diagnostic = diagnostic.in_rule(name.clone());
            }
            diagnostics.push(diagnostic);
        }
        let cleaned: DeTable<'_> = table
            .iter()
            .filter(|(key, _)| allowed.contains(&key.get_ref().as_ref()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let cleaned = Spanned::new(item.span(), DeValue::Table(cleaned));
        let before = diagnostics.len();
        let parsed = self.deserialize(&cleaned, &format!("`[[{kind}]]`"), name, diagnostics);
        let redundant = |d: &Diagnostic| {
            meant
                .iter()
                .any(|key| d.message.ends_with(&format!("missing field `{key}`")))
        };
        let mut index = 0;
        diagnostics.retain(|d| {
            index += 1;
            index <= before || !redundant(d)
        });
        parsed
    }

    fn deserialize<T: DeserializeOwned>(
        &self,
        value: &Spanned<DeValue<'_>>,
        what: &str,
        rule: Option<String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                let mut diagnostic = toml_error(self.file, &error, &format!("invalid {what}"));
                if diagnostic.location.is_none() {
                    diagnostic = diagnostic.at(self.location(value.span()));
                }
                if let Some(rule) = rule {
                    diagnostic = diagnostic.in_rule(rule);
                }
                diagnostics.push(diagnostic);
                None
            }
        }
    }
}

/// A diagnostic from a toml error, with "did you mean" for unknown fields.
fn toml_error(file: &RuleFileText, error: &toml::de::Error, context: &str) -> Diagnostic {
    let message = error.message().trim().to_string();
    let mut diagnostic = Diagnostic::error(format!("{context}: {message}"));
    if let Some(span) = error.span() {
        diagnostic = diagnostic.at(Location::new(&file.path, &file.text, span));
    }
    if let Some(help) = crate::suggest::from_serde_message(&message) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}
