//! Generated alerts, as rules would find them: for the alert state's tests and benchmarks
//! (notifications, the outbox).

use std::collections::BTreeMap;

use display::alert::{Action, Alert, Evidence, KindName, Scope, Severity};
use display::{Format, Text};

/// The `i`-th of a family of alerts: rule `gdp_fall`, severities and regions in turn (critical,
/// high, medium, low; Asia, Europe, Africa, Americas), owner `apac_desk` for every third, else
/// `fx_team`.
pub fn alert(i: usize) -> Alert {
    Alert {
        fingerprint: format!("gdp_fall:X{i:07}:2025"),
        rule_id: "gdp_fall".into(),
        rule_name: Text::new("GDP fall", "GDP 하락"),
        kind: KindName::from("change"),
        severity: Severity::ALL[i % 4],
        priority: 1.0 + (i % 10_000) as f64 / 100.0,
        scope: Scope::Country,
        entity: format!("X{i:07}"),
        entity_name: format!("Entity {i}"),
        region: Some(["Asia", "Europe", "Africa", "Americas"][i % 4].into()),
        period: "2025".into(),
        title: Text::new(
            format!("Entity {i}: GDP -6.2 % YoY to 412.5 B USD"),
            format!("{i} 대상국: GDP 전년 대비 -6.2%, 4,125억 달러"),
        ),
        explanation: Text::new("A fall of 5 % or more.", "5% 이상 하락."),
        evidence: Evidence {
            metric: "gdp".into(),
            metric_label: Text::new("GDP", "GDP"),
            format: Format::UsdBillions,
            values: BTreeMap::from([
                ("value".to_string(), 412.5e9 + i as f64),
                ("previous".to_string(), 439.8e9),
            ]),
            series: Vec::new(),
            source: None,
            run_id: String::new(),
            projection: false,
            data_issue_reason: None,
        },
        actions: vec![Action {
            text: Text::new(
                format!("Ask the desk about X{i:07}"),
                format!("X{i:07} 대상에 대해 데스크에 문의"),
            ),
            owner: if i.is_multiple_of(3) {
                "apac_desk"
            } else {
                "fx_team"
            }
            .into(),
            owner_label: Text::new("APAC desk", "APAC 데스크"),
            due_days: 7,
        }],
        data_issue: false,
        auto_resolve: false,
    }
}
