//! The fast writer's cells and rows against the cell-by-cell writer's.

use chrono::NaiveDate;
use display::Lang;

use super::put::*;
use super::*;
use crate::export::Cell;

#[test]
fn cells_are_written_as_the_cell_writer_writes_them() {
    let csv_of = |cell: &Cell| {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_field(cell.csv().as_bytes()).unwrap();
        w.write_field("x").unwrap();
        w.write_record(None::<&[u8]>).unwrap();
        let mut bytes = w.into_inner().unwrap();
        bytes.truncate(bytes.len() - b",x\r\n".len());
        bytes
    };
    let texts = [
        "",
        "plain",
        "한국어, 쉼표",
        "say \"hi\"",
        "\"",
        "a\nb",
        "a\r\nb",
        "=HYPERLINK(\"x\",\"y\")",
        "+1",
        "-6.2",
        "-1e3",
        "-x",
        "@x,y",
        "\tcmd",
        "\rcmd",
        "#comment",
        " spaced ",
    ];
    for text in texts {
        let mut buf = Vec::new();
        put_text(&mut buf, text);
        assert_eq!(buf, csv_of(&Cell::text(text)), "{text:?}");
    }
    let numbers = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        9.5,
        0.1 + 0.2,
        -6.2,
        412.5e9,
        1e15,
        -1e15,
        999_999_999_999_999.0,
        1e21,
        1.5e-7,
        f64::MAX,
        f64::MIN_POSITIVE,
        -123_456_789.125,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for x in numbers {
        let mut buf = Vec::new();
        put_number(&mut buf, x);
        assert_eq!(buf, csv_of(&Cell::Number(x)), "{x:?}");
    }
    for (y, m, d) in [
        (2026, 11, 8),
        (1, 1, 1),
        (9999, 12, 31),
        (-1, 3, 4),
        (10000, 1, 2),
    ] {
        let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let mut buf = Vec::new();
        put_date(&mut buf, date);
        assert_eq!(buf, csv_of(&Cell::Date(date)), "{date}");
    }
    // Any cell (the audit trail's), each kind.
    let time = chrono::DateTime::parse_from_rfc3339("2026-11-08T09:05:03Z")
        .unwrap()
        .to_utc();
    let cells = texts
        .iter()
        .map(|t| Cell::text(t))
        .chain(texts.iter().map(|t| Cell::Link(t.to_string())))
        .chain(numbers.iter().map(|&x| Cell::Number(x)))
        .chain([
            Cell::Empty,
            Cell::Bool(true),
            Cell::Bool(false),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()),
            Cell::Time(time),
        ]);
    for cell in cells {
        let mut buf = Vec::new();
        put_cell(&mut buf, &cell);
        assert_eq!(buf, csv_of(&cell), "{cell:?}");
    }
}

#[test]
fn a_document_that_is_not_an_alert_is_an_error() {
    let raw = RawAlert {
        json: b"{\"fingerprint\": 3}",
        status: Status::Open,
        assignee: None,
        opened_at: DateTime::<Utc>::default(),
        snoozed_until: None,
        due_at: None,
        last_comment: None,
        figure_withdrawn: false,
    };
    let opts = Options {
        format: super::super::Format::Csv,
        bom: false,
        history: false,
        lang: Lang::En,
        base_url: String::new(),
        now: DateTime::<Utc>::default(),
        zone: display::time::Zone::default(),
    };
    let mut buf = Vec::new();
    let e = alert_rows(
        &raw,
        &AlertFilter::everything(),
        &Default::default(),
        &opts,
        &mut Scratch::default(),
        &mut buf,
    );
    assert!(e.is_err());
    assert!(buf.is_empty(), "nothing written for a broken alert");
}
