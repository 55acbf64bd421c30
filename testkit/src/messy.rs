//! Messy text, as real sources spell it, from a seed: for the differential tests of the fast
//! paths (the CSV splitter, the Parquet writer) against their plain counterparts.

use crate::Xorshift;

/// Pieces of field text: the bytes that matter to a CSV reader (commas, quotes, line ends,
/// carriage returns, a byte-order mark), other scripts and emoji, control characters.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    " ",
    ",",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "\r",
    "'",
    ";",
    "\t",
    "\\",
    "ü",
    "é",
    "Côte d'Ivoire",
    "한국",
    "日本",
    "🌍",
    "\u{feff}",
    "\u{0}",
    "NaN",
    "-0",
];

/// A field's text: empty, very long (a few thousand bytes), or a few pieces of [`PIECES`].
pub fn text(rng: &mut Xorshift) -> String {
    match rng.below(10) {
        0 | 1 => String::new(),
        2 => "x".repeat(1 + rng.below(3000) as usize),
        _ => (0..1 + rng.below(8))
            .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
            .collect(),
    }
}

/// A CSV text of about `records` records of about `width` fields: fields quoted (with their
/// quotes doubled) or written bare (whatever they hold, so stray quotes and bare carriage
/// returns too), empty fields, records short or long by a field, blank lines, `\n` or `\r\n`
/// line ends, sometimes a byte-order mark first, an unterminated quote or no final line end.
pub fn csv(rng: &mut Xorshift, records: usize, width: usize) -> String {
    let mut out = String::new();
    if rng.below(8) == 0 {
        out.push('\u{feff}');
    }
    let crlf = rng.below(3) == 0;
    for _ in 0..records {
        if rng.below(12) == 0 {
            out.push_str(if crlf { "\r\n" } else { "\n" });
        }
        let fields = match rng.below(10) {
            0 => width.saturating_sub(1),
            1 => width + 1,
            _ => width,
        };
        for k in 0..fields {
            if k > 0 {
                out.push(',');
            }
            let field = text(rng);
            match rng.below(4) {
                // Quoted, as a writer would.
                0 | 1 => {
                    out.push('"');
                    out.push_str(&field.replace('"', "\"\""));
                    out.push('"');
                }
                // Bare, if it holds nothing special (the common case of real files).
                2 => out.extend(
                    field
                        .chars()
                        .filter(|c| !matches!(c, ',' | '"' | '\n' | '\r')),
                ),
                // Bare, whatever it holds.
                _ => out.push_str(&field),
            }
        }
        if rng.below(40) == 0 {
            out.push('"');
        }
        out.push_str(if crlf { "\r\n" } else { "\n" });
    }
    if rng.below(4) == 0 {
        while out.ends_with('\n') || out.ends_with('\r') {
            out.pop();
        }
    }
    out
}
