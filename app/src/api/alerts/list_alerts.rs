use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::alerts::{Inbox, InboxFilter};

/// Cards on a page of the inbox.
pub const INBOX_PAGE_SIZE: usize = 50;

/// Whether the inbox groups the alerts of one entity and period into one card when the URL does
/// not say (`group=entity` or `group=none`): on, so the signals of one country and period are one
/// card; `group=none` shows one card per alert.
pub const GROUP_BY_DEFAULT: bool = true;

/// A page of the inbox for `filter` (`page` 1 is the first), by priority, with how many alerts
/// each filter value would show: every count by the database, only the page's alerts read.
#[server(input = GetUrl, endpoint = "list_alerts")]
pub async fn list_alerts(
    filter: InboxFilter,
    #[server(default)] page: Option<String>,
    #[server(default)] group: Option<String>,
) -> Result<Inbox, ApiError> {
    use crate::state::AppState;

    let state = expect_context::<AppState>();
    // "Assigned to me": the signed-in reader's name (nobody's when not signed in).
    let me = filter
        .mine
        .as_deref()
        .is_some_and(|m| !m.is_empty())
        .then(|| crate::auth::current_viewer().map(|v| v.name))
        .flatten();
    let page = inbox::page_number(page.as_deref())?;
    let grouped = inbox::grouped(group.as_deref())?;
    // SQLite blocks: keep it off the async worker threads.
    tokio::task::spawn_blocking(move || {
        let region_codes = state.region_codes();
        let filter = filter.with_region_as_stored(&region_codes);
        let store = state
            .alerts()
            .map_err(|e| ApiError::internal("inbox", &e))?;
        let mut inbox = inbox::build(&store, filter, me.as_deref(), page, grouped)
            .map_err(|e| ApiError::internal("inbox", &e))?;
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

/// A list's `page` parameter (the inbox's, the deliveries'): 1 when absent.
#[cfg(feature = "ssr")]
pub use inbox::page_number;

#[cfg(feature = "ssr")]
mod inbox {
    use display::alert::{Severity, Status};
    use display::Text;
    use engine::state::{AlertFilter, AlertStore, FacetColumn, FacetCount, StateError};

    use crate::api::error::ApiError;
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

    /// The page number of the URL (`None`: the first); anything else than a whole number from 1
    /// is refused with what to send.
    pub fn page_number(text: Option<&str>) -> Result<usize, ApiError> {
        match text.filter(|t| !t.is_empty()) {
            None => Ok(1),
            Some(t) => t.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "`page` must be a whole number from 1, not `{t}` / `page`는 1 이상의 정수여야 합니다"
                ))
            }),
        }
    }

    /// Whether the inbox groups alerts: `group=entity` yes, `group=none` no, else
    /// [`GROUP_BY_DEFAULT`](super::GROUP_BY_DEFAULT).
    pub fn grouped(text: Option<&str>) -> Result<bool, ApiError> {
        match text.filter(|t| !t.is_empty()) {
            None => Ok(super::GROUP_BY_DEFAULT),
            Some("entity") => Ok(true),
            Some("none") => Ok(false),
            Some(t) => Err(ApiError::BadRequest(format!(
                "`group` is `entity` (alerts of one country and period together) or `none` (one card per alert), not `{t}` / `group`은 `entity` 또는 `none`이어야 합니다"
            ))),
        }
    }

    fn values(counted: Vec<FacetCount>, label: impl Fn(&str) -> Text) -> Vec<FacetValue> {
        counted
            .into_iter()
            .map(|c| FacetValue {
                label: c.label.unwrap_or_else(|| label(&c.value)),
                value: c.value,
                count: c.count,
            })
            .collect()
    }

    /// The page `page` of the inbox for `filter` read by `me`: the facets each count the alerts
    /// the other filters leave, by their own values, in SQL; only the page's alerts are read.
    pub fn build(
        store: &AlertStore,
        filter: InboxFilter,
        me: Option<&str>,
        page: usize,
        grouped: bool,
    ) -> Result<Inbox, StateError> {
        let store_filter = super::store_filter(&filter, me).unwrap_or_else(AlertFilter::nothing);
        let store_filter = AlertFilter {
            as_of: Some(chrono::Utc::now()),
            ..store_filter
        };
        let without = |clear: fn(&mut AlertFilter)| {
            let mut f = store_filter.clone();
            clear(&mut f);
            f
        };
        let status_f = without(|f| f.statuses = Status::ALL.to_vec());
        let statuses = store.count_by(&status_f, FacetColumn::Status)?;
        let count_of = |s: Status| {
            statuses
                .iter()
                .find(|c| c.value == s.as_str())
                .map_or(0, |c| c.count)
        };
        let mut status_values = vec![FacetValue {
            value: "active".into(),
            label: Text::new(
                "Needs action (open, acknowledged, snoozed)",
                "조치 필요(열림·확인함·보류)",
            ),
            count: Status::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .map(count_of)
                .sum(),
        }];
        // Statuses in lifecycle order, not alphabetical.
        for s in Status::ALL {
            let n = count_of(s);
            if n > 0 {
                status_values.push(FacetValue {
                    value: s.as_str().into(),
                    label: s.label(),
                    count: n,
                });
            }
        }
        status_values.push(FacetValue {
            value: "all".into(),
            label: Text::new("All", "전체"),
            count: statuses.iter().map(|c| c.count).sum(),
        });
        // Severities from the most urgent.
        let severities = store.count_by(&without(|f| f.severity = None), FacetColumn::Severity)?;
        let severity_values = Severity::ALL
            .into_iter()
            .filter_map(|s| {
                let c = severities.iter().find(|c| c.value == s.as_str())?;
                Some(FacetValue {
                    value: s.as_str().into(),
                    label: s.label(),
                    count: c.count,
                })
            })
            .collect();
        let rules = store.count_by(&without(|f| f.rule_id = None), FacetColumn::Rule)?;
        let regions = store.count_by(&without(|f| f.region = None), FacetColumn::Region)?;
        let owners = store.count_by(&without(|f| f.owner = None), FacetColumn::Owner)?;
        let issues = store.count_by(&without(|f| f.data_issue = None), FacetColumn::DataIssue)?;
        let issue_values = issues
            .into_iter()
            .rev()
            .map(|c| {
                let yes = c.value == "1";
                FacetValue {
                    value: if yes { "yes" } else { "no" }.into(),
                    label: if yes {
                        Text::new("Data issues", "데이터 문제")
                    } else {
                        Text::new("Business alerts", "비즈니스 알림")
                    },
                    count: c.count,
                }
            })
            .collect();
        let facets = vec![
            Facet {
                param: "status".into(),
                label: Text::new("Status", "상태"),
                values: status_values,
            },
            Facet {
                param: "severity".into(),
                label: Text::new("Severity", "심각도"),
                values: severity_values,
            },
            Facet {
                param: "rule".into(),
                label: Text::new("Rule", "규칙"),
                values: values(rules, |v| Text::new(v, v)),
            },
            Facet {
                param: "region".into(),
                label: Text::new("Region", "지역"),
                values: values(regions, |v| Text::new(v, v)),
            },
            Facet {
                param: "owner".into(),
                label: Text::new("Owner", "담당"),
                values: values(owners, |v| Text::new(v, v)),
            },
            Facet {
                param: "data_issue".into(),
                label: Text::new("Kind", "유형"),
                values: issue_values,
            },
        ];
        let matching = store.count(&store_filter)?;
        let offset = (page - 1).saturating_mul(super::INBOX_PAGE_SIZE);
        let (groups, cards) = if grouped {
            let groups = store.groups_at(&store_filter, offset, super::INBOX_PAGE_SIZE)?;
            (
                groups.into_iter().map(|g| g.alerts).collect(),
                store.count_groups(&store_filter)?,
            )
        } else {
            let alerts = store.page_at(&store_filter, offset, super::INBOX_PAGE_SIZE)?;
            (alerts.into_iter().map(|a| vec![a]).collect(), matching)
        };
        let total = store.counts_by_status()?.into_iter().map(|(_, n)| n).sum();
        Ok(Inbox {
            filter,
            groups,
            grouped,
            cards,
            facets,
            total,
            matching,
            page,
            page_size: super::INBOX_PAGE_SIZE,
            region_codes: Default::default(),
        })
    }
}
