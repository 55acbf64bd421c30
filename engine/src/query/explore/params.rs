//! The explore page's parameters checked against the snapshot, and what a bad one is told.

use display::explore::{ExploreParams, ExploreQuery, Metric, SortKey};
use display::names::{self, RegionCodes};

/// The longest search text read (a name is far shorter).
pub const MAX_SEARCH_CHARS: usize = 100;

/// The column of [`ExploreRow`] (as named in the query) holding the metric.
pub(super) fn metric_column(metric: Metric) -> &'static str {
    match metric {
        Metric::Gdp => "gdp_usd",
        Metric::GdpPerCapita => "per_capita",
        Metric::Population => "population",
        Metric::GdpChange => "change_pct",
        Metric::Share => "share_pct",
    }
}

/// The minimum as typed by a person (in the unit the form names) in the column's unit.
pub(super) fn minimum_in_column_unit(metric: Metric, typed: f64) -> f64 {
    match metric {
        Metric::Gdp => typed * 1e9,
        Metric::Population => typed * 1e6,
        Metric::GdpPerCapita | Metric::GdpChange | Metric::Share => typed,
    }
}

/// The `ORDER BY` expression of a sortable column.
pub(super) fn sort_column(key: SortKey) -> &'static str {
    match key {
        // Names read as people expect: "Türkiye" among the T's, case ignored.
        SortKey::Name => "name COLLATE noaccent.nocase",
        SortKey::Region => "region COLLATE noaccent.nocase",
        SortKey::Gdp => "gdp_usd",
        SortKey::GdpPerCapita => "per_capita",
        SortKey::Population => "population",
        SortKey::GdpChange => "change_pct",
        SortKey::Share => "share_pct",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("the snapshot has no GDP data for any country")]
    Empty,
    #[error("`{0}` is not a year")]
    BadYear(String),
    #[error("no GDP data for {year}; years with data run from {first} to {last}")]
    NoSuchYear { year: i32, first: i32, last: i32 },
    #[error("no region is called `{0}`")]
    NoSuchRegion(String),
    #[error("`{0}` is not a metric; use one of: {list}", list = metric_list())]
    BadMetric(String),
    #[error("`{0}` is not a number (the minimum is a plain number such as 100 or 2.5)")]
    BadMinimum(String),
    #[error("`{0}` is not a column to sort by; use one of: {list}", list = sort_list())]
    BadSort(String),
    #[error("`{0}` is not a sort direction; use asc or desc")]
    BadDirection(String),
    #[error("`{0}` is not a page number")]
    BadPage(String),
    #[error("the search text is longer than {MAX_SEARCH_CHARS} characters; type part of a country's name or its code")]
    SearchTooLong,
    #[error("page {page} does not exist: the filters match {pages} page(s)")]
    NoSuchPage { page: usize, pages: usize },
    #[error("query failed: {0}")]
    Duckdb(#[from] duckdb::Error),
}

impl ExploreError {
    /// The message for people, in both languages (`Display` is the English one, for logs).
    pub fn text(&self) -> display::Text {
        let ko = match self {
            ExploreError::Empty => "스냅샷에 국가 GDP 데이터가 없습니다".to_string(),
            ExploreError::BadYear(y) => format!("`{y}`은(는) 연도가 아닙니다"),
            ExploreError::NoSuchYear { year, first, last } => {
                format!("{year}년 GDP 데이터가 없습니다. 데이터가 있는 연도: {first}–{last}")
            }
            ExploreError::NoSuchRegion(r) => format!("`{r}` 지역이 없습니다"),
            ExploreError::BadMetric(m) => {
                format!(
                    "`{m}`은(는) 지표가 아닙니다. 다음 중 하나를 쓰세요: {}",
                    metric_list()
                )
            }
            ExploreError::BadMinimum(m) => {
                format!("`{m}`은(는) 숫자가 아닙니다 (최솟값은 100이나 2.5 같은 숫자입니다)")
            }
            ExploreError::BadSort(s) => {
                format!(
                    "`{s}` 열로는 정렬할 수 없습니다. 다음 중 하나를 쓰세요: {}",
                    sort_list()
                )
            }
            ExploreError::BadDirection(d) => {
                format!("`{d}`은(는) 정렬 방향이 아닙니다. asc 또는 desc를 쓰세요")
            }
            ExploreError::BadPage(p) => format!("`{p}`은(는) 페이지 번호가 아닙니다"),
            ExploreError::SearchTooLong => format!(
                "검색어가 {MAX_SEARCH_CHARS}자를 넘습니다. 국가 이름의 일부나 코드를 입력하세요"
            ),
            ExploreError::NoSuchPage { page, pages } => {
                format!("{page} 페이지가 없습니다: 조건에 맞는 페이지는 {pages}개입니다")
            }
            ExploreError::Duckdb(e) => format!("조회 실패: {e}"),
        };
        display::Text::new(self.to_string(), ko)
    }
}

pub(super) fn metric_list() -> String {
    Metric::ALL.map(Metric::id).join(", ")
}

pub(super) fn sort_list() -> String {
    SortKey::ALL.map(SortKey::id).join(", ")
}

/// An empty or blank URL parameter counts as absent (a GET form sends `min=` when left empty).
pub(super) fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks `params` against the snapshot: the years and regions it has.
/// `default_year` is the year shown without `year=` (the latest complete period), else the
/// latest year.
pub fn check_params(
    params: &ExploreParams,
    years: &[i32],
    default_year: Option<i32>,
    regions: &[String],
    region_codes: &RegionCodes,
) -> Result<ExploreQuery, ExploreError> {
    let (Some(&last), Some(&first)) = (years.first(), years.last()) else {
        return Err(ExploreError::Empty);
    };
    let year = match given(&params.year) {
        None => default_year.filter(|y| years.contains(y)).unwrap_or(last),
        Some(y) => {
            let year: i32 = y.parse().map_err(|_| ExploreError::BadYear(y.into()))?;
            if !years.contains(&year) {
                return Err(ExploreError::NoSuchYear { year, first, last });
            }
            year
        }
    };
    let region = match given(&params.region) {
        None => None,
        Some(r) if regions.iter().any(|known| known == r) => Some(r.to_string()),
        // A region typed in Korean (or another case) is the same filter.
        Some(r) => match names::region_from_either(region_codes, r) {
            Some(en) if regions.iter().any(|known| known == en) => Some(en.to_string()),
            _ => return Err(ExploreError::NoSuchRegion(r.into())),
        },
    };
    let q = match given(&params.q) {
        Some(q) if q.chars().count() > MAX_SEARCH_CHARS => return Err(ExploreError::SearchTooLong),
        q => q.map(str::to_string),
    };
    let metric = match given(&params.metric) {
        None => Metric::Gdp,
        Some(m) => Metric::parse(m).ok_or_else(|| ExploreError::BadMetric(m.into()))?,
    };
    let min = match given(&params.min) {
        None => None,
        Some(m) => Some(
            m.replace(',', "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ExploreError::BadMinimum(m.into()))?,
        ),
    };
    let sort = match given(&params.sort) {
        None => SortKey::of_metric(metric),
        Some(s) => SortKey::parse(s).ok_or_else(|| ExploreError::BadSort(s.into()))?,
    };
    let descending = match given(&params.dir) {
        None => sort.default_descending(),
        Some("desc") => true,
        Some("asc") => false,
        Some(d) => return Err(ExploreError::BadDirection(d.into())),
    };
    let page = match given(&params.page) {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ExploreError::BadPage(p.into()))?,
    };
    Ok(ExploreQuery {
        year,
        region,
        metric,
        min,
        sort,
        descending,
        page,
        q,
    })
}
