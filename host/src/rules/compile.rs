//! Validates raw rules into a [`RuleSet`]: unique names, compiled and
//! type-checked conditions, known levels and offer kinds, sane numbers and
//! durations, a fallback route. Every problem becomes a diagnostic.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::decision::Name;
use crate::diagnostic::{Diagnostic, LineIndex, Location};
use crate::expr::{CompileError, Env, Expect, Expression};
use crate::rules::load::{Parsed, RawSet, RuleFileText};
use crate::rules::raw::{
    DEFAULT_LEVELS, Located, OFFER_KINDS, RawAmount, RawBudget, RawCap, RawControlLine, RawRule,
};
use crate::rules::ruleset::{
    Authority, Breach, Budget, BudgetScope, Cap, Compensate, ControlAction, ControlLimit,
    ControlLine, DeclaredLimits, Escalate, OfferTemplate, Route, Rule, RuleList, RuleSet, Settings,
    Sla,
};
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
    let settings = checker.settings(&raw);
    checker.conditions(&raw.conditions);
    let raw_unreadable = raw.unreadable_files;
    let routes = checker.kind("route", raw.routes, |c, file, r| {
        if r.queue.trim().is_empty() {
            c.error_at(file, r.name.span(), "`queue` must not be empty", None);
        }
        Some(Route {
            queue: Name::from(r.queue.as_str()),
            handler: r.handler.as_deref().map(Name::from),
        })
    });
    let escalations = checker.kind("escalate", raw.escalations, |c, file, r| {
        let level = c.level(file, &r.to, &settings)?;
        Some(Escalate {
            to: Name::from(r.to.get().as_str()),
            level,
            reason: r
                .reason
                .as_deref()
                .or(r.description.as_deref())
                .map(Name::from),
            notify: names(&r.notify),
        })
    });
    let slas = checker.kind("sla", raw.slas, |c, file, r| {
        if r.first_response.is_none() && r.resolve.is_none() && r.follow_up.is_none() {
            c.error_at(
                file,
                r.name.span(),
                "this SLA makes no commitment",
                Some("give at least one of `first_response`, `resolve`, `follow_up`".into()),
            );
        }
        let first_response = c.positive(file, r.first_response.as_ref());
        let resolve = c.positive(file, r.resolve.as_ref());
        let follow_up = c.positive(file, r.follow_up.as_ref());
        let on_breach = match &r.on_breach {
            Some(breach) => Some(Breach {
                escalate: match &breach.escalate {
                    Some(level) => {
                        c.level(file, level, &settings)?;
                        Some(Name::from(level.get().as_str()))
                    }
                    None => None,
                },
                notify: names(&breach.notify),
            }),
            None => None,
        };
        Some(Sla {
            first_response,
            resolve,
            follow_up,
            on_breach,
        })
    });
    let control_lines = checker.kind("control_line", raw.control_lines, |c, file, r| {
        c.control_line(file, r, &settings)
    });
    let compensations = checker.kind("compensate", raw.compensations, |c, file, r| {
        if r.offers.is_empty() {
            c.error_at(
                file,
                r.name.span(),
                "`offers` is empty",
                Some("add at least one offer, e.g. `{ kind = \"apology\" }`".into()),
            );
        }
        let mut offers = Vec::new();
        for offer in &r.offers {
            c.offer_kind(file, &offer.kind, &settings);
            offers.push(OfferTemplate {
                kind: Name::from(offer.kind.get().as_str()),
                value: match &offer.value {
                    Some(value) => c.amount(file, value)?,
                    None => Expression::number(0.0),
                },
                note: offer.note.as_deref().map(Name::from),
                within: c.positive(file, offer.within.as_ref()),
            });
        }
        Some(Compensate { offers })
    });
    let caps = checker.kind("cap", raw.caps, |c, file, r| c.cap(file, r, &settings));
    let authorities = checker.kind("authority", raw.authorities, |c, file, r| {
        if r.policy.trim().is_empty() || r.grant.trim().is_empty() {
            c.error_at(
                file,
                r.name.span(),
                "`policy` and `grant` must not be empty",
                None,
            );
        }
        let max_cost = match &r.max_cost {
            Some(cost) => c.amount(file, cost)?,
            None => Expression::number(0.0),
        };
        let budget = match &r.budget {
            Some(budget) => Some(c.budget(file, budget)?),
            None => None,
        };
        Some(Authority {
            policy: Name::from(r.policy.as_str()),
            grant: Name::from(r.grant.as_str()),
            max_cost,
            budget,
        })
    });
    if raw_unreadable == 0 {
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
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
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

    fn settings(&mut self, raw: &RawSet) -> Settings {
        let mut settings = Settings {
            levels: DEFAULT_LEVELS.iter().map(|s| s.to_string()).collect(),
            currency: Name::from("USD"),
            rates: BTreeMap::new(),
            offer_kinds: OFFER_KINDS.iter().map(|s| s.to_string()).collect(),
            ranges: BTreeMap::new(),
            limits: DeclaredLimits::default(),
        };
        for (position, parsed) in raw.settings.iter().enumerate() {
            let (raw_settings, span) = &parsed.raw;
            if position > 0 {
                let first = self.location(raw.settings[0].file, raw.settings[0].raw.1.clone());
                self.diagnostics.push(
                    Diagnostic::error("`[ruleset]` is given more than once")
                        .at(self.location(parsed.file, span.clone()))
                        .with_help(format!(
                            "keep one `[ruleset]` table; the first is at {}:{}",
                            first.file.display(),
                            first.line
                        )),
                );
                continue;
            }
            if let Some(levels) = &raw_settings.escalation_levels {
                let mut seen = std::collections::HashSet::new();
                if levels.is_empty()
                    || levels
                        .iter()
                        .any(|l| l.trim().is_empty() || !seen.insert(l))
                {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        "`escalation_levels` must list distinct, non-empty level names, lowest first",
                        None,
                    );
                }
                settings.levels = levels.clone();
            }
            if let Some(currency) = &raw_settings.currency {
                if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`currency` `{currency}` is not an ISO 4217 code"),
                        Some("write a code such as `USD`, `CNY` or `PHP`".into()),
                    );
                }
                settings.currency = Name::from(currency.as_str());
            }
            for (code, rate) in &raw_settings.rates {
                if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())) {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`rates`: `{code}` is not an ISO 4217 code"),
                        Some("write a code such as `CNY` or `PHP`".into()),
                    );
                } else if !(rate.is_finite() && *rate > 0.0) {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`rates.{code}` must be a positive number, not {rate}"),
                        Some(format!(
                            "a rate is how many {} one {code} is worth",
                            settings.currency
                        )),
                    );
                } else if code.as_str() == &*settings.currency {
                    self.error_at(
                        parsed.file,
                        span.clone(),
                        &format!("`rates.{code}`: `{code}` is the rule set's own currency"),
                        None,
                    );
                } else {
                    settings.rates.insert(Name::from(code.as_str()), *rate);
                }
            }
            settings
                .offer_kinds
                .extend(raw_settings.offer_kinds.iter().cloned());
            self.ranges(parsed.file, span, raw_settings, &mut settings);
            self.limits(parsed.file, span, raw_settings, &mut settings);
        }
        settings
    }

    /// `[ruleset.ranges]`: numeric fields, `[lowest, highest]`, finite.
    fn ranges(
        &mut self,
        file: usize,
        span: &Range<usize>,
        raw: &crate::rules::raw::RawSettings,
        settings: &mut Settings,
    ) {
        for (path, [lo, hi]) in &raw.ranges {
            let numeric = self.env.field(path).is_some_and(|f| f.ty.is_numeric());
            if !numeric {
                let numbers: Vec<&str> = self
                    .env
                    .fields()
                    .filter(|(_, f)| f.ty.is_numeric())
                    .map(|(p, _)| p)
                    .collect();
                let help = did_you_mean(path, numbers.iter().copied())
                    .unwrap_or_else(|| format!("numeric fields: {}", numbers.join(", ")));
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`ranges.{path}`: `{path}` is not a numeric field"),
                    Some(help),
                );
                continue;
            }
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`ranges.{path}` must be `[lowest, highest]` with lowest <= highest"),
                    Some(format!("e.g. `{path} = [0, 100000]`")),
                );
                continue;
            }
            settings.ranges.insert(path.clone(), (*lo, *hi));
        }
    }

    /// The declared worst-case limits: non-negative numbers, known kinds.
    fn limits(
        &mut self,
        file: usize,
        span: &Range<usize>,
        raw: &crate::rules::raw::RawSettings,
        settings: &mut Settings,
    ) {
        let mut check = |key: &str, value: f64| {
            let ok = value.is_finite() && value >= 0.0;
            if !ok {
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`{key}` must be a number of at least 0, not {value}"),
                    None,
                );
            }
            ok
        };
        let mut limits = DeclaredLimits {
            payout: raw.max_payout.filter(|v| check("max_payout", *v)),
            authority_per_complaint: raw
                .max_authority_per_complaint
                .filter(|v| check("max_authority_per_complaint", *v)),
            ..DeclaredLimits::default()
        };
        for (kind, value) in &raw.max_payout_per_kind {
            if check(&format!("max_payout_per_kind.{kind}"), *value) {
                limits
                    .payout_per_kind
                    .insert(Name::from(kind.as_str()), *value);
            }
        }
        for (rule, value) in &raw.max_authority_per_window {
            if check(&format!("max_authority_per_window.{rule}"), *value) {
                limits
                    .authority_per_window
                    .insert(Name::from(rule.as_str()), *value);
            }
        }
        for kind in raw.max_payout_per_kind.keys() {
            if !settings.offer_kinds.contains(kind) {
                let help = did_you_mean(kind, settings.offer_kinds.iter().map(String::as_str));
                self.error_at(
                    file,
                    span.clone(),
                    &format!("`max_payout_per_kind.{kind}`: `{kind}` is not an offer kind"),
                    help,
                );
            }
        }
        if !limits.is_empty() {
            limits.declared_at = Some(self.location(file, span.clone()));
        }
        settings.limits = limits;
    }

    /// Validates the common keys of every rule of one kind, builds each
    /// rule's body with `body`, and orders them by priority.
    fn kind<R, K, F>(&mut self, kind: &str, raws: Vec<Parsed<R>>, mut body: F) -> Vec<Rule<K>>
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
            self.check_name(file, common.name, kind);
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

    /// Compiles an expression written in a TOML string, mapping its errors
    /// to positions in the file.
    pub(super) fn expression(
        &mut self,
        file: usize,
        source: &Located<String>,
        expect: Expect,
        rule: &str,
    ) -> Option<Expression> {
        if !self.in_conditions && !self.declared_conditions.is_empty() {
            self.names_in_rules
                .extend(crate::expr::names_used(source.get()));
        }
        self.warn_control_characters(file, source, rule);
        match Expression::compile(source.get(), &self.env, expect) {
            Ok(expression) => Some(expression),
            Err(errors) => {
                let text = &self.files[file].text;
                let start = string_content_start(text, source.span(), source.get());
                for error in errors {
                    let span = match start {
                        Some(start) => {
                            start + error.span.start
                                ..start + error.span.end.max(error.span.start + 1)
                        }
                        None => source.span(),
                    };
                    self.diagnostics
                        .push(self.compile_error(file, span, error, rule));
                }
                None
            }
        }
    }

    /// A control character in a condition is almost always an escape taken
    /// too early: in a TOML basic string (`"..."`) `\b` is a backspace, and
    /// so it is again in a condition's own string literal (`"\b"`), so
    /// `matches("\bbroken")` passes and never matches a word boundary.
    fn warn_control_characters(&mut self, file: usize, source: &Located<String>, rule: &str) {
        let found = source
            .get()
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        let (message, help) = match (found, control_escape(source.get())) {
            (Some(found), _) => {
                let name = match found {
                    '\u{8}' => "a backspace (`\\b` in a TOML basic string)".to_string(),
                    '\u{c}' => "a form feed (`\\f` in a TOML basic string)".to_string(),
                    other => format!("the control character U+{:04X}", other as u32),
                };
                (
                    format!("this condition contains {name}"),
                    "write the condition in a literal string, `'...'`, where a backslash stays a backslash, and the pattern as a raw string: `when = 'text.matches(r\"\\bbroken\")'`",
                )
            }
            (None, Some(escape)) => (
                format!(
                    "`\\{escape}` in a condition's string is a control character, not a regex escape"
                ),
                "write the pattern as a raw string, `r\"\\bbroken\"`, or double the backslash, `\"\\\\bbroken\"`",
            ),
            (None, None) => return,
        };
        let mut diagnostic = Diagnostic::warning(message)
            .at(self.location(file, source.span()))
            .with_label("a control character")
            .with_help(help);
        if !rule.is_empty() {
            diagnostic = diagnostic.in_rule(rule);
        }
        self.diagnostics.push(diagnostic);
    }

    fn compile_error(
        &self,
        file: usize,
        span: Range<usize>,
        error: CompileError,
        rule: &str,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(error.message).at(self.location(file, span.clone()));
        if !rule.is_empty() {
            diagnostic = diagnostic.in_rule(rule);
        }
        if let Some(label) = error.label {
            diagnostic = diagnostic.with_label(label);
        }
        let source = self.files[file].text.get(span).unwrap_or_default();
        for note in plugin_output_notes(&self.env, source) {
            diagnostic = diagnostic.with_note(note);
        }
        diagnostic.with_help_opt(error.help)
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

    fn control_line(
        &mut self,
        file: usize,
        r: &RawControlLine,
        settings: &Settings,
    ) -> Option<ControlLine> {
        let mut group_by = Vec::new();
        for path in &r.group_by {
            let expression = self.expression(file, path, Expect::Any, "")?;
            group_by.push((Name::from(path.get().as_str()), expression));
        }
        let window = self.positive(file, Some(&r.window))?;
        if window.millis() % 60_000 != 0 {
            self.error_at(
                file,
                r.window.span(),
                "a control line's `window` must be a whole number of minutes",
                Some("the store counts control lines in minute buckets; e.g. `\"30m\"`, `\"24h\"`, `\"30d\"`".to_string()),
            );
            return None;
        }
        let limit = match (&r.limit, r.max_rate, &r.volume) {
            (Some(limit), None, None) => {
                if *limit.get() < 0 {
                    self.error_at(file, limit.span(), "`limit` must be zero or more", None);
                    return None;
                }
                ControlLimit::Count(*limit.get())
            }
            (None, Some(max_rate), Some(volume)) => {
                if !max_rate.is_finite() || max_rate < 0.0 {
                    self.error_at(
                        file,
                        r.name.span(),
                        "`max_rate` must be a finite number, zero or more",
                        None,
                    );
                    return None;
                }
                let volume = self.expression(file, volume, Expect::Number, "")?;
                ControlLimit::Rate { max_rate, volume }
            }
            (None, Some(_), None) => {
                self.error_at(
                    file,
                    r.name.span(),
                    "`max_rate` needs `volume`",
                    Some("e.g. `volume = \"attrs.units_sold\"`".into()),
                );
                return None;
            }
            (Some(limit), Some(_), _) => {
                self.error_at(
                    file,
                    limit.span(),
                    "give either `limit` or `max_rate`, not both",
                    None,
                );
                return None;
            }
            _ => {
                self.error_at(
                    file,
                    r.name.span(),
                    "a control line needs `limit` (a count) or `max_rate` with `volume`",
                    Some("e.g. `limit = 5`".into()),
                );
                return None;
            }
        };
        let then = match &r.then {
            Some(action) => {
                if let Some(level) = &action.escalate {
                    self.level(file, level, settings)?;
                }
                ControlAction {
                    escalate: action
                        .escalate
                        .as_ref()
                        .map(|l| Name::from(l.get().as_str())),
                    notify: names(&action.notify),
                    flag: Name::from(action.flag.as_deref().unwrap_or(DEFAULT_CONTROL_FLAG)),
                }
            }
            None => ControlAction {
                escalate: None,
                notify: Vec::new(),
                flag: Name::from(DEFAULT_CONTROL_FLAG),
            },
        };
        Some(ControlLine {
            group_by,
            window,
            limit,
            then,
        })
    }

    fn cap(&mut self, file: usize, r: &RawCap, settings: &Settings) -> Option<Cap> {
        if r.max_total.is_none() && r.per_kind.is_empty() {
            self.error_at(
                file,
                r.name.span(),
                "this cap limits nothing",
                Some("give `max_total` or `per_kind`".into()),
            );
        }
        let max_total = match &r.max_total {
            Some(amount) => Some(self.amount(file, amount)?),
            None => None,
        };
        let mut per_kind = BTreeMap::new();
        for (kind, amount) in &r.per_kind {
            if !settings.offer_kinds.contains(kind) {
                let help = did_you_mean(kind, settings.offer_kinds.iter().map(String::as_str));
                self.diagnostics.push(
                    Diagnostic::error(format!("unknown offer kind `{kind}` in `per_kind`"))
                        .at(self.location(file, amount.span()))
                        .with_help_opt(help),
                );
            }
            per_kind.insert(Name::from(kind.as_str()), self.amount(file, amount)?);
        }
        Some(Cap {
            max_total,
            per_kind,
        })
    }

    fn budget(&mut self, file: usize, budget: &RawBudget) -> Option<Budget> {
        let per = match &budget.per {
            Some(per) => match BudgetScope::parse(per.get()) {
                Some(scope) => scope,
                None => {
                    let help = did_you_mean(per.get(), BudgetScope::NAMES)
                        .unwrap_or_else(|| format!("one of: {}", BudgetScope::NAMES.join(", ")));
                    self.diagnostics.push(
                        Diagnostic::error(format!("unknown budget scope `{}`", per.get()))
                            .at(self.location(file, per.span()))
                            .with_help(help),
                    );
                    return None;
                }
            },
            None => BudgetScope::Global,
        };
        let window = self.positive(file, Some(&budget.window))?;
        if budget.count.is_none() && budget.amount.is_none() {
            self.error_at(
                file,
                budget.window.span(),
                "a budget needs `count`, `amount` or both",
                Some("e.g. `count = 50`".into()),
            );
            return None;
        }
        if budget.count.is_some_and(|c| c < 0)
            || budget.amount.is_some_and(|a| !a.is_finite() || a < 0.0)
        {
            self.error_at(
                file,
                budget.window.span(),
                "budget `count` and `amount` must be zero or more",
                None,
            );
            return None;
        }
        Some(Budget {
            per,
            window,
            count: budget.count,
            amount: budget.amount,
        })
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

/// Where the content of a TOML string starts in the file, when the content
/// appears verbatim (no escapes), so positions inside it map exactly.
fn string_content_start(text: &str, span: Range<usize>, value: &str) -> Option<usize> {
    let raw = text.get(span.clone())?;
    for (prefix, multiline) in [("'''", true), ("\"\"\"", true), ("'", false), ("\"", false)] {
        if raw.starts_with(prefix) {
            let mut start = span.start + prefix.len();
            if multiline {
                if text[start..].starts_with("\r\n") {
                    start += 2;
                } else if text[start..].starts_with('\n') {
                    start += 1;
                }
            }
            return (text.get(start..start + value.len()) == Some(value)).then_some(start);
        }
    }
    None
}

/// The first `\a`, `\b`, `\f` or `\v` escape inside a (not raw) string
/// literal of a condition: CEL reads each as a control character.
fn control_escape(source: &str) -> Option<char> {
    let bytes = source.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            None => {
                let raw = i > 0 && matches!(bytes[i - 1], b'r' | b'R');
                if (b == b'"' || b == b'\'') && !raw {
                    quote = Some(b);
                } else if b == b'"' || b == b'\'' {
                    // A raw string: skip to its end.
                    let end = bytes[i + 1..]
                        .iter()
                        .position(|&c| c == b)
                        .map_or(bytes.len(), |p| i + 1 + p);
                    i = end;
                }
            }
            Some(q) => {
                if b == b'\\' {
                    if let Some(&next) = bytes.get(i + 1)
                        && matches!(next, b'a' | b'b' | b'f' | b'v')
                    {
                        return Some(next as char);
                    }
                    i += 2;
                    continue;
                }
                if b == q {
                    quote = None;
                }
            }
        }
        i += 1;
    }
    None
}

/// For each plugin output a condition's faulty part reads: its type in the
/// manifest's words, and that the type comes from the plugin's manifest
/// (a type error there is as often a wrong manifest as a wrong rule).
fn plugin_output_notes(env: &Env, source: &str) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("plugins.") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(tail.len());
        let path = tail[..end].trim_end_matches('.');
        rest = &tail[end..];
        let Some(field) = env.field(path).filter(|f| f.slot.is_some()) else {
            continue;
        };
        let (Some(plugin), Some(output)) = (path.split('.').nth(1), path.split('.').nth(2)) else {
            continue;
        };
        let word = crate::expr::manifest_word(&field.ty);
        let note = format!(
            "`{path}` is a `{word}` output (`{}` in conditions): its type comes from plugin `{plugin}`'s manifest (`[outputs] {output} = {{ type = \"{word}\" }}`)",
            field.ty
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    notes
}
