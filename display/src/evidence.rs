//! The numbers of an alert's evidence, by what they mean. Each rule kind stores its typed
//! evidence under the names of its fields (engine `rules/kinds/`); here each name is read once
//! into a [`Quantity`] that knows its label and how it reads, so pages show evidence from
//! types, not from string keys. A name no quantity knows (a new kind's) still shows, as a
//! plain number under its own name.

use crate::alert::Evidence;
use crate::{Format, Lang, Text};

/// What a number of the evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity<'a> {
    /// The metric at the period.
    Value,
    /// The metric at the previous period.
    Previous,
    /// The entity's share of world GDP, in %.
    SharePct,
    /// A change in % (against the previous period).
    ChangePct,
    /// A rule's limit on a change, in %.
    LimitPct,
    /// A rule's limit in the metric's unit.
    Limit,
    /// A z-score.
    Z,
    /// The average change before, in %.
    MeanChangePct,
    Rank,
    PreviousRank,
    /// Places moved up (down when negative).
    MovedUp,
    /// The figure in the earlier edition or run.
    BaselineValue,
    /// A revision, in %.
    RevisedPct,
    /// The revision of one period of a batch, in %, stored as `revised_pct_<period>`.
    RevisedPctOf(&'a str),
    /// Rows rejected by validation.
    Rejected,
    /// Rows read.
    Rows,
    /// Rejected rows / rows read, as a fraction.
    RejectRate,
    /// Days since the data was loaded.
    AgeDays,
    /// A rule's limit in days.
    LimitDays,
    /// Countries that have not published a partial period yet.
    NotYetPublished,
    /// Countries that have published it.
    Reported,
    /// Entities a rule fired for, in one evaluation (its `max_fire_share` notice).
    FiredEntities,
    /// Entities it looked at.
    Entities,
    /// The share of them it fired for, in %.
    FireSharePct,
    /// The rule's `max_fire_share`, in %.
    MaxFireSharePct,
    /// Alerts whose notifications were held back.
    HeldBack,
    /// A number of a kind this list does not know, by its name.
    Other(&'a str),
}

/// The stored name's prefix of [`Quantity::RevisedPctOf`].
const REVISED_PCT_OF: &str = "revised_pct_";

/// Every known quantity with its stored name.
const NAMED: [(Quantity<'static>, &str); 25] = [
    (Quantity::Value, "value"),
    (Quantity::Previous, "previous"),
    (Quantity::SharePct, "share_pct"),
    (Quantity::ChangePct, "change_pct"),
    (Quantity::LimitPct, "limit_pct"),
    (Quantity::Limit, "limit"),
    (Quantity::Z, "z"),
    (Quantity::MeanChangePct, "mean_change_pct"),
    (Quantity::Rank, "rank"),
    (Quantity::PreviousRank, "previous_rank"),
    (Quantity::MovedUp, "moved_up"),
    (Quantity::BaselineValue, "baseline_value"),
    (Quantity::RevisedPct, "revised_pct"),
    (Quantity::Rejected, "rejected"),
    (Quantity::Rows, "rows"),
    (Quantity::RejectRate, "reject_rate"),
    (Quantity::AgeDays, "age_days"),
    (Quantity::LimitDays, "limit_days"),
    (Quantity::NotYetPublished, "not_yet_published"),
    (Quantity::Reported, "reported"),
    (Quantity::FiredEntities, "fired_entities"),
    (Quantity::Entities, "entities"),
    (Quantity::FireSharePct, "fire_share_pct"),
    (Quantity::MaxFireSharePct, "max_fire_share_pct"),
    (Quantity::HeldBack, "held_back"),
];

impl<'a> Quantity<'a> {
    /// The quantity stored under `name`.
    pub fn of(name: &'a str) -> Self {
        if let Some(period) = name.strip_prefix(REVISED_PCT_OF) {
            if !period.is_empty() && period.bytes().all(|b| b.is_ascii_digit()) {
                return Quantity::RevisedPctOf(name);
            }
        }
        NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(Quantity::Other(name), |(q, _)| *q)
    }

    /// Its stored name.
    pub fn name(self) -> &'a str {
        match self {
            Quantity::Other(name) | Quantity::RevisedPctOf(name) => name,
            known => NAMED
                .iter()
                .find(|(q, _)| *q == known)
                .map_or("", |(_, n)| n),
        }
    }

    /// How people read its name.
    pub fn label(self) -> Text {
        let (en, ko) = match self {
            Quantity::Value => ("Value", "값"),
            Quantity::Previous => ("Previous value", "이전 값"),
            Quantity::ChangePct => ("Change", "변화율"),
            Quantity::LimitPct | Quantity::Limit => ("Rule limit", "규칙 기준"),
            Quantity::SharePct => ("Share of world GDP", "세계 GDP 비중"),
            Quantity::Z => ("z-score", "z-점수"),
            Quantity::MeanChangePct => ("Average change before", "이전 평균 변화율"),
            Quantity::Rank => ("Rank", "순위"),
            Quantity::PreviousRank => ("Previous rank", "이전 순위"),
            Quantity::MovedUp => ("Places moved up", "순위 상승 폭"),
            Quantity::BaselineValue => ("Earlier edition", "이전 발표판"),
            Quantity::RevisedPct => ("Revision", "수정 폭"),
            Quantity::RevisedPctOf(name) => {
                let period = &name[REVISED_PCT_OF.len()..];
                return Text::new(
                    format!("Revision of {period}"),
                    format!("{period}년 수정 폭"),
                );
            }
            Quantity::Rejected => ("Rows rejected", "거부된 행"),
            Quantity::Rows => ("Rows read", "읽은 행"),
            Quantity::RejectRate => ("Reject rate", "거부율"),
            Quantity::AgeDays => ("Age of the data (days)", "데이터 경과일"),
            Quantity::LimitDays => ("Limit (days)", "기준(일)"),
            Quantity::FiredEntities => ("Entities it fired for", "발생 엔터티"),
            Quantity::Entities => ("Entities it looked at", "살펴본 엔터티"),
            Quantity::FireSharePct => ("Share fired for", "발생 비율"),
            Quantity::MaxFireSharePct => ("max_fire_share", "max_fire_share"),
            Quantity::HeldBack => ("Notifications held back", "보류한 알림 발송"),
            Quantity::NotYetPublished | Quantity::Reported | Quantity::Other(_) => {
                let name = self.name();
                return Text::new(name, name);
            }
        };
        Text::new(en, ko)
    }

    /// How `v` reads: amounts in the metric's `format`, changes signed, shares and rates in %.
    pub fn show(self, v: f64, format: Format, lang: Lang) -> String {
        match self {
            Quantity::Value | Quantity::Previous | Quantity::BaselineValue | Quantity::Limit => {
                crate::value(format, v, lang)
            }
            Quantity::ChangePct
            | Quantity::LimitPct
            | Quantity::MeanChangePct
            | Quantity::RevisedPct
            | Quantity::RevisedPctOf(_) => crate::change_pct(v, lang),
            Quantity::SharePct | Quantity::FireSharePct | Quantity::MaxFireSharePct => {
                crate::value(Format::Percent, v, lang)
            }
            Quantity::RejectRate => crate::fraction_pct(v, lang),
            Quantity::Z => format!("{v:+.2}"),
            Quantity::Other(name) if name.ends_with("_pct") => crate::change_pct(v, lang),
            _ => crate::grouped(v, if v.fract() == 0.0 { 0 } else { 2 }),
        }
    }
}

impl Evidence {
    /// The evidence's numbers with what each is, in stored order.
    pub fn quantities(&self) -> impl Iterator<Item = (Quantity<'_>, f64)> + '_ {
        self.values.iter().map(|(k, v)| (Quantity::of(k), *v))
    }

    /// The number of `quantity`, if the evidence has it.
    pub fn get(&self, quantity: Quantity<'_>) -> Option<f64> {
        self.values.get(quantity.name()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_stay_readable() {
        for (q, name) in NAMED {
            assert_eq!(Quantity::of(name), q);
            assert_eq!(q.name(), name);
        }
        assert_eq!(Quantity::of("new_pct"), Quantity::Other("new_pct"));
        assert_eq!(Quantity::of("new_pct").label().en, "new_pct");
        assert_eq!(
            Quantity::of("new_pct").show(-5.0, Format::Count, Lang::En),
            crate::change_pct(-5.0, Lang::En)
        );
        assert_eq!(Quantity::Z.show(3.456, Format::Count, Lang::En), "+3.46");
        let of_2024 = Quantity::of("revised_pct_2024");
        assert_eq!(of_2024, Quantity::RevisedPctOf("revised_pct_2024"));
        assert_eq!(of_2024.name(), "revised_pct_2024");
        assert_eq!(of_2024.label().en, "Revision of 2024");
        assert_eq!(of_2024.label().ko, "2024년 수정 폭");
        assert_eq!(
            of_2024.show(1.5, Format::Count, Lang::En),
            crate::change_pct(1.5, Lang::En)
        );
        assert_eq!(
            Quantity::of("revised_pct_x"),
            Quantity::Other("revised_pct_x")
        );
    }

    /// An alert as the state file stored it before kinds had modules: read, typed, written back
    /// byte for byte.
    #[test]
    fn stored_alerts_stay_readable() {
        let stored = r#"{"fingerprint":"gdp_fall:KOR:2025","rule_id":"gdp_fall","rule_name":{"en":"GDP fell","ko":"GDP 급감"},"kind":"change","severity":"high","priority":4.4,"scope":"country","entity":"KOR","entity_name":"Korea","region":"Asia","period":"2025","title":{"en":"t","ko":"t"},"explanation":{"en":"e","ko":"e"},"evidence":{"metric":"gdp","metric_label":{"en":"GDP","ko":"GDP"},"format":"usd_billions","values":{"change_pct":-6.2,"limit_pct":-5.0,"previous":1800.0,"share_pct":1.7,"value":1712.0},"series":[],"source":null,"run_id":"r1","projection":false,"data_issue_reason":null},"actions":[],"data_issue":false,"auto_resolve":true}"#;
        let alert: crate::alert::Alert = serde_json::from_str(stored).unwrap();
        assert_eq!(alert.kind, "change");
        assert_eq!(alert.evidence.get(Quantity::ChangePct), Some(-6.2));
        assert_eq!(alert.evidence.get(Quantity::Z), None);
        let shown: Vec<_> = alert.evidence.quantities().map(|(q, _)| q).collect();
        assert_eq!(shown[0], Quantity::ChangePct);
        assert_eq!(serde_json::to_string(&alert).unwrap(), stored);
    }
}
