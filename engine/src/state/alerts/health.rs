//! Each rule's track record: alerts raised, acknowledged and resolved (and how fast), marked not
//! useful or dismissed.

use display::alert::{RuleFiring, RuleHealth, Status};

use super::rows::parse_ts;
use super::store::{AlertStore, StateError};

impl AlertStore {
    /// Each rule's firing in the last evaluation merged (alerts, entities looked at, held back),
    /// by rule id; empty before the first merge that counted them.
    pub fn rule_firing(&self) -> Result<Vec<RuleFiring>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT firing_json FROM rule_firing ORDER BY rule_id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.err())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.err())?;
        // A row another version wrote in a shape this one cannot read is skipped, not an error:
        // the next merge rewrites them all.
        Ok(rows
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect())
    }

    /// Per rule (by id): alerts raised, how many are active, acknowledged and resolved by people
    /// and the median hours to each, and how many were marked not useful or dismissed as noise.
    pub fn rule_health(&self) -> Result<Vec<RuleHealth>, StateError> {
        use std::collections::BTreeMap;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT a.rule_id, {}, {}, a.status, a.useful, a.dismiss_reason, \
                 a.first_seen_at, \
                 (SELECT min(at) FROM alert_events e WHERE e.fingerprint = a.fingerprint AND e.kind = 'acknowledged'), \
                 (SELECT min(at) FROM alert_events e WHERE e.fingerprint = a.fingerprint AND e.kind = 'resolved') \
                 FROM alerts a",
                self.conn.dialect().json_text("a.alert_json", &["rule_name", "en"]),
                self.conn.dialect().json_text("a.alert_json", &["rule_name", "ko"]),
            ))
            .map_err(self.err())?;
        type Row = (
            String,
            Option<String>,
            Option<String>,
            String,
            Option<i64>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .map_err(self.err())?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(self.err())?;
        let hours = |from: &str, to: &Option<String>| {
            to.as_deref()
                .map(|t| (parse_ts(t) - parse_ts(from)).num_seconds() as f64 / 3600.0)
        };
        let mut by_rule: BTreeMap<String, (RuleHealth, Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for (rule, en, ko, status, useful, reason, first_seen, acked, resolved) in rows {
            let entry = by_rule.entry(rule.clone()).or_insert_with(|| {
                untouched(
                    &rule,
                    display::Text::new(
                        en.clone().unwrap_or_else(|| rule.clone()),
                        ko.clone().unwrap_or_else(|| rule.clone()),
                    ),
                )
            });
            let (health, to_ack, to_resolve) = entry;
            health.raised += 1;
            if Status::parse(&status).is_some_and(Status::is_active) {
                health.active += 1;
            }
            if let Some(h) = hours(&first_seen, &acked) {
                health.acknowledged += 1;
                to_ack.push(h);
            }
            if let Some(h) = hours(&first_seen, &resolved) {
                health.resolved += 1;
                to_resolve.push(h);
            }
            if useful == Some(0) || reason.as_deref() == Some("noise") {
                health.noisy += 1;
            }
        }
        // The last evaluation's firing, rules that raised nothing included.
        for firing in self.rule_firing()? {
            let entry = by_rule
                .entry(firing.rule_id.clone())
                .or_insert_with(|| untouched(&firing.rule_id, firing.rule_name.clone()));
            entry.0.last_evaluation = Some(firing);
        }
        Ok(by_rule
            .into_values()
            .map(|(mut health, to_ack, to_resolve)| {
                health.median_hours_to_acknowledge = display::alert::median(to_ack);
                health.median_hours_to_resolve = display::alert::median(to_resolve);
                health
            })
            .collect())
    }
}

/// A rule's health before any of its alerts is counted, with the hours to acknowledge and to
/// resolve still to collect.
fn untouched(rule_id: &str, rule_name: display::Text) -> (RuleHealth, Vec<f64>, Vec<f64>) {
    (
        RuleHealth {
            rule_id: rule_id.to_string(),
            rule_name,
            raised: 0,
            active: 0,
            acknowledged: 0,
            median_hours_to_acknowledge: None,
            resolved: 0,
            median_hours_to_resolve: None,
            noisy: 0,
            last_evaluation: None,
        },
        Vec::new(),
        Vec::new(),
    )
}
