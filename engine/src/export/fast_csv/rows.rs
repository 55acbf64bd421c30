//! An alert's rows of the action list, one per recommended action.

use display::alert::Status;
use display::names::RegionCodes;

use super::doc::{Action, Doc};
use super::put::{put_bool, put_date, put_number, put_opt_number, put_opt_text, put_text};
use crate::export::Options;
use crate::state::alerts::BadRecord;
use crate::state::{AlertFilter, RawAlert};

/// The cells an alert's rows share, formatted once per alert.
#[derive(Default)]
pub(super) struct Scratch {
    /// Columns `fingerprint` to `title`, each with its comma.
    pub(super) head: Vec<u8>,
    /// `assignee` and its comma.
    pub(super) assignee: Vec<u8>,
    /// Columns `snoozed_until` to `group`, without the line end.
    pub(super) tail: Vec<u8>,
    pub(super) link: String,
}

/// Appends the rows of `raw` to `buf`; `None` when the filter's overdue test leaves it out,
/// else how many rows.
pub(super) fn alert_rows(
    raw: &RawAlert<'_>,
    filter: &AlertFilter,
    regions: &RegionCodes,
    opts: &Options,
    s: &mut Scratch,
    buf: &mut Vec<u8>,
) -> Result<Option<u64>, BadRecord> {
    // Checked whole (fast for mostly ASCII text), then parsed as `str`: cheaper than checking
    // each string as it is read.
    let json = std::str::from_utf8(raw.json)?;
    let doc: Doc<'_> = serde_json::from_str(json)?;
    let due_of = |days: u32| raw.opened_at + chrono::Duration::days(i64::from(days));
    let first_due = raw
        .due_at
        .or_else(|| doc.actions.iter().map(|a| due_of(a.due_days)).min());
    if !filter.overdue_passes(raw.status, first_due) {
        return Ok(None);
    }
    let lang = opts.lang;

    let h = &mut s.head;
    h.clear();
    put_text(h, &doc.fingerprint.0);
    h.push(b',');
    put_number(h, doc.priority);
    h.push(b',');
    put_text(h, doc.severity.label().get(lang));
    h.push(b',');
    put_text(h, raw.status.label().get(lang));
    h.push(b',');
    put_text(h, &doc.rule_id.0);
    h.push(b',');
    put_text(h, doc.rule_name.get(lang));
    h.push(b',');
    put_text(h, &doc.entity.0);
    h.push(b',');
    put_text(
        h,
        &display::names::country(&doc.entity.0, &doc.entity_name.0, lang),
    );
    h.push(b',');
    let region = doc.region.as_ref().map(|r| &*r.0);
    put_opt_text(
        h,
        region
            .map(|r| display::names::region_in(regions, r, lang))
            .as_deref(),
    );
    h.push(b',');
    put_text(h, &doc.period.0);
    h.push(b',');
    put_text(h, doc.title.get(lang));
    h.push(b',');

    s.assignee.clear();
    put_opt_text(&mut s.assignee, raw.assignee);
    s.assignee.push(b',');

    let t = &mut s.tail;
    t.clear();
    if raw.status == Status::Snoozed {
        if let Some(until) = raw.snoozed_until {
            // As `Cell::Time`: never neutralised, never in need of quotes.
            t.extend_from_slice(crate::export::instant(until).as_bytes());
        }
    }
    t.push(b',');
    put_opt_text(t, raw.last_comment);
    t.push(b',');
    let values = &doc.evidence.values;
    put_opt_number(t, values.value);
    t.push(b',');
    put_opt_number(t, values.previous);
    t.push(b',');
    put_opt_number(t, values.change_pct);
    t.push(b',');
    put_bool(t, doc.data_issue || raw.figure_withdrawn);
    t.push(b',');
    let source = doc.evidence.source.as_ref();
    put_opt_text(t, source.map(|x| &*x.source_id.0));
    t.push(b',');
    put_opt_text(t, source.map(|x| &*x.edition.0));
    t.push(b',');
    put_text(t, &doc.evidence.run_id.0);
    t.push(b',');
    put_opt_text(t, source.map(|x| &*x.sha256.0));
    t.push(b',');
    s.link.clear();
    crate::export::push_alert_link(&mut s.link, &opts.base_url, &doc.fingerprint.0);
    put_text(t, &s.link);
    t.push(b',');
    put_text(t, doc.severity.as_str());
    t.push(b',');
    put_text(t, raw.status.as_str());
    t.push(b',');
    put_opt_text(t, region.and_then(|r| regions.get(r)).map(String::as_str));
    t.push(b',');
    if raw.status == Status::Snoozed {
        if let Some(until) = raw.snoozed_until {
            put_text(t, &opts.zone.minute(&until));
        }
    }
    t.push(b',');
    put_text(t, &display::alert::group_key(&doc.entity.0, &doc.period.0));
    t.extend_from_slice(b"\r\n");

    let active = raw.status.is_active();
    let mut row = |i: usize, action: Option<&Action<'_>>| {
        buf.extend_from_slice(&s.head);
        if action.is_some() {
            put_number(buf, (i + 1) as f64);
        }
        buf.push(b',');
        put_opt_text(buf, action.map(|a| a.text.get(lang)));
        buf.push(b',');
        put_opt_text(buf, action.map(|a| &*a.owner.0));
        buf.push(b',');
        buf.extend_from_slice(&s.assignee);
        let due = raw.due_at.or_else(|| action.map(|a| due_of(a.due_days)));
        if let Some(d) = due {
            put_date(buf, d.date_naive());
        }
        buf.push(b',');
        put_bool(buf, active && due.is_some_and(|d| d < opts.now));
        buf.push(b',');
        buf.extend_from_slice(&s.tail);
    };
    if doc.actions.is_empty() {
        // One row with an empty action, so no alert is lost.
        row(0, None);
        return Ok(Some(1));
    }
    for (i, action) in doc.actions.iter().enumerate() {
        row(i, Some(action));
    }
    Ok(Some(doc.actions.len() as u64))
}
