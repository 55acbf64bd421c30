//! The pipeline: every run with its stages and timings, and for one run (`?run=`, default the one
//! being served) the rows per source, a sample of rejects with their reasons, and the sources with
//! their provenance.

use display::grouped;
use display::schedule::{self, JobView, TickView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::pipeline::get_pipeline;
use crate::auth::current_viewer;
use crate::components::links::href;
use crate::components::links::PublishedAt;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::pipeline::{
    Pipeline, RejectCount, RejectRow, Rejects, RunSummary, SnapshotDetail, SourceProvenance,
    SourceRows, StageState,
};

#[component]
pub fn PipelinePage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let run = move || query.read().get("run");
    let data = Resource::new(run, get_pipeline);
    view! {
        <Title text=t(lang, "Pipeline · Actionboard", "파이프라인 · Actionboard")/>
        <h1>{t(lang, "Pipeline", "파이프라인")}</h1>
        <StartRun started=query.read_untracked().get("started").is_some()/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <PipelineBody data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error reset="/pipeline"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Starting a run from here: a form for admins (checked again by the server, with the CSRF
/// token), a note for everyone else.
#[component]
fn StartRun(started: bool) -> impl IntoView {
    let lang = use_lang();
    let started = started.then(|| {
        view! {
            <p class="notice" role="status" data-testid="run-started">
                {t(lang,
                    "A run has started. Its stages appear below as they complete: reload this page to follow it.",
                    "실행을 시작했습니다. 단계가 끝나는 대로 아래에 나타납니다. 이 페이지를 새로 고쳐 확인하세요.")}
            </p>
        }
    });
    let control = match current_viewer() {
        Some(v) if v.can_start_runs => view! {
            <form class="start-run" method="post" action="/pipeline/runs">
                <input type="hidden" name="csrf" value=v.csrf/>
                <button type="submit">{t(lang, "Start a run now", "지금 실행 시작")}</button>
                <span class="muted">
                    {t(lang,
                        " Extracts every enabled source, validates, transforms and loads; the dashboard keeps serving the current snapshot until the new one is complete.",
                        " 사용 중인 모든 소스를 추출·검증·변환·적재합니다. 새 스냅샷이 완성될 때까지 대시보드는 현재 스냅샷을 계속 보여 줍니다.")}
                </span>
            </form>
        }
        .into_any(),
        Some(_) => view! {
            <p class="muted">{t(lang, "Only admins can start a run.", "관리자만 실행을 시작할 수 있습니다.")}</p>
        }
        .into_any(),
        None => view! {
            <p class="muted">
                <a href="/login?next=/pipeline">{t(lang, "Sign in as an admin", "관리자로 로그인")}</a>
                {t(lang, " to start a run from here.", "하면 여기서 실행을 시작할 수 있습니다.")}
            </p>
        }
        .into_any(),
    };
    view! { {started} {control} }
}

fn state_label(s: StageState, lang: Lang) -> &'static str {
    match s {
        StageState::Complete => t(lang, "complete", "완료"),
        StageState::Failed => t(lang, "failed", "실패"),
        StageState::Incomplete => t(lang, "incomplete", "미완료"),
        StageState::NotStarted => t(lang, "not started", "시작 안 함"),
    }
}

fn state_class(s: StageState) -> &'static str {
    match s {
        StageState::Complete => "badge state-complete",
        StageState::Failed => "badge state-failed",
        StageState::Incomplete => "badge state-incomplete",
        StageState::NotStarted => "badge state-not-started",
    }
}

/// `2026-11-25T12:24:29.222Z` → `2026-11-25 21:24 KST` (the reader's clock).
fn short_time(ts: &str) -> String {
    crate::components::alert_bits::stored_minute(ts)
}

fn ms(ms: u64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} ms", grouped(ms as f64, 0)),
        Lang::Ko => format!("{}ms", grouped(ms as f64, 0)),
    }
}

#[component]
fn PipelineBody(data: Pipeline) -> impl IntoView {
    let lang = use_lang();
    let Pipeline {
        current,
        selected,
        runs,
        snapshot,
        schedule,
    } = data;
    let current_note = match (&current, lang) {
        (Some(r), Lang::En) => format!("Serving the snapshot of run {r}."),
        (Some(r), Lang::Ko) => format!("현재 제공 중인 스냅샷: 실행 {r}"),
        (None, _) => t(
            lang,
            "No snapshot has been published yet.",
            "아직 게시된 스냅샷이 없습니다.",
        )
        .to_string(),
    };
    let selected_run = selected
        .as_ref()
        .and_then(|id| runs.iter().find(|r| &r.run_id == id))
        .cloned();
    view! {
        <p class="current-snapshot" data-testid="current-snapshot">{current_note}</p>
        <ScheduleSection jobs=schedule/>
        <RunsTable runs=runs current=current.clone() selected=selected.clone()/>
        {selected_run.map(|run| view! { <RunDetail run current=current.clone()/> })}
        {match snapshot {
            Some(s) => view! { <SnapshotSections detail=s/> }.into_any(),
            None => view! {
                <section class="panel" aria-labelledby="no-snapshot-title">
                    <h2 id="no-snapshot-title">{t(lang, "Rejected rows and sources", "거부된 행과 소스")}</h2>
                    <p class="muted">{t(lang, "This run has no snapshot: it stopped before loading.", "이 실행에는 스냅샷이 없습니다: 적재 전에 멈췄습니다.")}</p>
                </section>
            }.into_any(),
        }}
    }
    .into_any()
}

/// The scheduled jobs: each with its last ticks (why each ran or not) and the next one, times
/// in the job's zone, named.
#[component]
fn ScheduleSection(jobs: Vec<JobView>) -> impl IntoView {
    let lang = use_lang();
    let label = move |key| schedule::label(lang, key);
    if jobs.is_empty() {
        return view! {
            <section class="panel" aria-labelledby="schedule-title" data-testid="schedule">
                <h2 id="schedule-title">{label("title")}</h2>
                <p class="muted">{label("empty")}</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel" aria-labelledby="schedule-title" data-testid="schedule">
            <h2 id="schedule-title">{label("title")}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="schedule-title">
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">{label("job")}</th>
                            <th scope="col">{label("when")}</th>
                            <th scope="col">{label("last")}</th>
                            <th scope="col">{label("next")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {jobs.into_iter().map(|job| {
                            let kind = label(if job.kind == "digest" { "kind_digest" } else { "kind_pipeline" });
                            let last = job.recent.first().cloned();
                            let earlier: Vec<TickView> = job.recent.iter().skip(1).cloned().collect();
                            view! {
                                <tr data-job=job.id.clone()>
                                    <th scope="row">{job.id.clone()} " " <span class="badge">{kind}</span></th>
                                    <td><code>{job.cron.clone()}</code> " " {job.zone.clone()}</td>
                                    <td data-testid="schedule-last">
                                        {match last {
                                            Some(tick) => view! {
                                                <span class="tick-when">{tick.scheduled_at.clone()}</span> ": "
                                                <span class=format!("tick tick-{}", tick.status.as_str())>{schedule::tick_text(lang, &tick)}</span>
                                            }.into_any(),
                                            None => view! { <span class="muted">{label("none")}</span> }.into_any(),
                                        }}
                                        {(!earlier.is_empty()).then(|| view! {
                                            <ul class="earlier-ticks">
                                                {earlier.into_iter().map(|tick| view! {
                                                    <li>{tick.scheduled_at.clone()} ": " {schedule::tick_text(lang, &tick)}</li>
                                                }).collect_view()}
                                            </ul>
                                        })}
                                    </td>
                                    <td data-testid="schedule-next">{job.next_at.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn RunsTable(
    runs: Vec<RunSummary>,
    current: Option<String>,
    selected: Option<String>,
) -> impl IntoView {
    let lang = use_lang();
    if runs.is_empty() {
        return view! {
            <section class="panel"><p>{t(lang, "No run yet: run `actionboard etl run`.", "아직 실행이 없습니다: `actionboard etl run`을 실행하세요.")}</p></section>
        }
        .into_any();
    }
    view! {
        <section class="panel" aria-labelledby="runs-title">
            <h2 id="runs-title">{t(lang, "Runs", "실행")}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="runs-title">
                <table class="data" data-testid="runs">
                    <caption>{t(lang, "Newest first; each stage with its status and duration", "최신순; 단계별 상태와 소요 시간")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{t(lang, "Run", "실행")}</th>
                            <th scope="col">{t(lang, "Status", "상태")}</th>
                            <th scope="col">{t(lang, "Started", "시작")}</th>
                            <th scope="col">{t(lang, "Extract", "추출")}</th>
                            <th scope="col">{t(lang, "Transform", "변환")}</th>
                            <th scope="col">{t(lang, "Load", "적재")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {runs.into_iter().map(|r| {
                            let state = r.state();
                            let is_current = current.as_deref() == Some(r.run_id.as_str());
                            let is_selected = selected.as_deref() == Some(r.run_id.as_str());
                            let started = r.stages.first().and_then(|s| s.started_at.clone()).map(|s| short_time(&s)).unwrap_or_else(|| "—".into());
                            let link = href("/pipeline", &[("run", Some(r.run_id.clone()))]);
                            view! {
                                <tr data-run=r.run_id.clone() class:selected=is_selected>
                                    <th scope="row">
                                        <a href=link aria-current=is_selected.then_some("true")>{r.run_id.clone()}</a>
                                        {is_current.then(|| view! { " " <span class="badge current">{t(lang, "serving", "제공 중")}</span> })}
                                        {(!is_current && state == StageState::Complete).then(|| {
                                            let as_of = href("/", &[("as_of", Some(r.run_id.clone()))]);
                                            view! { " " <a class="as-of-link" href=as_of data-testid="as-of-link">{t(lang, "view its data", "이 시점 데이터 보기")}</a> }
                                        })}
                                    </th>
                                    <td><span class=state_class(state)>{state_label(state, lang)}</span></td>
                                    <td>{started}</td>
                                    {r.stages.into_iter().map(|s| view! {
                                        <td data-stage=s.stage.clone()>
                                            <span class=state_class(s.state)>{state_label(s.state, lang)}</span>
                                            {s.duration_ms.map(|d| view! { " " <span class="muted">{ms(d, lang)}</span> })}
                                        </td>
                                    }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

fn rate(r: &SourceRows) -> String {
    if r.rows_in == 0 {
        "—".into()
    } else {
        format!(
            "{} %",
            grouped(r.rejected as f64 / r.rows_in as f64 * 100.0, 2)
        )
    }
}

#[component]
fn RunDetail(run: RunSummary, current: Option<String>) -> impl IntoView {
    let lang = use_lang();
    let title = match lang {
        Lang::En => format!("Run {}", run.run_id),
        Lang::Ko => format!("실행 {}", run.run_id),
    };
    let is_current = current.as_deref() == Some(run.run_id.as_str());
    let failures: Vec<_> = run
        .stages
        .iter()
        .filter(|s| s.error.is_some())
        .cloned()
        .collect();
    view! {
        <section class="panel" aria-labelledby="run-title" data-testid="run-detail">
            <h2 id="run-title">{title}{is_current.then(|| t(lang, " (serving)", " (제공 중)"))}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label=t(lang, "Stage timings", "단계별 시간")>
                <table class="data" data-testid="stages">
                    <caption>{t(lang, "Stages: start, end and duration", "단계: 시작, 종료, 소요 시간")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{t(lang, "Stage", "단계")}</th>
                            <th scope="col">{t(lang, "Status", "상태")}</th>
                            <th scope="col">{t(lang, "Started", "시작")}</th>
                            <th scope="col">{t(lang, "Finished", "종료")}</th>
                            <th scope="col" class="num">{t(lang, "Duration", "소요 시간")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {run.stages.into_iter().map(|s| view! {
                            <tr data-stage=s.stage.clone()>
                                <th scope="row">{s.stage.clone()}</th>
                                <td><span class=state_class(s.state)>{state_label(s.state, lang)}</span></td>
                                <td>{s.started_at.map(|x| short_time(&x)).unwrap_or_else(|| "—".into())}</td>
                                <td>{s.finished_at.map(|x| short_time(&x)).unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{s.duration_ms.map(|d| ms(d, lang)).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {failures.into_iter().map(|s| view! {
                <p class="error-text" role="alert">
                    {format!("{} {}: ", s.stage, t(lang, "failed", "실패"))}{s.error.unwrap_or_default()}
                </p>
            }).collect_view()}
            <h3>{t(lang, "Rows per source", "소스별 행 수")}</h3>
            {if run.sources.is_empty() {
                view! { <p class="muted">{t(lang, "The transform did not complete: no counts.", "변환이 완료되지 않아 집계가 없습니다.")}</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label=t(lang, "Rows per source", "소스별 행 수")>
                        <table class="data" data-testid="source-rows">
                            <caption>{t(lang, "From the transform manifest. Missing: empty values, neither stored nor rejected. Rows from config: regions.overrides in config/sources.yml.", "변환 매니페스트 기준. 누락: 빈 값(저장도 거부도 하지 않음). 설정의 행: config/sources.yml의 regions.overrides.")}</caption>
                            <thead>
                                <tr>
                                    <th scope="col">{t(lang, "Source", "소스")}</th>
                                    <th scope="col" class="num">{t(lang, "Rows in", "입력 행")}</th>
                                    <th scope="col" class="num">{t(lang, "Rows out", "출력 행")}</th>
                                    <th scope="col" class="num">{t(lang, "Rejected", "거부")}</th>
                                    <th scope="col" class="num">{t(lang, "Missing", "누락")}</th>
                                    <th scope="col" class="num">{t(lang, "Reject rate", "거부율")}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {run.sources.into_iter().map(|r| {
                                    let rate = rate(&r);
                                    view! {
                                        <tr data-source=r.source_id.clone()>
                                            <th scope="row">{r.source_id.clone()}</th>
                                            <td class="num" data-col="in">{grouped(r.rows_in as f64, 0)}</td>
                                            <td class="num" data-col="out">
                                                {grouped(r.rows_out as f64, 0)}
                                                {(r.added > 0).then(|| view! {
                                                    <span class="muted" data-col="added">
                                                        {match lang {
                                                            Lang::En => format!(" (incl. {} from config)", r.added),
                                                            Lang::Ko => format!(" (설정에서 {}행 포함)", r.added),
                                                        }}
                                                    </span>
                                                })}
                                            </td>
                                            <td class="num" data-col="rejected">{grouped(r.rejected as f64, 0)}</td>
                                            <td class="num" data-col="missing">{grouped(r.missing as f64, 0)}</td>
                                            <td class="num">{rate}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn SnapshotSections(detail: SnapshotDetail) -> impl IntoView {
    let SnapshotDetail { rejects, sources } = detail;
    let Rejects {
        total: rejects_total,
        by_rule: rejects_by_rule,
        sample: rejects_sample,
    } = rejects;
    view! {
        <RejectsSection rejects_total rejects_by_rule rejects_sample/>
        <SourcesSection sources/>
    }
}

#[component]
fn RejectsSection(
    rejects_total: u64,
    rejects_by_rule: Vec<RejectCount>,
    rejects_sample: Vec<RejectRow>,
) -> impl IntoView {
    let lang = use_lang();
    let shown = rejects_sample.len();
    let rejects_note = match lang {
        Lang::En => format!(
            "{} rejected rows; showing {shown}, a few of each reason first.",
            grouped(rejects_total as f64, 0)
        ),
        Lang::Ko => format!(
            "거부된 행 {}개; 사유별로 골고루 {shown}개 표시.",
            grouped(rejects_total as f64, 0)
        ),
    };
    view! {
        <section class="panel" aria-labelledby="rejects-title" data-testid="rejects">
            <h2 id="rejects-title">{t(lang, "Rejected rows", "거부된 행")}</h2>
            {if rejects_total == 0 {
                view! { <p class="muted" data-testid="no-rejects">{t(lang, "No row was rejected in this run.", "이 실행에서 거부된 행이 없습니다.")}</p> }.into_any()
            } else {
                view! {
                    <p class="muted">{rejects_note}</p>
                    <div class="table-scroll" tabindex="0" role="region" aria-label=t(lang, "Rejects by reason", "사유별 거부")>
                        <table class="data" data-testid="rejects-by-rule">
                            <caption>{t(lang, "Rejects by source and check", "소스와 검사별 거부 수")}</caption>
                            <thead><tr>
                                <th scope="col">{t(lang, "Source", "소스")}</th>
                                <th scope="col">{t(lang, "Check", "검사")}</th>
                                <th scope="col" class="num">{t(lang, "Rows", "행 수")}</th>
                            </tr></thead>
                            <tbody>
                                {rejects_by_rule.into_iter().map(|c| view! {
                                    <tr><td>{c.source_id}</td><td>{c.rule}</td><td class="num">{grouped(c.count as f64, 0)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <div class="table-scroll" tabindex="0" role="region" aria-label=t(lang, "Sample of rejected rows", "거부된 행 예시")>
                        <table class="data" data-testid="rejects-sample">
                            <caption>{t(lang, "Sample of rejected rows with the reason", "거부된 행 예시와 사유")}</caption>
                            <thead><tr>
                                <th scope="col">{t(lang, "Source", "소스")}</th>
                                <th scope="col">{t(lang, "File and location", "파일과 위치")}</th>
                                <th scope="col">{t(lang, "Field", "필드")}</th>
                                <th scope="col">{t(lang, "Value", "값")}</th>
                                <th scope="col">{t(lang, "Check", "검사")}</th>
                                <th scope="col">{t(lang, "Reason", "사유")}</th>
                                <th scope="col">{t(lang, "Entity, year", "대상, 연도")}</th>
                            </tr></thead>
                            <tbody>
                                {rejects_sample.into_iter().map(|r| view! {
                                    <tr>
                                        <td>{r.source_id}</td>
                                        <td class="break">{format!("{} · {}", r.file, r.location)}</td>
                                        <td>{r.field}</td>
                                        <td class="break"><code>{r.value}</code></td>
                                        <td>{r.rule}</td>
                                        <td>{r.message}</td>
                                        <td>{format!("{} {}", r.code, r.year.map(|y| y.to_string()).unwrap_or_default()).trim().to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn SourcesSection(sources: Vec<SourceProvenance>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <section class="panel" aria-labelledby="sources-title" data-testid="sources">
            <h2 id="sources-title">{t(lang, "Sources and provenance", "소스와 출처 기록")}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="sources-title">
                <table class="data" data-testid="sources-table">
                    <caption>{t(lang, "Recorded when the bytes were read", "데이터를 읽은 시점에 기록됨")}</caption>
                    <thead><tr>
                        <th scope="col">{t(lang, "Source", "소스")}</th>
                        <th scope="col">{t(lang, "Publisher and licence", "발행처와 라이선스")}</th>
                        <th scope="col">{t(lang, "Edition", "판")}</th>
                        <th scope="col">{t(lang, "Read from", "읽은 곳")}</th>
                        <th scope="col">{t(lang, "Fetched", "가져온 시각")}</th>
                        <th scope="col">{t(lang, "Size and SHA-256", "크기와 SHA-256")}</th>
                    </tr></thead>
                    <tbody>
                        {sources.into_iter().map(|s| {
                            let size = match lang {
                                Lang::En => format!("{} bytes", grouped(s.size_bytes as f64, 0)),
                                Lang::Ko => format!("{}바이트", grouped(s.size_bytes as f64, 0)),
                            };
                            let source_attr = s.source_id.clone();
                            view! {
                                <tr data-source=source_attr>
                                    <th scope="row">{s.title}<br/><span class="muted"><code>{s.source_id}</code>{format!(" · {}", s.kind)}</span></th>
                                    <td>{s.publisher}<br/><span class="muted">{s.licence}</span></td>
                                    <td>{s.edition}</td>
                                    <td class="break">
                                        <span data-col="published-at">
                                            {t(lang, "Published at ", "게시된 곳: ")}
                                            <PublishedAt url=s.url.clone()/>
                                            {s.url.is_none().then(|| t(lang, "(not recorded)", "(기록 없음)"))}
                                        </span>
                                        <br/><span class="badge">{s.read_from.clone()}</span>" "<span data-col="location">{s.location}</span>
                                        <br/><span class="muted">{crate::pages::alert::read_from_note(lang, &s.read_from, s.fallback_reason.as_deref())}</span>
                                    </td>
                                    <td>{short_time(&s.fetched_at)}</td>
                                    <td class="break">{size}<br/><code class="hash">{s.sha256}</code></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
