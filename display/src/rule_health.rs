//! How rules behave over time, as `/rules` and `actionboard rules health` show it: each rule's
//! track record, its firing in the last evaluation against its `max_fire_share`, and backtests.

use serde::{Deserialize, Serialize};

use crate::{Format, Text};

/// How one rule's alerts went, so noisy rules can be tuned (`/rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleHealth {
    pub rule_id: String,
    pub rule_name: Text,
    /// Alerts the rule has raised (each fingerprint once).
    pub raised: usize,
    /// Of them, still needing action.
    pub active: usize,
    /// Acknowledged by a person at least once.
    pub acknowledged: usize,
    /// Median hours from first seen to the first acknowledgement.
    pub median_hours_to_acknowledge: Option<f64>,
    /// Resolved by a person at least once.
    pub resolved: usize,
    /// Median hours from first seen to the first resolution by a person.
    pub median_hours_to_resolve: Option<f64>,
    /// Marked not useful, or dismissed as noise (each alert once).
    pub noisy: usize,
    /// What the rule fired on in the last evaluation merged (`None`: not evaluated since the
    /// state kept these counts).
    #[serde(default)]
    pub last_evaluation: Option<RuleFiring>,
}

/// A rule that fires for fewer entities than this is never held back by its `max_fire_share`:
/// paging each of so few is no flood, even when they are most of a small source.
pub const MIN_FIRED_TO_HOLD: usize = 10;

/// One rule in one evaluation: how many alerts it raised over how many of the entities it looked
/// at, and whether that share was above the rule's `max_fire_share` (then its alerts were kept
/// but sent no notifications; one notice was raised instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFiring {
    pub rule_id: String,
    pub rule_name: Text,
    /// Alerts the rule raised.
    pub alerts: usize,
    /// The distinct entities among them.
    pub fired_entities: usize,
    /// The entities it looked at (with a value of its metric at the evaluated period or the one
    /// before), counted by DuckDB; `None` for rules that look at runs and rejects, not entities.
    pub entities: Option<usize>,
    /// The share above which its alerts are held back, in % (rules.yml `max_fire_share`).
    pub max_fire_share_pct: f64,
    /// Alerts whose notifications were held back (all of them, when over the share; else 0).
    pub held_back: usize,
}

impl RuleFiring {
    /// Whether the rule has a history to replay (`/rules/{rule}`): a rule over a metric's
    /// entities has; one that looks at runs (pipeline, rejects, staleness) looks at no entity
    /// and has none.
    pub fn replayable(&self) -> bool {
        self.entities.is_some()
    }

    /// The fired entities' share of the entities looked at, in %; `None` without entities.
    pub fn share_pct(&self) -> Option<f64> {
        match self.entities {
            Some(n) if n > 0 => Some(self.fired_entities as f64 * 100.0 / n as f64),
            _ => None,
        }
    }

    /// Whether the rule fired for more than its `max_fire_share` of the entities, and for at
    /// least [`MIN_FIRED_TO_HOLD`] of them (a few alerts are no flood, whatever their share of a
    /// small source).
    pub fn over_limit(&self) -> bool {
        self.fired_entities >= MIN_FIRED_TO_HOLD
            && self
                .share_pct()
                .is_some_and(|s| s > self.max_fire_share_pct)
    }

    /// `4,210 of 151,000 entities (2.8 %)`, or `3 alerts` for a rule without entities.
    pub fn summary(&self, lang: crate::Lang) -> String {
        let n = |v: usize| crate::grouped(v as f64, 0);
        match (self.entities, self.share_pct()) {
            (Some(of), share) => {
                let share = crate::value(Format::Percent, share.unwrap_or(0.0), lang);
                match lang {
                    crate::Lang::En => {
                        format!("{} of {} entities ({share})", n(self.fired_entities), n(of))
                    }
                    crate::Lang::Ko => format!(
                        "엔터티 {}개 중 {}개({share})",
                        n(of),
                        n(self.fired_entities)
                    ),
                }
            }
            (None, _) => match lang {
                crate::Lang::En => {
                    format!("{} alerts (runs and rejects, no entities)", n(self.alerts))
                }
                crate::Lang::Ko => {
                    format!("알림 {}건(실행·거부 행 기준, 엔터티 없음)", n(self.alerts))
                }
            },
        }
    }

    /// The notice a rule over its share raises: title, explanation and recommended action.
    pub fn notice(&self, rule_id: &str, period: &str) -> FireShareNotice {
        let share_en = crate::value(
            Format::Percent,
            self.share_pct().unwrap_or(0.0),
            crate::Lang::En,
        );
        let share_ko = crate::value(
            Format::Percent,
            self.share_pct().unwrap_or(0.0),
            crate::Lang::Ko,
        );
        let limit_en = crate::value(Format::Percent, self.max_fire_share_pct, crate::Lang::En);
        let limit_ko = crate::value(Format::Percent, self.max_fire_share_pct, crate::Lang::Ko);
        let n = |v: usize| crate::grouped(v as f64, 0);
        let (alerts, fired, of, held) = (
            n(self.alerts),
            n(self.fired_entities),
            n(self.entities.unwrap_or(0)),
            n(self.held_back),
        );
        FireShareNotice {
            title: Text::new(
                format!("{rule_id} fired for {share_en} of entities: threshold too low?"),
                format!("{rule_id} 규칙이 엔터티의 {share_ko}에서 발생: 임계값이 너무 낮은가요?"),
            ),
            explanation: Text::new(
                format!(
                    "Rule {rule_id} fired for {fired} of the {of} entities it looked at ({share_en}) at {period}, above its max_fire_share of {limit_en}. A rule that fires for that many usually has a threshold that is too low or a break in the source. Its {alerts} alerts are kept in the inbox, but their {held} notifications were held back in this evaluation: only this notice was sent."
                ),
                format!(
                    "{rule_id} 규칙이 {period} 기준으로 살펴본 엔터티 {of}개 중 {fired}개({share_ko})에서 발생해 max_fire_share {limit_ko}를 넘었습니다. 이렇게 많이 발생하면 보통 임계값이 너무 낮거나 소스 데이터에 단절이 있습니다. 알림 {alerts}건은 인박스에 그대로 있지만, 이번 평가에서 알림 발송 {held}건을 보류하고 이 안내만 보냈습니다."
                ),
            ),
            action: Text::new(
                format!(
                    "Review {rule_id}'s threshold in config/rules.yml (replay it with `actionboard rules backtest {rule_id}`), or check the source for a break; if this share is expected, set the rule's max_fire_share"
                ),
                format!(
                    "config/rules.yml에서 {rule_id} 규칙의 임계값을 검토하거나(`actionboard rules backtest {rule_id}`로 재적용) 소스 데이터의 단절을 확인하고, 이 비율이 정상이라면 규칙의 max_fire_share를 설정"
                ),
            ),
        }
    }
}

/// The fingerprint of the notice a rule raises when it fires for more than its
/// `max_fire_share` of entities: one per rule, whatever the period.
pub fn fire_share_fingerprint(rule_id: &str) -> String {
    format!("fire_share:{rule_id}")
}

/// What a rule over its `max_fire_share` says, in both languages ([`RuleFiring::notice`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FireShareNotice {
    pub title: Text,
    pub explanation: Text,
    pub action: Text,
}

impl RuleHealth {
    /// The share of raised alerts marked not useful or dismissed as noise, 0–1.
    pub fn noisy_share(&self) -> f64 {
        if self.raised == 0 {
            0.0
        } else {
            self.noisy as f64 / self.raised as f64
        }
    }
}

/// The median of `values` (sorted here); `None` when empty.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// A rule replayed over every period of the served snapshot (`rules backtest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    pub rule_id: String,
    pub rule_name: Text,
    /// The snapshot (run) replayed.
    pub run_id: String,
    /// Alerts the rule would have raised, per period (every period of the metric, zero too).
    pub per_period: Vec<(i32, usize)>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rule_is_over_its_share_above_the_limit_and_from_ten_entities() {
        let firing = |fired: usize, of: usize| super::RuleFiring {
            rule_id: "r".into(),
            rule_name: crate::Text::new("r", "r"),
            alerts: fired,
            fired_entities: fired,
            entities: Some(of),
            max_fire_share_pct: 20.0,
            held_back: 0,
        };
        assert!(firing(21, 100).over_limit());
        // Exactly at the share is not over it.
        assert!(!firing(20, 100).over_limit());
        // Most of a small source, but few alerts: no flood to hold back.
        assert!(!firing(3, 5).over_limit());
        assert!(firing(super::MIN_FIRED_TO_HOLD, 12).over_limit());
        assert!(!firing(super::MIN_FIRED_TO_HOLD - 1, 12).over_limit());
        // Nothing looked at (runs and rejects): never.
        let mut system = firing(50, 0);
        system.entities = None;
        assert!(!system.over_limit() && system.share_pct().is_none());
        assert_eq!(
            firing(28, 1000).summary(crate::Lang::En),
            "28 of 1,000 entities (2.8 %)"
        );
    }
}
