//! Cells written as bytes, as the cell-by-cell writer writes them.

use std::io::Write;

use chrono::{Datelike, NaiveDate};

use crate::export::cells::is_plain_negative_number;
use crate::export::Cell;

/// Bytes that make a CSV field need quotes (as the `csv` crate decides with CRLF lines).
const NEEDS_QUOTES: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// A text cell: neutralised against formulas, quoted when needed.
#[inline]
pub(super) fn put_text(buf: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let risky = matches!(b.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
        && !is_plain_negative_number(s);
    if !b.iter().any(|&c| NEEDS_QUOTES[c as usize]) {
        if risky {
            buf.push(b'\'');
        }
        buf.extend_from_slice(b);
        return;
    }
    buf.push(b'"');
    if risky {
        buf.push(b'\'');
    }
    let mut rest = b;
    while let Some(i) = memchr::memchr(b'"', rest) {
        buf.extend_from_slice(&rest[..=i]);
        buf.push(b'"');
        rest = &rest[i + 1..];
    }
    buf.extend_from_slice(rest);
    buf.push(b'"');
}

#[inline]
pub(super) fn put_opt_text(buf: &mut Vec<u8>, s: Option<&str>) {
    if let Some(s) = s {
        put_text(buf, s);
    }
}

/// A number as [`Cell::csv`](super::Cell::csv) writes it (Rust's shortest exact form, empty
/// when not finite).
#[inline]
pub(super) fn put_number(buf: &mut Vec<u8>, x: f64) {
    // Whole numbers (counts, most values) skip float formatting; `-0` keeps its sign as
    // Rust writes it.
    if x.fract() == 0.0 && x.abs() < 1e15 && !(x == 0.0 && x.is_sign_negative()) {
        let _ = write!(buf, "{}", x as i64);
    } else if x.is_finite() {
        let _ = write!(buf, "{x}");
    }
}

#[inline]
pub(super) fn put_opt_number(buf: &mut Vec<u8>, x: Option<f64>) {
    if let Some(x) = x {
        put_number(buf, x);
    }
}

#[inline]
pub(super) fn put_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// `YYYY-MM-DD`, as [`super::day`] writes it.
#[inline]
pub(super) fn put_date(buf: &mut Vec<u8>, d: NaiveDate) {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if (0..=9999).contains(&y) {
        let digit = |n: u32| b'0' + n as u8;
        let y = y as u32;
        buf.extend_from_slice(&[
            digit(y / 1000),
            digit(y / 100 % 10),
            digit(y / 10 % 10),
            digit(y % 10),
            b'-',
            digit(m / 10),
            digit(m % 10),
            b'-',
            digit(day / 10),
            digit(day % 10),
        ]);
    } else {
        buf.extend_from_slice(crate::export::day(d).as_bytes());
    }
}

/// Any cell, as [`Cell::csv`] and the `csv` crate write it.
#[inline]
pub(super) fn put_cell(buf: &mut Vec<u8>, cell: &Cell) {
    match cell {
        Cell::Empty => {}
        Cell::Text(s) | Cell::Link(s) => put_text(buf, s),
        Cell::Number(x) => put_number(buf, *x),
        Cell::Bool(b) => put_bool(buf, *b),
        Cell::Date(d) => put_date(buf, *d),
        // Digits, dashes, colons and spaces: never neutralised, never quoted.
        Cell::Time(t) => buf.extend_from_slice(crate::export::instant(*t).as_bytes()),
    }
}
