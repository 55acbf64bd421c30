//! A trend chart drawn as SVG on the server: readable without JavaScript. Actual figures are a
//! solid line with filled points; projections a dashed line with hollow points, and the legend
//! says so in words, so colour is never the only signal. Each point carries its figure, source
//! and run in a `<title>` (shown on hover); the page also lists the figures in a table for
//! keyboard and screen-reader users (the SVG itself is one image to them).

use display::{grouped, Format};
use leptos::prelude::*;

use crate::i18n::{t, use_lang, Lang};

/// One point of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    pub year: i32,
    pub value: f64,
    pub projection: bool,
    /// The hover text: figure, source, run.
    pub label: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// Maps years and values into the drawing area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub first_year: i32,
    pub last_year: i32,
    pub low: f64,
    pub high: f64,
    /// Low values at the top (ranks: 1 is best).
    pub invert: bool,
}

/// At most this many value labels on an axis; generation never loops past it.
pub const MAX_TICKS: usize = 10;
/// At most this many year labels.
pub const MAX_YEAR_TICKS: usize = 12;

impl Scale {
    /// The range of `points` (non-finite values are left out): from 0 (or 1 for ranks) to a
    /// round number above the largest, so bars of different countries are not exaggerated by a
    /// cut axis; below 0 only when a value is negative.
    pub fn of(points: &[ChartPoint], invert: bool) -> Option<Scale> {
        let finite = || points.iter().filter(|p| p.value.is_finite());
        let first_year = finite().map(|p| p.year).min()?;
        let last_year = finite().map(|p| p.year).max()?;
        // Beyond ±1e300 the span itself would overflow; such a point is drawn at the edge.
        const LIMIT: f64 = 1e300;
        let max = finite()
            .map(|p| p.value.clamp(-LIMIT, LIMIT))
            .fold(f64::NEG_INFINITY, f64::max);
        let min = finite()
            .map(|p| p.value.clamp(-LIMIT, LIMIT))
            .fold(f64::INFINITY, f64::min);
        let low = if invert {
            1.0
        } else if min < 0.0 {
            -nice_ceiling(-min)
        } else {
            0.0
        };
        let high = if invert {
            // Ranks are whole places: at least 1–5, so one rank never fills the axis.
            nice_ceiling(max.max(low + 4.0))
        } else {
            // A span of at least 1 (and, far from zero, one that floats can still tell apart).
            low + nice_ceiling((max - low).max(1.0).max(low.abs() * 1e-6))
        };
        if !(low.is_finite() && high.is_finite() && high > low) {
            return None;
        }
        Some(Scale {
            first_year,
            last_year,
            low,
            high,
            invert,
        })
    }

    pub fn x(&self, year: i32) -> f64 {
        let at = if self.first_year == self.last_year {
            0.5
        } else {
            // In f64: the span of two i32 years may not fit an i32.
            (f64::from(year) - f64::from(self.first_year))
                / (f64::from(self.last_year) - f64::from(self.first_year))
        };
        LEFT + at.clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    pub fn y(&self, value: f64) -> f64 {
        let frac = ((value - self.low) / (self.high - self.low)).clamp(0.0, 1.0);
        let frac = if frac.is_nan() { 0.0 } else { frac };
        let frac = if self.invert { 1.0 - frac } else { frac };
        TOP + (1.0 - frac) * (HEIGHT - TOP - BOTTOM)
    }

    /// Two to [`MAX_TICKS`] round values from `low` to `high`, sorted. The count is computed
    /// first and the values from their index, so no float comparison decides when to stop.
    pub fn ticks(&self) -> Vec<f64> {
        let span = self.high - self.low;
        if !(span.is_finite() && span > 0.0) {
            return vec![self.low, self.low + 1.0];
        }
        let mut step = nice_ceiling(span / 4.0);
        if self.invert {
            // Whole places only.
            step = step.max(1.0).round();
        }
        // A nice step of at least a quarter of the span gives at most five values; the cap only
        // guards against a step that rounding made too small.
        let count = ((span / step).floor().max(0.0) as usize).min(MAX_TICKS - 1) + 1;
        let mut out: Vec<f64> = if self.invert && self.low == 1.0 && step > 1.0 {
            // Rank 1, then round places: 1, 5, 10, … rather than 1, 6, 11, …
            std::iter::once(1.0)
                .chain((1..count).map(|i| i as f64 * step))
                .filter(|v| *v <= self.high)
                .collect()
        } else {
            (0..count).map(|i| self.low + i as f64 * step).collect()
        };
        if out.len() < 2 {
            out.push(self.high);
        }
        out.dedup();
        out
    }

    /// Years to label: the first, the last, and at most [`MAX_YEAR_TICKS`] round decades between
    /// (not too close to either).
    pub fn year_ticks(&self) -> Vec<i32> {
        let span = i64::from(self.last_year) - i64::from(self.first_year);
        let mut step: i64 = if span > 40 {
            20
        } else if span > 12 {
            10
        } else if span > 5 {
            2
        } else {
            1
        };
        while span / step > MAX_YEAR_TICKS as i64 {
            step *= 10;
        }
        let first = i64::from(self.first_year);
        let last = i64::from(self.last_year);
        // Not within 60 % of a step of an end label: they would touch on a phone.
        let clear = step * 3 / 5;
        let mut out = vec![self.first_year];
        out.extend(
            (1..=MAX_YEAR_TICKS as i64)
                .map(|i| (first.div_euclid(step) + i) * step)
                .filter(|y| *y < last && y - first >= clear && last - y >= clear)
                .filter_map(|y| i32::try_from(y).ok()),
        );
        if self.last_year != self.first_year {
            out.push(self.last_year);
        }
        out
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `v`.
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let exp = v.log10().floor();
    let base = 10f64.powf(exp);
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        let nice = m * base;
        if nice >= v * (1.0 - 1e-12) {
            // Near f64::MAX the round number would overflow: the value itself is the ceiling.
            return if nice.is_finite() { nice } else { v };
        }
    }
    v
}

/// Axis labels are short; the unit is in the chart's heading.
fn axis_label(format: Format, v: f64) -> String {
    match format {
        Format::UsdBillions => grouped(v / 1e9, 0),
        _ => grouped(v, 0),
    }
}

/// Runs of consecutive years: a missing year breaks the line (missing data is not a fall).
fn segments(points: &[&ChartPoint]) -> Vec<Vec<(i32, f64)>> {
    let mut out: Vec<Vec<(i32, f64)>> = Vec::new();
    for p in points {
        match out.last_mut() {
            Some(seg) if seg.last().is_some_and(|(y, _)| p.year == y + 1) => {
                seg.push((p.year, p.value))
            }
            _ => out.push(vec![(p.year, p.value)]),
        }
    }
    out
}

fn polyline(scale: &Scale, seg: &[(i32, f64)]) -> String {
    seg.iter()
        .map(|(y, v)| format!("{:.1},{:.1}", scale.x(*y), scale.y(*v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The legend's words for the dashed points of a series whose last periods are partial.
pub fn provisional_legend_text(lang: Lang) -> &'static str {
    t(
        lang,
        "Provisional (a year not every country has reported): dashed line, hollow points",
        "잠정치(모든 국가가 보고하지 않은 해): 점선, 속이 빈 점",
    )
}

/// The chart legend's words for the two kinds of point.
pub fn legend_text(lang: Lang, projection: bool) -> &'static str {
    if projection {
        t(
            lang,
            "Projection: dashed line, hollow points",
            "전망치: 점선, 속이 빈 점",
        )
    } else {
        t(
            lang,
            "Actual: solid line, filled points",
            "실적치: 실선, 속이 찬 점",
        )
    }
}

#[component]
pub fn TrendChart(
    /// Unique on the page: ids of the title and description.
    id: &'static str,
    /// The chart's heading (with the unit).
    title: String,
    points: Vec<ChartPoint>,
    format: Format,
    /// Smaller values at the top (ranks).
    #[prop(optional)]
    invert: bool,
    /// Years to draw larger, with a legend entry (e.g. the periods an alert compared).
    #[prop(optional)]
    marked: Vec<i32>,
    /// The dashed points are provisional figures (partial years), not projections.
    #[prop(optional)]
    provisional: bool,
) -> impl IntoView {
    let lang = use_lang();
    // A figure that is not a number cannot be drawn (or described).
    let points: Vec<ChartPoint> = points.into_iter().filter(|p| p.value.is_finite()).collect();
    let Some(scale) = Scale::of(&points, invert) else {
        return view! {
            <p class="muted" data-testid=format!("{id}-empty")>
                {t(lang, "No figures for this series.", "이 계열에는 수치가 없습니다.")}
            </p>
        }
        .into_any();
    };
    let actual: Vec<&ChartPoint> = points.iter().filter(|p| !p.projection).collect();
    let projected: Vec<&ChartPoint> = points.iter().filter(|p| p.projection).collect();
    let has_projection = !projected.is_empty();
    let actual_lines: Vec<String> = segments(&actual)
        .iter()
        .map(|s| polyline(&scale, s))
        .collect();
    // The dashed line starts at the last actual point so the two read as one series.
    let projection_line = has_projection.then(|| {
        let mut seg: Vec<(i32, f64)> = actual
            .iter()
            .filter(|p| p.year < projected[0].year)
            .max_by_key(|p| p.year)
            .map(|p| vec![(p.year, p.value)])
            .unwrap_or_default();
        seg.extend(projected.iter().map(|p| (p.year, p.value)));
        polyline(&scale, &seg)
    });
    let description = {
        let first = &points[0];
        let last = &points[points.len() - 1];
        format!(
            "{}–{}: {} → {}",
            first.year,
            last.year,
            display::value(format, first.value, lang),
            display::value(format, last.value, lang)
        )
    };
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    let y_ticks = scale.ticks();
    let x_ticks = scale.year_ticks();
    let baseline = HEIGHT - BOTTOM;

    view! {
        <figure class="chart" data-testid=id>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-labelledby=labelled_by
                preserveAspectRatio="xMidYMid meet"
            >
                <title id=title_id>{title}</title>
                <desc id=desc_id>{description}</desc>
                <g class="axis">
                    {y_ticks
                        .into_iter()
                        .map(|v| {
                            let y = format!("{:.1}", scale.y(v));
                            view! {
                                <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=y.clone() y2=y.clone()></line>
                                <text x=LEFT - 6.0 y=y text-anchor="end" dominant-baseline="middle">
                                    {axis_label(format, v)}
                                </text>
                            }
                        })
                        .collect_view()}
                    {x_ticks
                        .into_iter()
                        .map(|year| {
                            // The end labels stay inside the drawing and clear of the value axis.
                            let anchor = if year == scale.first_year && scale.first_year != scale.last_year {
                                "start"
                            } else if year == scale.last_year && scale.first_year != scale.last_year {
                                "end"
                            } else {
                                "middle"
                            };
                            view! {
                                <text x=format!("{:.1}", scale.x(year)) y=baseline + 18.0 text-anchor=anchor>
                                    {year}
                                </text>
                            }
                        })
                        .collect_view()}
                    <line class="baseline" x1=LEFT x2=WIDTH - RIGHT y1=baseline y2=baseline></line>
                </g>
                {actual_lines
                    .into_iter()
                    .map(|pts| view! { <polyline class="line actual" points=pts></polyline> })
                    .collect_view()}
                {projection_line
                    .map(|pts| {
                        view! { <polyline class="line projection" points=pts stroke-dasharray="6 4"></polyline> }
                    })}
                {points
                    .iter()
                    .map(|p| {
                        let cx = format!("{:.1}", scale.x(p.year));
                        let cy = format!("{:.1}", scale.y(p.value));
                        let class = match (p.projection, marked.contains(&p.year)) {
                            (false, false) => "point actual",
                            (false, true) => "point actual marked",
                            (true, false) => "point projection",
                            (true, true) => "point projection marked",
                        };
                        let r = if marked.contains(&p.year) { "6" } else { "3.5" };
                        view! {
                            <g class=class data-year=p.year>
                                <title>{p.label.clone()}</title>
                                <circle class="hit" cx=cx.clone() cy=cy.clone() r="7"></circle>
                                <circle class="dot" cx=cx cy=cy r=r></circle>
                            </g>
                        }
                    })
                    .collect_view()}
            </svg>
            <figcaption class="legend">
                <span class="legend-item">
                    <svg class="legend-mark" viewBox="0 0 28 10" aria-hidden="true">
                        <line class="line actual" x1="0" x2="28" y1="5" y2="5"></line>
                        <circle class="dot-actual" cx="14" cy="5" r="3.5"></circle>
                    </svg>
                    {legend_text(lang, false)}
                </span>
                {has_projection
                    .then(|| {
                        view! {
                            <span class="legend-item">
                                <svg class="legend-mark" viewBox="0 0 28 10" aria-hidden="true">
                                    <line class="line projection" x1="0" x2="28" y1="5" y2="5" stroke-dasharray="6 4"></line>
                                    <circle class="dot-projection" cx="14" cy="5" r="3.5"></circle>
                                </svg>
                                {if provisional { provisional_legend_text(lang) } else { legend_text(lang, true) }}
                            </span>
                        }
                    })}
                {(!marked.is_empty())
                    .then(|| {
                        view! {
                            <span class="legend-item">
                                <svg class="legend-mark" viewBox="0 0 28 10" aria-hidden="true">
                                    <circle class="dot-marked" cx="14" cy="5" r="5"></circle>
                                </svg>
                                {t(lang, "Large points: the years the rule compared", "큰 점: 규칙이 비교한 해")}
                            </span>
                        }
                    })}
            </figcaption>
        </figure>
    }
    .into_any()
}

/// One bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

const BAR_HEIGHT: f64 = 22.0;
const BAR_GAP: f64 = 8.0;
const BAR_LABEL_WIDTH: f64 = 200.0;
const BAR_VALUE_WIDTH: f64 = 90.0;
/// At most this many bars are drawn (regions are a handful).
pub const MAX_BARS: usize = 40;

/// Horizontal bars drawn as SVG on the server, from 0, largest first as given. Each bar has
/// its label and figure written beside it, and the image's description lists them all, so the
/// picture says nothing the text does not.
#[component]
pub fn BarChart(
    /// Unique on the page: ids of the title and description.
    id: &'static str,
    /// The chart's heading (with the unit).
    title: String,
    bars: Vec<Bar>,
    format: Format,
) -> impl IntoView {
    let lang = use_lang();
    let bars: Vec<Bar> = bars
        .into_iter()
        .filter(|b| b.value.is_finite() && b.value >= 0.0)
        .take(MAX_BARS)
        .collect();
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    if bars.is_empty() || max <= 0.0 {
        return view! {
            <p class="muted" data-testid=format!("{id}-empty")>
                {t(lang, "No figures for this chart.", "이 차트에는 수치가 없습니다.")}
            </p>
        }
        .into_any();
    }
    let high = nice_ceiling(max);
    let plot = WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_WIDTH;
    let height = TOP + bars.len() as f64 * (BAR_HEIGHT + BAR_GAP);
    let description = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, display::value(format, b.value, lang)))
        .collect::<Vec<_>>()
        .join("; ");
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    view! {
        <figure class="chart bar-chart" data-testid=id>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-labelledby=labelled_by
                preserveAspectRatio="xMidYMid meet">
                <title id=title_id>{title}</title>
                <desc id=desc_id>{description}</desc>
                {bars.into_iter().enumerate().map(|(i, b)| {
                    let y = TOP + i as f64 * (BAR_HEIGHT + BAR_GAP);
                    let w = (b.value / high * plot).max(1.0);
                    let mid = format!("{:.1}", y + BAR_HEIGHT / 2.0);
                    view! {
                        <g class="bar" data-value=b.value.to_string()>
                            <title>{format!("{}: {}", b.label, display::value(format, b.value, lang))}</title>
                            <text x=BAR_LABEL_WIDTH - 8.0 y=mid.clone() text-anchor="end" dominant-baseline="middle">{b.label.clone()}</text>
                            <rect x=BAR_LABEL_WIDTH y=format!("{y:.1}") width=format!("{w:.1}") height=BAR_HEIGHT></rect>
                            <text x=format!("{:.1}", BAR_LABEL_WIDTH + w + 6.0) y=mid dominant-baseline="middle">
                                {display::value(format, b.value, lang)}
                            </text>
                        </g>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(year: i32, value: f64, projection: bool) -> ChartPoint {
        ChartPoint {
            year,
            value,
            projection,
            label: String::new(),
        }
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(1712.0), 2000.0);
        assert_eq!(nice_ceiling(2400.0), 2500.0);
        assert_eq!(nice_ceiling(3.1e13), 5e13);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn scales_map_into_the_plot_and_invert_ranks() {
        let pts = [pt(2000, 10.0, false), pt(2010, 40.0, false)];
        let s = Scale::of(&pts, false).unwrap();
        assert_eq!((s.low, s.high), (0.0, 50.0));
        assert_eq!(s.x(2000), LEFT);
        assert_eq!(s.x(2010), WIDTH - RIGHT);
        assert_eq!(s.y(0.0), HEIGHT - BOTTOM);
        assert_eq!(s.y(50.0), TOP);
        assert_eq!(s.ticks(), vec![0.0, 20.0, 40.0]);
        let r = Scale::of(&pts, true).unwrap();
        assert_eq!(r.y(1.0), TOP, "rank 1 at the top");
        assert!(r.y(40.0) > r.y(10.0));
        assert_eq!(r.ticks()[0], 1.0);
        assert!(Scale::of(&[], false).is_none());
    }

    /// The regression that took the server down: a country always ranked first.
    #[test]
    fn a_constant_rank_series_has_few_ticks() {
        let pts: Vec<ChartPoint> = (1960..2026).map(|y| pt(y, 1.0, false)).collect();
        let s = Scale::of(&pts, true).unwrap();
        assert_eq!(s.ticks(), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let pts = [pt(2000, 3.0, false), pt(2001, 4.0, false)];
        let ticks = Scale::of(&pts, true).unwrap().ticks();
        assert!(ticks.len() >= 2 && ticks.len() <= MAX_TICKS, "{ticks:?}");
    }

    #[test]
    fn negative_values_get_an_axis_below_zero() {
        let pts = [pt(2000, -30.0, false), pt(2001, 12.0, false)];
        let s = Scale::of(&pts, false).unwrap();
        assert!(s.low <= -30.0 && s.high >= 12.0, "{s:?}");
        assert!(s.ticks().contains(&0.0) || s.ticks()[0] < 0.0);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                4 => -1e15f64..1e15,
                1 => -1e-9f64..1e-9,
                1 => Just(0.0),
                1 => Just(1.0),
                1 => Just(f64::NAN),
                1 => Just(f64::INFINITY),
                1 => Just(f64::NEG_INFINITY),
                1 => Just(f64::MAX),
                1 => Just(-f64::MAX),
                1 => Just(f64::MIN_POSITIVE),
                1 => 1.0f64..300.0,
            ]
        }

        fn series() -> impl Strategy<Value = Vec<ChartPoint>> {
            prop_oneof![
                // Any values over any years (gaps, duplicates, unsorted).
                prop::collection::vec((-3000i32..3000, value(), any::<bool>()), 0..40),
                // A constant series.
                (value(), 1usize..70, -3000i32..3000).prop_map(|(v, n, from)| {
                    (0..n).map(|i| (from + i as i32, v, false)).collect()
                }),
                // Extreme years.
                prop::collection::vec((any::<i32>(), value(), any::<bool>()), 1..5),
            ]
            .prop_map(|pts| {
                pts.into_iter()
                    .map(|(year, value, projection)| ChartPoint {
                        year,
                        value,
                        projection,
                        label: String::new(),
                    })
                    .collect()
            })
        }

        proptest! {
            #[test]
            fn ticks_are_few_finite_and_sorted(points in series(), invert in any::<bool>()) {
                let Some(scale) = Scale::of(&points, invert) else {
                    // Only when no value is finite.
                    prop_assert!(points.iter().all(|p| !p.value.is_finite()));
                    return Ok(());
                };
                prop_assert!(scale.low.is_finite() && scale.high.is_finite() && scale.high > scale.low);
                let ticks = scale.ticks();
                prop_assert!((2..=MAX_TICKS).contains(&ticks.len()), "{:?} {:?}", scale, ticks);
                prop_assert!(ticks.iter().all(|t| t.is_finite()));
                prop_assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{:?}", ticks);
                for p in &points {
                    let (x, y) = (scale.x(p.year), scale.y(p.value));
                    prop_assert!(x.is_finite() && (LEFT..=WIDTH - RIGHT).contains(&x));
                    prop_assert!(y.is_finite() && (TOP..=HEIGHT - BOTTOM).contains(&y));
                }
                let years = scale.year_ticks();
                prop_assert!(!years.is_empty() && years.len() <= MAX_YEAR_TICKS + 2);
                prop_assert!(years.windows(2).all(|w| w[0] < w[1]), "{:?}", years);
            }

            #[test]
            fn nice_ceilings_are_at_or_above(v in value()) {
                let c = nice_ceiling(v);
                prop_assert!(c.is_finite() && c > 0.0);
                if v.is_finite() && v > 0.0 {
                    prop_assert!(c >= v * (1.0 - 1e-9));
                }
            }
        }
    }

    #[test]
    fn year_ticks_and_gaps() {
        let pts = [pt(1960, 1.0, false), pt(2025, 2.0, false)];
        let s = Scale::of(&pts, false).unwrap();
        assert_eq!(s.year_ticks(), vec![1960, 1980, 2000, 2025]);
        let s = Scale::of(&[pt(1960, 1.0, false), pt(2031, 2.0, true)], false).unwrap();
        assert_eq!(s.year_ticks(), vec![1960, 1980, 2000, 2031]);
        let series = [
            pt(2000, 1.0, false),
            pt(2001, 1.0, false),
            pt(2003, 1.0, false),
        ];
        let refs: Vec<&ChartPoint> = series.iter().collect();
        assert_eq!(segments(&refs).len(), 2, "a missing year breaks the line");
    }
}
