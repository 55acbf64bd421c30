//! An alert: what fired, the evidence, how urgent it is, and what to do about it.

use std::collections::BTreeMap;

use display::{Format, Lang, Text};

pub use display::alert::{Action, Alert, Evidence, Point, SourceRef};

use super::config::{Kind, Rule, Rules, Severity};

pub fn fingerprint(rule_id: &str, entity: &str, period: &str) -> String {
    format!("{rule_id}:{entity}:{period}")
}

/// Impact of an entity: 1 plus a tenth of its share of world GDP in %, so the largest economy
/// weighs about 3.6 and the smallest 1. Pipeline and data-quality alerts affect every figure.
pub fn impact(share_pct: Option<f64>) -> f64 {
    1.0 + share_pct
        .filter(|s| s.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 100.0)
        / 10.0
}

pub fn priority(rules: &Rules, severity: Severity, share_pct: Option<f64>) -> f64 {
    (rules.weight(severity) * impact(share_pct) * 100.0).round() / 100.0
}

/// Template variables: each placeholder's text in both languages.
#[derive(Debug, Default, Clone)]
pub struct Vars(BTreeMap<&'static str, Text>);

impl Vars {
    pub fn set(&mut self, key: &'static str, en: impl Into<String>, ko: impl Into<String>) {
        self.0.insert(key, Text::new(en, ko));
    }

    pub fn same(&mut self, key: &'static str, text: impl Into<String>) {
        let text = text.into();
        self.0.insert(key, Text::new(text.clone(), text));
    }

    pub fn value(&mut self, key: &'static str, format: Format, v: f64) {
        self.set(
            key,
            display::value(format, v, Lang::En),
            display::value(format, v, Lang::Ko),
        );
    }

    pub fn change(&mut self, key: &'static str, pct: f64) {
        self.set(
            key,
            display::change_pct(pct, Lang::En),
            display::change_pct(pct, Lang::Ko),
        );
    }

    /// Fills `{placeholders}`; one without a value (checked away by `rules check`) shows as `—`.
    pub fn fill(&self, template: &Text) -> Text {
        Text::new(
            self.fill_one(&template.en, Lang::En),
            self.fill_one(&template.ko, Lang::Ko),
        )
    }

    fn fill_one(&self, template: &str, lang: Lang) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let key = &after[..close];
                    out.push_str(self.0.get(key).map_or("—", |t| t.get(lang)));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The built-in explanation of each kind, used unless the rule gives `explain`.
pub fn default_explanation(rule: &Rule) -> Text {
    let (en, ko): (&str, &str) = match &rule.kind {
        Kind::Threshold { above: true, crossing: true, .. } => (
            "{name}'s {metric} reached {value} in {period}, at or above {limit}; it was {previous} in {previous_period}.",
            "{name}의 {metric}이(가) {period}년 {value}로 기준 {limit} 이상이 되었습니다({previous_period}년 {previous}).",
        ),
        Kind::Threshold { above: true, .. } => (
            "{name}'s {metric} was {value} in {period}, at or above {limit}.",
            "{name}의 {metric}은(는) {period}년 {value}로 기준 {limit} 이상입니다.",
        ),
        Kind::Threshold { crossing: true, .. } => (
            "{name}'s {metric} fell to {value} in {period}, below {limit}; it was {previous} in {previous_period}.",
            "{name}의 {metric}이(가) {period}년 {value}로 기준 {limit} 미만이 되었습니다({previous_period}년 {previous}).",
        ),
        Kind::Threshold { .. } => (
            "{name}'s {metric} was {value} in {period}, below {limit}.",
            "{name}의 {metric}은(는) {period}년 {value}로 기준 {limit} 미만입니다.",
        ),
        Kind::Change { .. } => (
            "{name}'s {metric} went from {previous} in {previous_period} to {value} in {period} ({change}); the rule fires at {limit} or beyond.",
            "{name}의 {metric}이(가) {previous_period}년 {previous}에서 {period}년 {value}로 변했습니다({change}). 규칙은 {limit} 이상 변하면 알립니다.",
        ),
        Kind::Anomaly { .. } => (
            "{name}'s {metric} changed {change} in {period}, {z} standard deviations from its average change of {mean_change} over the previous {window} years.",
            "{name}의 {metric}은(는) {period}년 {change} 변해, 직전 {window}년 평균 변화 {mean_change}에서 표준편차 {z}배 벗어났습니다.",
        ),
        Kind::RankChange { .. } => (
            "{name} ranked {rank} in {period} by {metric}, against {previous_rank} in {previous_period}.",
            "{name}의 {metric}은(는) {period}년 {rank}위로, {previous_period}년 {previous_rank}위에서 바뀌었습니다.",
        ),
        Kind::Absence => (
            "{name} has {metric} of {previous} for {previous_period} but no figure for {period} yet. A missing year is not a fall: no change is computed across it.",
            "{name}은(는) {previous_period}년 {metric} {previous} 이후 {period}년 수치가 아직 없습니다. 빠진 해는 하락이 아니므로 변화율을 계산하지 않습니다.",
        ),
        Kind::DataQuality { .. } => (
            "{rejected} of {rows} rows read from {source} were rejected ({reject_rate}); the rule fires above {limit}. Figures from this source may be incomplete.",
            "{source}에서 읽은 {rows}행 중 {rejected}행이 거부되었습니다({reject_rate}). 기준은 {limit} 초과이며, 이 소스의 수치가 불완전할 수 있습니다.",
        ),
        Kind::Pipeline { check: super::config::PipelineCheck::FailedRun, .. } => (
            "Run {run} stopped in the {stage} stage: {error}. The dashboard still serves the previous snapshot.",
            "실행 {run}이(가) {stage} 단계에서 멈췄습니다: {error}. 대시보드는 이전 스냅샷을 계속 보여줍니다.",
        ),
        Kind::Pipeline { .. } => (
            "The data shown was loaded {age_days} days ago; the rule expects a load at least every {limit} days.",
            "표시 중인 데이터는 {age_days}일 전에 적재되었습니다. 규칙은 {limit}일마다 적재를 기대합니다.",
        ),
        Kind::RunRevision { .. } => (
            "The source revised {name}'s {metric} for {period} from {baseline_value} ({baseline}) to {value} ({revised_by}). A revision is a data event, not a change in the economy: update plans that used the old figure.",
            "소스가 {name}의 {period}년 {metric}을(를) {baseline_value}({baseline})에서 {value}로 수정했습니다({revised_by}). 수정은 경제의 변화가 아닌 데이터 사건입니다. 이전 수치를 쓴 계획을 갱신하세요.",
        ),
        Kind::Withdrawn => (
            "{name}'s {metric} for {period} ({previous} in {baseline}) is no longer published by the source. A withdrawn value is a data issue, never a fall: no change is computed across it.",
            "{name}의 {period}년 {metric}({baseline}에서 {previous})이(가) 소스에서 더 이상 발표되지 않습니다. 철회된 수치는 데이터 문제이며 하락이 아니므로 변화율을 계산하지 않습니다.",
        ),
        Kind::Revision { .. } => (
            "{metric} of {name} for {period}: {baseline_value} in {baseline}, {value} in the newer edition ({revised_by}).",
            "{name}의 {period}년 {metric}: {baseline} {baseline_value} → 새 발표판 {value}({revised_by}).",
        ),
    };
    Text::new(en, ko)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_and_marks_unknown() {
        let mut vars = Vars::default();
        vars.set("name", "Korea", "한국");
        vars.value("value", Format::UsdBillions, 1_712.79e9);
        vars.change("change", -6.2);
        let t = vars.fill(&Text::new(
            "{name}: GDP {change} YoY to {value} {missing}",
            "{name}: GDP 전년 대비 {change}, {value}",
        ));
        assert_eq!(t.en, "Korea: GDP −6.2 % YoY to 1,712.79 B USD —");
        assert_eq!(t.ko, "한국: GDP 전년 대비 −6.2%, 1조 7,128억 달러");
    }

    #[test]
    fn impact_grows_with_share() {
        assert_eq!(impact(None), 1.0);
        assert!((impact(Some(26.0)) - 3.6).abs() < 1e-9);
        assert_eq!(impact(Some(f64::NAN)), 1.0);
        assert_eq!(impact(Some(500.0)), 11.0);
    }
}
