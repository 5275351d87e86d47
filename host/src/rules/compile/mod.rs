//! Validates raw rules into a [`RuleSet`]: unique names, compiled and
//! type-checked conditions, known levels and offer kinds, sane numbers and
//! durations, a fallback route. Every problem becomes a diagnostic.
//!
//! The [`Checker`] holds what every check needs (the files, their line
//! indexes, the environment, the diagnostics so far); `rules` checks the
//! keys every rule has and calls the kind's own check, one file per kind
//! (`route.rs`, …, `authority.rs`). `settings.rs` checks `[ruleset]`,
//! `expression.rs` compiles conditions and amounts with positions in the
//! file.

mod authority;
mod cap;
mod compensate;
mod control_line;
mod escalate;
mod expression;
mod route;
mod settings;
mod sla;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::decision::Name;
use crate::diagnostic::{Diagnostic, LineIndex, Location};
use crate::expr::{Env, Expect, Expression};
use crate::rule_kind::RuleKind;
use crate::rules::files::RuleFileText;
use crate::rules::parse::{Parsed, RawSet};
use crate::rules::raw::{Located, RawAmount, RawRule};
use crate::rules::ruleset::{Route, Rule, RuleList, RuleSet, Settings};
use crate::suggest::did_you_mean;
use crate::time::Duration;

/// Flag a control line adds when it has no `then.flag`.
pub const DEFAULT_CONTROL_FLAG: &str = "control_line_exceeded";

pub(super) struct Checker<'a> {
    files: &'a [RuleFileText],
    lines: Vec<LineIndex>,
    /// The environment the rules compile in: the caller's, with the rule
    /// set's named conditions once they are compiled.
    pub(super) env: Cow<'a, Env>,
    pub(super) diagnostics: &'a mut Vec<Diagnostic>,
    names: HashMap<String, Location>,
    /// Named conditions in the order compiled, with their places.
    pub(super) declared_conditions: Vec<crate::rules::conditions::DeclaredCondition>,
    /// Names the rules' expressions read (whether or not they compiled),
    /// for the warning of a named condition nothing uses.
    pub(super) names_in_rules: BTreeSet<String>,
    /// True while named conditions compile: their names are not the rules'.
    pub(super) in_conditions: bool,
}

pub(crate) fn compile(
    raw: RawSet,
    files: &[RuleFileText],
    env: &Env,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<RuleSet> {
    let mut checker = Checker {
        files,
        lines: files.iter().map(|f| LineIndex::new(&f.text)).collect(),
        env: Cow::Borrowed(env),
        diagnostics,
        names: HashMap::new(),
        declared_conditions: Vec::new(),
        names_in_rules: BTreeSet::new(),
        in_conditions: false,
    };
    let settings = checker.settings(&raw.settings);
    checker.conditions(&raw.conditions);
    let RawSet {
        routes,
        escalations,
        slas,
        control_lines,
        compensations,
        caps,
        authorities,
        unreadable_files,
        settings: _,
        conditions: _,
    } = raw;
    let routes = checker.rules(RuleKind::Route, routes, |c, file, r| c.route(file, r));
    let escalations = checker.rules(RuleKind::Escalate, escalations, |c, file, r| {
        c.escalate(file, r, &settings)
    });
    let slas = checker.rules(RuleKind::Sla, slas, |c, file, r| c.sla(file, r, &settings));
    let control_lines = checker.rules(RuleKind::ControlLine, control_lines, |c, file, r| {
        c.control_line(file, r, &settings)
    });
    let compensations = checker.rules(RuleKind::Compensate, compensations, |c, file, r| {
        c.compensate(file, r, &settings)
    });
    let caps = checker.rules(RuleKind::Cap, caps, |c, file, r| c.cap(file, r, &settings));
    let authorities = checker.rules(RuleKind::Authority, authorities, |c, file, r| {
        c.authority(file, r)
    });
    if unreadable_files == 0 {
        checker.check_fallback(&routes);
    }
    let conditions = checker
        .declared_conditions
        .iter()
        .filter(|c| !c.broken)
        .map(|c| Name::from(c.name.as_str()))
        .collect();
    checker.warn_unused_conditions();
    let version = version_of(files);
    Some(RuleSet {
        version: Name::from(version),
        files: files.iter().map(RuleFileText::name).collect(),
        texts: std::sync::Arc::new(files.to_vec()),
        settings,
        conditions,
        routes: RuleList::new(routes),
        escalations: RuleList::new(escalations),
        slas: RuleList::new(slas),
        control_lines: RuleList::new(control_lines),
        compensations: RuleList::new(compensations),
        caps: RuleList::new(caps),
        authorities: RuleList::new(authorities),
    })
}

/// The rule set's version: a hash of its files' names and contents.
pub fn version_of(files: &[RuleFileText]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.name().to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    crate::digest::short_of(hasher)
}

impl Checker<'_> {
    pub(super) fn location(&self, file: usize, span: Range<usize>) -> Location {
        let text = &self.files[file];
        self.lines[file].locate(&text.path, &text.text, span)
    }

    pub(super) fn error_at(
        &mut self,
        file: usize,
        span: Range<usize>,
        message: &str,
        help: Option<String>,
    ) {
        let diagnostic = Diagnostic::error(message)
            .at(self.location(file, span))
            .with_help_opt(help);
        self.diagnostics.push(diagnostic);
    }

    /// Validates the common keys of every rule of one kind, builds each
    /// rule's body with `body`, and orders them by priority.
    fn rules<R, K, F>(&mut self, kind: RuleKind, raws: Vec<Parsed<R>>, mut body: F) -> Vec<Rule<K>>
    where
        R: RawRule,
        F: FnMut(&mut Self, usize, &R) -> Option<K>,
    {
        let mut rules: Vec<(i32, Rule<K>)> = Vec::new();
        for parsed in &raws {
            let common = parsed.raw.common();
            let file = parsed.file;
            let name = Name::from(common.name.get().as_str());
            let label = format!("{kind} `{name}`");
            let errors_before = self.diagnostics.len();
            self.check_name(file, common.name, kind.name());
            let when = match common.when {
                Some(source) => self.expression(file, source, Expect::Bool, &label),
                None => Some(Expression::always_true()),
            };
            for flag in common.flags {
                if flag.trim().is_empty() {
                    self.error_at(
                        file,
                        common.name.span(),
                        "flags must not be empty strings",
                        None,
                    );
                }
            }
            let built = body(self, file, &parsed.raw);
            for diagnostic in &mut self.diagnostics[errors_before..] {
                if diagnostic.rule.is_none() {
                    diagnostic.rule = Some(label.clone());
                }
            }
            let (Some(when), Some(body)) = (when, built) else {
                continue;
            };
            if !common.enabled {
                continue;
            }
            let location = self.location(file, common.name.span());
            rules.push((
                common.priority,
                Rule {
                    name,
                    description: common.description.map(str::to_string),
                    file: self.files[file].path.clone(),
                    line: location.line,
                    location,
                    when,
                    flags: names(common.flags),
                    body,
                },
            ));
        }
        rules.sort_by_key(|(priority, _)| std::cmp::Reverse(*priority));
        rules.into_iter().map(|(_, rule)| rule).collect()
    }

    fn check_name(&mut self, file: usize, name: &Located<String>, kind: &str) {
        let text = name.get();
        let location = self.location(file, name.span());
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.diagnostics.push(
                Diagnostic::error(format!("invalid rule name `{text}`"))
                    .at(location.clone())
                    .with_label("use letters, digits, `-` and `_`")
                    .with_help(format!("e.g. `name = \"{}\"`", sanitize(text, kind))),
            );
        }
        if let Some(first) = self.names.get(text) {
            let help = format!(
                "rule names are unique across the rule set; `{text}` is first defined at {}:{}",
                first.file.display(),
                first.line
            );
            self.diagnostics.push(
                Diagnostic::error(format!("rule name `{text}` is used twice"))
                    .at(location)
                    .with_label("duplicate name")
                    .with_help(help),
            );
        } else {
            self.names.insert(text.clone(), location);
        }
    }

    fn level(
        &mut self,
        file: usize,
        level: &Located<String>,
        settings: &Settings,
    ) -> Option<usize> {
        let name = level.get();
        match settings.levels.iter().position(|l| l == name) {
            Some(position) => Some(position),
            None => {
                let help = did_you_mean(name, settings.levels.iter().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!("levels, lowest first: {}", settings.levels.join(", "))
                    });
                self.diagnostics.push(
                    Diagnostic::error(format!("unknown escalation level `{name}`"))
                        .at(self.location(file, level.span()))
                        .with_label("not a level")
                        .with_help(format!(
                            "{help} (levels are set by `[ruleset] escalation_levels`)"
                        )),
                );
                None
            }
        }
    }

    fn offer_kind(&mut self, file: usize, kind: &Located<String>, settings: &Settings) {
        let name = kind.get();
        if !settings.offer_kinds.contains(name) {
            let help = did_you_mean(name, settings.offer_kinds.iter().map(String::as_str))
                .unwrap_or_else(|| {
                    format!(
                        "kinds: {}; add your own with `[ruleset] offer_kinds`",
                        settings.offer_kinds.join(", ")
                    )
                });
            self.diagnostics.push(
                Diagnostic::error(format!("unknown offer kind `{name}`"))
                    .at(self.location(file, kind.span()))
                    .with_label("not an offer kind")
                    .with_help(help),
            );
        }
    }

    fn positive(&mut self, file: usize, duration: Option<&Located<Duration>>) -> Option<Duration> {
        let duration = duration?;
        if duration.get().millis() <= 0 {
            self.error_at(file, duration.span(), "duration must be positive", None);
            return None;
        }
        Some(*duration.get())
    }

    fn amount(&mut self, file: usize, amount: &Located<RawAmount>) -> Option<Expression> {
        match amount.get() {
            RawAmount::Number(n) => {
                if !n.is_finite() || *n < 0.0 {
                    self.error_at(
                        file,
                        amount.span(),
                        "amount must be a finite number, zero or more",
                        None,
                    );
                    return None;
                }
                Some(Expression::number(*n))
            }
            RawAmount::Expression(source) => {
                let located = Located(toml::Spanned::new(amount.span(), source.clone()));
                self.expression(file, &located, Expect::Number, "")
            }
        }
    }

    /// The last route must match everything, so every complaint has a home.
    fn check_fallback(&mut self, routes: &[Rule<Route>]) {
        if self.files.is_empty() {
            self.diagnostics.push(
                Diagnostic::error("the rules directory has no `*.toml` rule files").with_help(
                    "start from the default rule set in the repository's `rules/` directory",
                ),
            );
            return;
        }
        let fallback = routes.iter().position(|r| r.when.is_always_true());
        match fallback {
            None => {
                let file = &self.files[0];
                self.diagnostics.push(
                    Diagnostic::error("the rule set has no fallback route")
                        .at(Location::file_only(&file.path))
                        .with_help("add a route without `when`, e.g.\n\n    [[route]]\n    name = \"everything-else\"\n    queue = \"customer-care\"\n"),
                );
            }
            Some(position) => {
                let shadowing = &routes[position];
                for shadowed in &routes[position + 1..] {
                    self.diagnostics.push(
                        Diagnostic::warning(format!("route `{}` can never match", shadowed.name))
                            .at(Location::file_only(&shadowed.file))
                            .with_help(format!(
                                "route `{}` ({}:{}) matches every complaint and comes first; give `{}` a higher `priority` or move it earlier",
                                shadowing.name,
                                shadowing.file.display(),
                                shadowing.line,
                                shadowed.name
                            )),
                    );
                }
            }
        }
    }
}

fn names(texts: &[String]) -> Vec<Name> {
    texts.iter().map(|t| Name::from(t.as_str())).collect()
}

fn sanitize(text: &str, kind: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        format!("my-{kind}")
    } else {
        trimmed.to_string()
    }
}
