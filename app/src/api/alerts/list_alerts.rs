use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::alerts::{Inbox, InboxFilter};

/// The inbox for `filter`, by priority, with how many alerts each filter value would show.
#[server(input = GetUrl, endpoint = "list_alerts")]
pub async fn list_alerts(filter: InboxFilter) -> Result<Inbox, ApiError> {
    use crate::state::AppState;

    let state = expect_context::<AppState>();
    // "Assigned to me": the signed-in reader's name (nobody's when not signed in).
    let mine = filter
        .mine
        .as_deref()
        .is_some_and(|m| !m.is_empty())
        .then(|| crate::auth::current_viewer().map(|v| v.name));
    // SQLite blocks: keep it off the async worker threads.
    tokio::task::spawn_blocking(move || {
        let region_codes = state.region_codes();
        let filter = filter.with_region_as_stored(&region_codes);
        let store = state
            .alerts()
            .map_err(|e| ApiError::internal("inbox", &e))?;
        let mut all = store
            .list(&engine::state::AlertFilter::everything())
            .map_err(|e| ApiError::internal("inbox", &e))?;
        if let Some(me) = mine {
            all.retain(|r| me.is_some() && r.assignee == me);
        }
        let mut inbox = inbox::build(filter, all);
        inbox.facets = localize_regions(inbox.facets, &region_codes);
        inbox.region_codes = region_codes;
        Ok(inbox)
    })
    .await
    .map_err(|e| ApiError::stopped("inbox", e))?
}

/// The region facet's labels in both languages, by the regions' M49 codes.
#[cfg(feature = "ssr")]
fn localize_regions(
    mut facets: Vec<crate::model::alerts::Facet>,
    codes: &display::names::RegionCodes,
) -> Vec<crate::model::alerts::Facet> {
    use display::names::region_in;
    use display::Lang;
    for facet in facets.iter_mut().filter(|f| f.param == "region") {
        for v in &mut facet.values {
            v.label = display::Text::new(
                region_in(codes, &v.value, Lang::En),
                region_in(codes, &v.value, Lang::Ko),
            );
        }
    }
    facets
}

/// The alerts the inbox shows for `filter` (for "all N matching this filter" of bulk actions),
/// `me` being the signed-in reader for "assigned to me".
#[cfg(feature = "ssr")]
pub fn matching(
    filter: InboxFilter,
    mut all: Vec<display::alert::AlertRecord>,
    me: Option<&str>,
) -> Vec<display::alert::AlertRecord> {
    if filter.mine.as_deref().is_some_and(|m| !m.is_empty()) {
        all.retain(|r| me.is_some() && r.assignee.as_deref() == me);
    }
    inbox::build(filter, all).alerts
}

/// The store's filter for the inbox filter `filter` read by `me` (the signed-in reader, for
/// "assigned to me"): what the inbox shows, in the same order, is what
/// [`engine::state::AlertStore::scan`] walks with it. `None`: the filter selects nothing (an
/// unknown value, or "assigned to me" with nobody signed in).
#[cfg(feature = "ssr")]
pub fn store_filter(filter: &InboxFilter, me: Option<&str>) -> Option<engine::state::AlertFilter> {
    let (mut f, valid) = inbox::to_store(&filter.clone().normalized());
    if !valid {
        return None;
    }
    if filter.mine.as_deref().is_some_and(|m| !m.is_empty()) {
        f.assignee = Some(me?.to_string());
    }
    Some(f)
}

#[cfg(feature = "ssr")]
mod inbox {
    use std::collections::BTreeMap;

    use display::alert::{AlertRecord, Severity, Status};
    use display::Text;
    use engine::state::AlertFilter;

    use crate::model::alerts::{Facet, FacetValue, Inbox, InboxFilter};

    /// The URL's filter as the store's; unknown values select nothing rather than everything.
    pub(super) fn to_store(f: &InboxFilter) -> (AlertFilter, bool) {
        let mut valid = true;
        let statuses = match f.status.as_deref() {
            None | Some("") | Some("active") => Vec::new(),
            Some(list) => {
                // A comma list (`open,snoozed`, `active,resolved`), as the CLI passes it.
                let mut named = Vec::new();
                for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match s {
                        "all" => named.extend(Status::ALL),
                        "active" => named.extend(Status::ALL.iter().filter(|s| s.is_active())),
                        s => match Status::parse(s) {
                            Some(s) => named.push(s),
                            None => valid = false,
                        },
                    }
                }
                Status::ALL
                    .iter()
                    .copied()
                    .filter(|s| named.contains(s))
                    .collect()
            }
        };
        let severity = match f.severity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let parsed = Severity::parse(s);
                valid &= parsed.is_some();
                parsed
            }
        };
        let data_issue = match f.data_issue.as_deref() {
            None | Some("") => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(_) => {
                valid = false;
                None
            }
        };
        let overdue = match f.overdue.as_deref() {
            None | Some("") => None,
            Some("yes") | Some("1") => Some(true),
            Some("no") | Some("0") => Some(false),
            Some(_) => {
                valid = false;
                None
            }
        };
        let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        (
            AlertFilter {
                statuses,
                severity,
                rule_id: text(&f.rule),
                region: text(&f.region),
                owner: text(&f.owner),
                data_issue,
                period: text(&f.period),
                overdue,
                ..AlertFilter::default()
            },
            valid,
        )
    }

    fn count<K: Ord>(
        records: &[AlertRecord],
        filter: &AlertFilter,
        key: impl Fn(&AlertRecord) -> Vec<(K, Text)>,
    ) -> Vec<(K, Text, usize)> {
        let mut counts: BTreeMap<K, (Text, usize)> = BTreeMap::new();
        for r in records.iter().filter(|r| filter.matches(r)) {
            for (k, label) in key(r) {
                counts.entry(k).or_insert((label, 0)).1 += 1;
            }
        }
        counts.into_iter().map(|(k, (l, n))| (k, l, n)).collect()
    }

    fn values(counted: Vec<(String, Text, usize)>) -> Vec<FacetValue> {
        counted
            .into_iter()
            .map(|(value, label, count)| FacetValue {
                value,
                label,
                count,
            })
            .collect()
    }

    pub fn build(filter: InboxFilter, all: Vec<AlertRecord>) -> Inbox {
        let (store_filter, valid) = to_store(&filter);
        let alerts: Vec<AlertRecord> = if valid {
            all.iter()
                .filter(|r| store_filter.matches(r))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        // Each facet counts the alerts the other filters leave, by its own values.
        let without = |clear: fn(&mut AlertFilter)| {
            let mut f = store_filter.clone();
            clear(&mut f);
            f
        };
        let status_f = without(|f| f.statuses = Status::ALL.to_vec());
        let statuses = count(&all, &status_f, |r| {
            vec![(r.status.as_str().to_string(), r.status.label())]
        });
        let mut status_values = vec![FacetValue {
            value: "active".into(),
            label: Text::new(
                "Needs action (open, acknowledged, snoozed)",
                "조치 필요(열림·확인함·보류)",
            ),
            count: all
                .iter()
                .filter(|r| r.status.is_active() && status_f.matches(r))
                .count(),
        }];
        // Statuses in lifecycle order, not alphabetical.
        for s in Status::ALL {
            if let Some((_, label, n)) = statuses.iter().find(|(k, _, _)| k == s.as_str()) {
                status_values.push(FacetValue {
                    value: s.as_str().into(),
                    label: label.clone(),
                    count: *n,
                });
            }
        }
        status_values.push(FacetValue {
            value: "all".into(),
            label: Text::new("All", "전체"),
            count: all.iter().filter(|r| status_f.matches(r)).count(),
        });
        let severities = count(&all, &without(|f| f.severity = None), |r| {
            vec![(r.alert.severity, r.alert.severity.label())]
        });
        let rules = count(&all, &without(|f| f.rule_id = None), |r| {
            vec![(r.alert.rule_id.clone(), r.alert.rule_name.clone())]
        });
        let regions = count(&all, &without(|f| f.region = None), |r| {
            r.alert
                .region
                .iter()
                .map(|g| (g.clone(), Text::new(g.clone(), g.clone())))
                .collect()
        });
        let owners = count(&all, &without(|f| f.owner = None), |r| {
            let mut v: Vec<(String, Text)> = r
                .alert
                .actions
                .iter()
                .map(|a| (a.owner.clone(), a.owner_label.clone()))
                .collect();
            v.dedup_by(|a, b| a.0 == b.0);
            v
        });
        let issues = count(&all, &without(|f| f.data_issue = None), |r| {
            vec![if r.alert.data_issue {
                ("yes".to_string(), Text::new("Data issues", "데이터 문제"))
            } else {
                (
                    "no".to_string(),
                    Text::new("Business alerts", "비즈니스 알림"),
                )
            }]
        });
        let facets = vec![
            Facet {
                param: "status".into(),
                label: Text::new("Status", "상태"),
                values: status_values,
            },
            Facet {
                param: "severity".into(),
                label: Text::new("Severity", "심각도"),
                values: severities
                    .into_iter()
                    .map(|(s, label, count)| FacetValue {
                        value: s.as_str().into(),
                        label,
                        count,
                    })
                    .collect(),
            },
            Facet {
                param: "rule".into(),
                label: Text::new("Rule", "규칙"),
                values: values(rules),
            },
            Facet {
                param: "region".into(),
                label: Text::new("Region", "지역"),
                values: values(regions),
            },
            Facet {
                param: "owner".into(),
                label: Text::new("Owner", "담당"),
                values: values(owners),
            },
            Facet {
                param: "data_issue".into(),
                label: Text::new("Kind", "유형"),
                values: values(issues),
            },
        ];
        Inbox {
            filter,
            alerts,
            facets,
            total: all.len(),
            region_codes: Default::default(),
        }
    }
}
