//! The XLSX export: sheet "Actions" (frozen, styled header, widths, autofilter, numbers as
//! numbers, dates as dates, the alert's link as a hyperlink), "History" (the audit trail) and
//! "About" (when, by whom, the filters, the snapshot, each source's edition and sha256). Every
//! sheet is in rust_xlsxwriter's constant-memory mode: a row is written out as soon as the next
//! one starts.

use std::path::Path;

use rust_xlsxwriter::{Color, Format as XFormat, FormatBorder, Url, Workbook, XlsxError};

use super::{
    history_row, walk, About, Cell, ExportError, Options, Summary, COLUMNS, HISTORY_COLUMNS,
};
use crate::state::AlertFilter;
use crate::state::AlertStore;

/// Excel keeps at most this many hyperlinks on a sheet; later rows get the address as text.
const MAX_LINKS: u64 = 65_530;
/// Excel's longest text in a cell.
const MAX_TEXT: usize = 32_767;

const ACTIONS: usize = 0;
const HISTORY: usize = 1;
const ABOUT: usize = 2;

fn x(e: XlsxError) -> ExportError {
    ExportError::Xlsx(e.to_string())
}

/// Column widths (in characters) of the action list, by key.
fn width(key: &str) -> f64 {
    match key {
        "fingerprint" | "title" | "action" | "last_comment" | "link" => 40.0,
        "rule_title" | "entity_name" | "note" => 24.0,
        "source_sha256" => 20.0,
        "run_id" | "snoozed_until" | "at" => 20.0,
        "source_id" | "edition" | "region" | "rule_id" | "owner" | "assignee" => 16.0,
        _ => 12.0,
    }
}

struct Styles {
    header: XFormat,
    date: XFormat,
    time: XFormat,
    number: XFormat,
    link: XFormat,
}

fn truncated(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Writes `cells` as row `row` of sheet `sheet`. `links` counts the hyperlinks written on it.
fn write_row(
    book: &mut Workbook,
    sheet: usize,
    row: u32,
    cells: &[Cell],
    styles: &Styles,
    links: &mut u64,
) -> Result<(), ExportError> {
    let ws = book.worksheet_from_index(sheet).map_err(x)?;
    for (col, cell) in cells.iter().enumerate() {
        let col = col as u16;
        match cell {
            Cell::Empty => {}
            // Strings in a workbook are never formulas: no neutralising needed.
            Cell::Text(s) => {
                ws.write_string(row, col, truncated(s)).map_err(x)?;
            }
            Cell::Number(n) if n.is_finite() => {
                ws.write_number_with_format(row, col, *n, &styles.number)
                    .map_err(x)?;
            }
            Cell::Number(_) => {}
            Cell::Bool(b) => {
                ws.write_boolean(row, col, *b).map_err(x)?;
            }
            Cell::Date(d) => {
                ws.write_date_with_format(row, col, d, &styles.date)
                    .map_err(x)?;
            }
            Cell::Time(t) => {
                ws.write_datetime_with_format(row, col, t.naive_utc(), &styles.time)
                    .map_err(x)?;
            }
            Cell::Link(url) => {
                let linked = *links < MAX_LINKS
                    && ws
                        .write_url_with_format(row, col, Url::new(url.as_str()), &styles.link)
                        .is_ok();
                if linked {
                    *links += 1;
                } else {
                    ws.write_string(row, col, truncated(url)).map_err(x)?;
                }
            }
        }
    }
    Ok(())
}

fn header(
    book: &mut Workbook,
    sheet: usize,
    name: &str,
    columns: &[(&str, &str, &str)],
    opts: &Options,
    styles: &Styles,
) -> Result<(), ExportError> {
    let ws = book.worksheet_from_index(sheet).map_err(x)?;
    ws.set_name(name).map_err(x)?;
    for (col, (key, _, _)) in columns.iter().enumerate() {
        ws.set_column_width(col as u16, width(key)).map_err(x)?;
    }
    ws.set_freeze_panes(1, 0).map_err(x)?;
    for (col, (_, en, ko)) in columns.iter().enumerate() {
        let label = match opts.lang {
            display::Lang::En => *en,
            display::Lang::Ko => *ko,
        };
        ws.write_string_with_format(0, col as u16, label, &styles.header)
            .map_err(x)?;
    }
    Ok(())
}

pub(super) fn write(
    store: &AlertStore,
    filter: &AlertFilter,
    about: &About,
    opts: &Options,
    path: &Path,
    max_rows: u64,
) -> Result<Summary, ExportError> {
    let mut book = Workbook::new();
    for _ in 0..3 {
        book.add_worksheet_with_constant_memory().map_err(x)?;
    }
    let styles = Styles {
        header: XFormat::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDDE7F3))
            .set_border_bottom(FormatBorder::Thin),
        date: XFormat::new().set_num_format("yyyy-mm-dd"),
        time: XFormat::new().set_num_format("yyyy-mm-dd hh:mm"),
        number: XFormat::new().set_num_format("General"),
        link: XFormat::new()
            .set_font_color(Color::RGB(0x0563C1))
            .set_underline(rust_xlsxwriter::FormatUnderline::Single),
    };
    let (actions_name, history_name) = match opts.lang {
        display::Lang::En => ("Actions", "History"),
        display::Lang::Ko => ("조치", "이력"),
    };
    header(&mut book, ACTIONS, actions_name, COLUMNS, opts, &styles)?;
    header(
        &mut book,
        HISTORY,
        history_name,
        HISTORY_COLUMNS,
        opts,
        &styles,
    )?;
    let about_rows = write_about(&mut book, about, opts, &styles)?;

    let mut summary = Summary::default();
    let mut links = 0u64;
    let mut history_links = 0u64;
    walk(store, filter, &about.region_codes, opts, |record, rows| {
        summary.alerts += 1;
        for row in rows {
            if summary.rows >= max_rows {
                return Err(ExportError::TooManyRowsForXlsx);
            }
            summary.rows += 1;
            write_row(
                &mut book,
                ACTIONS,
                summary.rows as u32,
                &row,
                &styles,
                &mut links,
            )?;
        }
        for e in store.history(&record.alert.fingerprint)? {
            if summary.events >= max_rows {
                return Err(ExportError::TooManyRowsForXlsx);
            }
            summary.events += 1;
            write_row(
                &mut book,
                HISTORY,
                summary.events as u32,
                &history_row(&record.alert.fingerprint, &e),
                &styles,
                &mut history_links,
            )?;
        }
        Ok(())
    })?;
    let last_col = |n: usize| (n - 1) as u16;
    book.worksheet_from_index(ACTIONS)
        .map_err(x)?
        .autofilter(0, 0, summary.rows as u32, last_col(COLUMNS.len()))
        .map_err(x)?;
    book.worksheet_from_index(HISTORY)
        .map_err(x)?
        .autofilter(0, 0, summary.events as u32, last_col(HISTORY_COLUMNS.len()))
        .map_err(x)?;
    // The counts, known only now, go on the About sheet's last rows.
    let (rows_label, alerts_label) = match opts.lang {
        display::Lang::En => ("Rows (actions)", "Alerts"),
        display::Lang::Ko => ("행(조치)", "알림"),
    };
    let ws = book.worksheet_from_index(ABOUT).map_err(x)?;
    ws.write_string_with_format(about_rows, 0, rows_label, &styles.header)
        .map_err(x)?;
    ws.write_number(about_rows, 1, summary.rows as f64)
        .map_err(x)?;
    ws.write_string_with_format(about_rows + 1, 0, alerts_label, &styles.header)
        .map_err(x)?;
    ws.write_number(about_rows + 1, 1, summary.alerts as f64)
        .map_err(x)?;
    book.save(path).map_err(x)?;
    Ok(summary)
}

/// The About sheet but its last two rows (the counts); returns the next free row.
fn write_about(
    book: &mut Workbook,
    about: &About,
    opts: &Options,
    styles: &Styles,
) -> Result<u32, ExportError> {
    let ko = opts.lang == display::Lang::Ko;
    let l = |en: &'static str, k: &'static str| if ko { k } else { en };
    let ws = book.worksheet_from_index(ABOUT).map_err(x)?;
    ws.set_name(l("About", "정보")).map_err(x)?;
    for (col, w) in [28.0, 40.0, 20.0, 24.0, 24.0, 66.0].into_iter().enumerate() {
        ws.set_column_width(col as u16, w).map_err(x)?;
    }
    let mut row = 0u32;
    let mut pair = |ws: &mut rust_xlsxwriter::Worksheet,
                    label: &str,
                    value: Cell|
     -> Result<(), ExportError> {
        ws.write_string_with_format(row, 0, label, &styles.header)
            .map_err(x)?;
        match value {
            Cell::Time(t) => {
                ws.write_datetime_with_format(row, 1, t.naive_utc(), &styles.time)
                    .map_err(x)?;
            }
            Cell::Text(s) => {
                ws.write_string(row, 1, truncated(&s)).map_err(x)?;
            }
            _ => {}
        }
        row += 1;
        Ok(())
    };
    pair(
        ws,
        l("Exported (UTC)", "내보낸 시각(UTC)"),
        Cell::Time(about.exported_at),
    )?;
    pair(
        ws,
        l("Exported by", "내보낸 사람"),
        Cell::text(&about.exported_by),
    )?;
    let filters = if about.filters.is_empty() {
        l("none (needs action)", "없음(조치 필요)").to_string()
    } else {
        about
            .filters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    pair(ws, l("Filters", "조건"), Cell::Text(filters))?;
    let (run, loaded) = match &about.snapshot {
        Some(s) => (s.run_id.clone(), s.loaded_at.clone()),
        None => (
            l("no snapshot loaded", "적재된 스냅샷 없음").to_string(),
            String::new(),
        ),
    };
    pair(
        ws,
        l("Snapshot (run id)", "스냅샷(실행 ID)"),
        Cell::Text(run),
    )?;
    pair(
        ws,
        l("Loaded at (UTC)", "적재 시각(UTC)"),
        Cell::Text(loaded),
    )?;
    pair(ws, l("Language", "언어"), Cell::text(opts.lang.code()))?;
    row += 1;
    let source_header = [
        l("Source", "출처"),
        l("Title", "제목"),
        l("Edition", "판"),
        l("Publisher", "발행처"),
        l("Fetched at (UTC)", "수집 시각(UTC)"),
        "SHA-256",
    ];
    for (col, label) in source_header.iter().enumerate() {
        ws.write_string_with_format(row, col as u16, *label, &styles.header)
            .map_err(x)?;
    }
    row += 1;
    for s in &about.sources {
        for (col, value) in [
            &s.source_id,
            &s.title,
            &s.edition,
            &s.publisher,
            &s.fetched_at,
            &s.sha256,
        ]
        .into_iter()
        .enumerate()
        {
            ws.write_string(row, col as u16, truncated(value))
                .map_err(x)?;
        }
        row += 1;
    }
    Ok(row + 1)
}
