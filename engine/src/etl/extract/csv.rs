//! `csv` sources (a file or a URL): the header names the columns; rows keep their line number.

use rayon::prelude::*;

use super::{require_columns, utf8_text, Extractor, Location, ParseError, RawRow, RawTable};
use crate::config::{Source, SourceKind};

pub struct CsvExtractor;

/// Rows are parsed in chunks of about this many bytes, in parallel.
pub const CHUNK_BYTES: usize = 4 << 20;

impl Extractor for CsvExtractor {
    fn kind(&self) -> SourceKind {
        SourceKind::Csv
    }

    fn parse(&self, source: &Source, file: &str, bytes: &[u8]) -> Result<RawTable, ParseError> {
        parse_in_chunks(source, file, bytes, CHUNK_BYTES)
    }
}

fn parse_in_chunks(
    source: &Source,
    file: &str,
    bytes: &[u8],
    chunk_bytes: usize,
) -> Result<RawTable, ParseError> {
    let body = CsvBody::open(source, file, bytes, chunk_bytes)?;
    let width = body.columns.len();
    let rows: Vec<RawRow> = body
        .chunks
        .par_iter()
        .map(|chunk| {
            let mut rows = Vec::new();
            chunk.for_each_record(width, |line, record, problem| {
                rows.push(RawRow {
                    location: Location::Line(line),
                    cells: record.iter().map(str::to_string).collect(),
                    problem,
                })
            });
            rows
        })
        .collect::<Vec<_>>()
        .concat();
    Ok(RawTable {
        columns: body.columns,
        rows,
    })
}

/// A CSV file checked as a whole (UTF-8, header, configured columns, at least one record), its
/// body split into chunks that can be read independently, in parallel.
pub struct CsvBody<'a> {
    pub columns: Vec<String>,
    pub chunks: Vec<CsvChunk<'a>>,
}

/// Whole records of a CSV body, and the file line they start at.
pub struct CsvChunk<'a> {
    /// Whole lines of the body (cut at line ends, so always on character boundaries).
    pub text: &'a str,
    pub first_line: u64,
    /// Lines of the file the chunk spans (progress units).
    pub lines: u64,
}

impl<'a> CsvBody<'a> {
    pub fn open(
        source: &Source,
        file: &str,
        bytes: &'a [u8],
        chunk_bytes: usize,
    ) -> Result<Self, ParseError> {
        let text = utf8_text(file, bytes)?;
        let empty = || ParseError::Empty {
            file: file.to_string(),
        };
        if text.trim().is_empty() {
            return Err(empty());
        }
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| ParseError::Shape {
                file: file.to_string(),
                message: format!("unreadable header: {e}"),
            })?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        require_columns(source, file, &columns)?;
        let body_start = reader.position().byte() as usize;
        let first_line = reader.position().line();
        // The header ends at a line end: an ASCII byte, so a character boundary.
        let body = &text[body_start.min(text.len())..];
        // A header without records is an empty file; a broken first record still is a record.
        let mut first = ::csv::ByteRecord::new();
        let has_record = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes())
            .read_byte_record(&mut first)
            .unwrap_or(true);
        if !has_record {
            return Err(empty());
        }
        let chunks = split_at_record_ends(body.as_bytes(), first_line, chunk_bytes)
            .into_iter()
            .map(|(from, to, first_line, lines)| CsvChunk {
                text: &body[from..to],
                first_line,
                lines,
            })
            .collect();
        Ok(CsvBody { columns, chunks })
    }
}

/// One record's fields, as ranges into a text: the line itself for a plain line, the unquoted
/// copy for a quoted one. Borrowed for one call only (the buffers are reused for the next row).
pub struct Fields<'r> {
    text: &'r str,
    ranges: &'r [(usize, usize)],
}

impl<'r> Fields<'r> {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Field `i`, as written (untrimmed); `None` past the last field.
    pub fn get(&self, i: usize) -> Option<&'r str> {
        self.ranges.get(i).map(|&(a, b)| &self.text[a..b])
    }

    pub fn iter(&self) -> impl Iterator<Item = &'r str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A whole record is read by csv-core when its line holds a quote or a carriage return (or a
/// BOM starts the chunk); every other line is split at its commas directly. Such a line means
/// the same to csv-core (unquoted fields, `\n` ends the record), and splitting it is several
/// times faster than the `csv` crate's reader, which copies every field and checks its UTF-8
/// again (the whole file was checked once already).
///
/// `SPLIT_PLAIN` turns that fast path ([`split_plain_line`], SSE2 on x86_64) on; without it
/// every record is read by csv-core alone: the plain counterpart the fast path is tested
/// against ([`CsvChunk::for_each_record_with_core`]). A constant, so the fast reader carries no
/// test of it.
struct RecordReader<'a, const SPLIT_PLAIN: bool> {
    text: &'a str,
    pos: usize,
    /// The `csv` crate's line of the next record, counted from 1 at the chunk's start.
    line: u64,
    core: csv_core::Reader,
    /// csv-core's state is a fresh record's: the next plain line may be split directly. False
    /// after a record that csv-core ended at `\r` (a `\n` may follow and belong to it).
    at_record_start: bool,
    output: Vec<u8>,
    /// Bytes of `output` the last csv-core record filled.
    output_len: usize,
    ends: Vec<usize>,
    ranges: Vec<(usize, usize)>,
}

/// What [`RecordReader::next`] found.
enum Next {
    /// A plain line: `ranges` index the source text.
    Line,
    /// A record read by csv-core: `ranges` index `output`.
    Core,
    End,
}

impl<'a, const SPLIT_PLAIN: bool> RecordReader<'a, SPLIT_PLAIN> {
    fn new(text: &'a str) -> Self {
        let mut core = csv_core::Reader::new();
        // csv-core drops a BOM only on its first read, as the `csv` crate's reader of the chunk
        // would at the chunk's start: a chunk not starting with one primes it with a blank line
        // (skipped), so that a BOM later in the chunk stays text.
        let at_record_start = !text.as_bytes().starts_with(b"\xEF\xBB\xBF");
        if at_record_start {
            let _ = core.read_record(b"\n", &mut [0u8; 1], &mut [0usize; 1]);
        }
        RecordReader {
            text,
            pos: 0,
            line: 1,
            core,
            at_record_start,
            output: vec![0; 1024],
            output_len: 0,
            ends: vec![0; 16],
            ranges: Vec::with_capacity(16),
        }
    }

    /// Reads the next record; its line is `self.line` before the call.
    fn next(&mut self) -> Next {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() && self.at_record_start {
            return Next::End;
        }
        if SPLIT_PLAIN && self.at_record_start {
            if let Some(end) = split_plain_line(bytes, self.pos, &mut self.ranges) {
                self.pos = (end + 1).min(bytes.len());
                self.line += u64::from(end < bytes.len());
                return Next::Line;
            }
        }
        self.read_with_core()
    }

    /// Reads one record with csv-core, from `pos` on (blank lines before it are skipped).
    fn read_with_core(&mut self) -> Next {
        use csv_core::ReadRecordResult;
        let bytes = self.text.as_bytes();
        self.core.set_line(self.line);
        let (mut nout, mut nend) = (0, 0);
        loop {
            let input = &bytes[self.pos..];
            let (result, nin, out, end) =
                self.core
                    .read_record(input, &mut self.output[nout..], &mut self.ends[nend..]);
            self.pos += nin;
            nout += out;
            nend += end;
            match result {
                // At the end of the chunk, csv-core is told so with an empty input.
                ReadRecordResult::InputEmpty => continue,
                ReadRecordResult::OutputFull => {
                    let len = self.output.len();
                    self.output.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => {
                    self.line = self.core.line();
                    // Ended by its `\n` (or the chunk's end): csv-core is at a record start.
                    self.at_record_start = self.pos >= bytes.len() || bytes[self.pos - 1] == b'\n';
                    self.output_len = nout;
                    self.ranges.clear();
                    let mut start = 0;
                    for &e in &self.ends[..nend] {
                        self.ranges.push((start, e));
                        start = e;
                    }
                    return Next::Core;
                }
                ReadRecordResult::End => {
                    self.line = self.core.line();
                    self.pos = bytes.len();
                    self.at_record_start = true;
                    return Next::End;
                }
            }
        }
    }
}

/// Splits the line starting at `start` at its commas into `ranges` (fields as ranges of
/// `bytes`), and returns where it ends (its `\n`, or the end of `bytes`); `None`, with nothing
/// to use, for an empty line or one that holds a quote or a carriage return. One pass over the
/// line, 16 bytes a step: every byte was looked at twice (line end, then commas) one at a time.
fn split_plain_line(bytes: &[u8], start: usize, ranges: &mut Vec<(usize, usize)>) -> Option<usize> {
    ranges.clear();
    let mut field = start;
    // Only the x86_64 steps below move it; elsewhere the byte loop starts at the line.
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut i = start;
    #[cfg(target_arch = "x86_64")]
    while i + 16 <= bytes.len() {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: the 16 bytes read are inside `bytes` (checked above); SSE2 is part of every
        // x86_64 CPU; the load has no alignment requirement.
        let (commas, line_ends, special) = unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().add(i).cast::<__m128i>());
            let mask = |c: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8))) as u32;
            (mask(b','), mask(b'\n'), mask(b'"') | mask(b'\r'))
        };
        // The bytes before the first line end of the 16 (all 16 when there is none).
        let before = if line_ends == 0 {
            0xFFFF
        } else {
            (line_ends & line_ends.wrapping_neg()) - 1
        };
        if special & before != 0 {
            return None;
        }
        let mut commas = commas & before;
        while commas != 0 {
            let at = i + commas.trailing_zeros() as usize;
            ranges.push((field, at));
            field = at + 1;
            commas &= commas - 1;
        }
        if line_ends != 0 {
            let end = i + line_ends.trailing_zeros() as usize;
            return (end > start).then(|| {
                ranges.push((field, end));
                end
            });
        }
        i += 16;
    }
    for (at, &b) in bytes.iter().enumerate().skip(i) {
        match b {
            b',' => {
                ranges.push((field, at));
                field = at + 1;
            }
            b'\n' => {
                return (at > start).then(|| {
                    ranges.push((field, at));
                    at
                });
            }
            b'"' | b'\r' => return None,
            _ => {}
        }
    }
    (bytes.len() > start).then(|| {
        ranges.push((field, bytes.len()));
        bytes.len()
    })
}

impl CsvChunk<'_> {
    /// Calls `f` with each record's line (as the `csv` crate counts it), its fields (reused
    /// buffers, no allocation per row) and, when the record is malformed, the reason (the fields
    /// are then not to be used).
    pub fn for_each_record(&self, width: usize, f: impl FnMut(u64, &Fields, Option<String>)) {
        self.records::<true>(width, f)
    }

    /// [`CsvChunk::for_each_record`] with every record read by csv-core (no line split at its
    /// commas directly): the plain counterpart of the fast path, the same records, slower.
    pub fn for_each_record_with_core(
        &self,
        width: usize,
        f: impl FnMut(u64, &Fields, Option<String>),
    ) {
        self.records::<false>(width, f)
    }

    fn records<const SPLIT_PLAIN: bool>(
        &self,
        width: usize,
        mut f: impl FnMut(u64, &Fields, Option<String>),
    ) {
        let mut reader = RecordReader::<SPLIT_PLAIN>::new(self.text);
        loop {
            let line = self.first_line + reader.line - 1;
            let fields = match reader.next() {
                Next::End => break,
                Next::Line => Fields {
                    text: self.text,
                    ranges: &reader.ranges,
                },
                Next::Core => match std::str::from_utf8(&reader.output[..reader.output_len]) {
                    Ok(text) => Fields {
                        text,
                        ranges: &reader.ranges,
                    },
                    // Unreachable on a UTF-8 text (csv-core only drops ASCII quotes), kept as
                    // the `csv` crate would report it.
                    Err(e) => {
                        let none = Fields {
                            text: "",
                            ranges: &[],
                        };
                        f(line, &none, Some(format!("unreadable CSV row: {e}")));
                        continue;
                    }
                },
            };
            let problem = (fields.len() != width).then(|| {
                format!(
                    "the row has {} fields, the header has {width} (a truncated or badly quoted line?)",
                    fields.len()
                )
            });
            f(line, &fields, problem);
        }
    }
}

/// Chunks of about `target` bytes that end at a line end outside quotes, with the line number
/// each starts at and the lines it spans. Quotes toggle (an escaped `""` toggles twice), so
/// whether a byte is inside quotes depends on every quote before it: blocks of `target` bytes
/// first count their quotes and line ends side by side, then, knowing the state at its start,
/// each block finds its first line end outside quotes: the next chunk starts after it.
fn split_at_record_ends(
    bytes: &[u8],
    first_line: u64,
    target: usize,
) -> Vec<(usize, usize, u64, u64)> {
    let target = target.max(1);
    let blocks: Vec<usize> = (0..bytes.len()).step_by(target).collect();
    let counts: Vec<(bool, u64)> = blocks
        .par_iter()
        .map(|&start| {
            let block = &bytes[start..(start + target).min(bytes.len())];
            let quotes = memchr::memchr_iter(b'"', block).count();
            let lines = memchr::memchr_iter(b'\n', block).count() as u64;
            (quotes % 2 == 1, lines)
        })
        .collect();
    // The quote state and the line number at each block's start.
    let starts: Vec<(bool, u64)> = counts
        .iter()
        .scan((false, first_line), |state, &(odd, lines)| {
            let at_start = *state;
            *state = (state.0 ^ odd, state.1 + lines);
            Some(at_start)
        })
        .collect();
    // Where each block's first chunk starts (after its first line end outside quotes; the
    // first block's at 0), with the line there. A quoted field may run past its block: the
    // search goes on into the next ones.
    let mut cuts: Vec<(usize, u64)> = blocks
        .par_iter()
        .zip(&starts)
        .skip(1)
        .filter_map(|(&start, &(mut in_quotes, mut line))| {
            for i in memchr::memchr2_iter(b'"', b'\n', &bytes[start..]) {
                if bytes[start + i] == b'"' {
                    in_quotes = !in_quotes;
                    continue;
                }
                line += 1;
                if !in_quotes {
                    return Some((start + i + 1, line));
                }
            }
            None
        })
        .collect();
    cuts.insert(0, (0, first_line));
    // A long quoted field can make neighbouring blocks find the same line end.
    cuts.dedup_by_key(|cut| cut.0);
    cuts.retain(|&(at, _)| at < bytes.len() || at == 0);
    let end_line = starts.last().map_or(first_line, |&(_, line)| {
        line + counts.last().map_or(0, |c| c.1)
    });
    // The last line may lack its line end.
    let unterminated = u64::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'));
    let mut chunks = Vec::with_capacity(cuts.len());
    for (k, &(from, line)) in cuts.iter().enumerate() {
        let (to, next_line) = cuts
            .get(k + 1)
            .copied()
            .unwrap_or((bytes.len(), end_line + unterminated));
        if from < to {
            chunks.push((from, to, line, next_line - line));
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_source;

    fn parse(text: &[u8]) -> Result<RawTable, ParseError> {
        CsvExtractor.parse(&default_source("wb_gdp"), "gdp.csv", text)
    }

    const HEADER: &str = "Country Name,Country Code,Year,Value\n";

    #[test]
    fn quoted_names_and_line_numbers() {
        let t = parse(
            format!("{HEADER}\"Korea, Rep.\",KOR,2024,1.7E12\nAruba,ABW,1986,4\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].cells[0], "Korea, Rep.");
        assert_eq!(t.rows[1].location, Location::Line(3));
    }

    #[test]
    fn chunked_parsing_keeps_lines_and_quoted_newlines() {
        let text = format!(
            "{HEADER}\"Korea, Rep.\",KOR,2024,1\n\"Two\nLines\",TWO,2024,2\n\"Say \"\"hi\"\"\",HI,2024,3\nAruba,ABW,1986,4\nChina,CHN,20"
        );
        let whole = parse(text.as_bytes()).unwrap();
        for target in [1, 5, 17, 40] {
            let chunked = parse_in_chunks(
                &default_source("wb_gdp"),
                "gdp.csv",
                text.as_bytes(),
                target,
            )
            .unwrap();
            assert_eq!(chunked, whole, "chunks of {target} bytes");
        }
        let lines: Vec<_> = whole.rows.iter().map(|r| r.location.to_string()).collect();
        assert_eq!(lines, ["line 2", "line 3", "line 5", "line 6", "line 7"]);
        assert_eq!(whole.rows[1].cells[0], "Two\nLines");
        assert_eq!(whole.rows[2].cells[0], "Say \"hi\"");
        assert!(whole.rows[4].problem.is_some());
    }

    /// The `csv` crate's reading of a chunk, as `for_each_record` did before it split plain lines
    /// itself: the reference the fast reader is checked against.
    fn csv_crate_records(
        text: &str,
        first_line: u64,
        width: usize,
    ) -> Vec<(u64, Vec<String>, Option<String>)> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let line_of =
            |pos: Option<&::csv::Position>| pos.map_or(first_line, |p| first_line + p.line() - 1);
        let mut record = ::csv::StringRecord::new();
        let mut out = Vec::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let problem = (record.len() != width).then(|| {
                        format!(
                            "the row has {} fields, the header has {width} (a truncated or badly quoted line?)",
                            record.len()
                        )
                    });
                    let fields = record.iter().map(str::to_string).collect();
                    out.push((line_of(record.position()), fields, problem));
                }
                Err(e) => out.push((line_of(e.position()), Vec::new(), Some(e.to_string()))),
            }
        }
        out
    }

    /// The records of `text` as the fast reader reads them, or (`with_core`) as its plain
    /// counterpart does (csv-core for every record).
    fn chunk_records(
        text: &str,
        first_line: u64,
        width: usize,
        with_core: bool,
    ) -> Vec<(u64, Vec<String>, Option<String>)> {
        let chunk = CsvChunk {
            text,
            first_line,
            lines: 0,
        };
        let mut out = Vec::new();
        let push = |line, fields: &Fields, problem| {
            out.push((line, fields.iter().map(str::to_string).collect(), problem))
        };
        if with_core {
            chunk.for_each_record_with_core(width, push);
        } else {
            chunk.for_each_record(width, push);
        }
        out
    }

    fn fast_records(
        text: &str,
        first_line: u64,
        width: usize,
    ) -> Vec<(u64, Vec<String>, Option<String>)> {
        chunk_records(text, first_line, width, false)
    }

    fn core_records(
        text: &str,
        first_line: u64,
        width: usize,
    ) -> Vec<(u64, Vec<String>, Option<String>)> {
        chunk_records(text, first_line, width, true)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The fast reader (plain lines split at their commas, 16 bytes a step) and its plain
        /// counterpart (csv-core reads every record) give the same records, lines and problems
        /// for messy CSV (quotes, embedded commas and line ends, CRLF, bare carriage returns,
        /// empty fields, long lines, other scripts, a BOM, ragged rows), whole and in the
        /// chunks the body is cut into.
        #[test]
        fn the_fast_splitter_reads_as_csv_core(
            seed in proptest::prelude::any::<u64>(),
            records in 0usize..40,
            width in 1usize..6,
            chunk_bytes in 1usize..2048,
        ) {
            let text = testkit::messy::csv(&mut testkit::Xorshift(seed | 1), records, width);
            proptest::prop_assert_eq!(
                fast_records(&text, 3, width),
                core_records(&text, 3, width)
            );
            for (from, to, line, _) in split_at_record_ends(text.as_bytes(), 3, chunk_bytes) {
                let chunk = &text[from..to];
                proptest::prop_assert_eq!(
                    fast_records(chunk, line, width),
                    core_records(chunk, line, width),
                    "chunk {}..{}", from, to
                );
            }
        }
    }

    #[test]
    fn fast_reader_reads_as_the_csv_crate() {
        let cases = [
            "",
            "\n",
            "a,b,c\n",
            "a,b,c",
            "a,,\n\n\nb,c,d\n",
            "\"Korea, Rep.\",KOR,1\nx,y,z\n",
            "\"Two\nLines\",b,c\nd,e,f\n",
            "\"Say \"\"hi\"\"\",b,c\n",
            "a,b\"c\",d\n",
            "\"ab\"cd,e,f\n",
            "a,b,c\r\nd,e,f\r\ng,h,i\n",
            "a,b,c\rd,e,f\n",
            "\r\n\r\na,b,c\n",
            "\u{feff}a,b,c\nd,e,f\n",
            "a,b,c\n\u{feff}d,e,f\n",
            "\"unterminated,b,c\nd,e,f\n",
            "é,ü,😀\n\"é\",\"ü\",x\n",
            "a,b,c\n\"q\"\n",
        ];
        for text in cases {
            assert_eq!(
                fast_records(text, 7, 3),
                csv_crate_records(text, 7, 3),
                "{text:?}"
            );
        }
        // Random texts over the bytes that matter to a CSV reader.
        let alphabet = [
            "a", "1", ",", ",", "\"", "\n", "\n", "\r", " ", "é", "\u{feff}",
        ];
        let mut rng = testkit::Xorshift(0x9E37_79B9_7F4A_7C15);
        let mut next = move || rng.next_u64();
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(
                fast_records(&text, 1, 2),
                csv_crate_records(&text, 1, 2),
                "{text:?}"
            );
        }
        // Longer lines, special bytes rarer: lines span several of the 16-byte steps of the
        // plain-line split, with commas, quotes and line ends at every place in a step.
        let plain = ["a", "b", "1", "é", " "];
        for _ in 0..20_000 {
            let len = (next() % 120) as usize;
            let text: String = (0..len)
                .map(|_| match next() % 40 {
                    0..=3 => ",",
                    4 | 5 => "\n",
                    6 => "\"",
                    7 if next() % 4 == 0 => "\r",
                    _ => plain[(next() % plain.len() as u64) as usize],
                })
                .collect();
            assert_eq!(
                fast_records(&text, 1, 2),
                csv_crate_records(&text, 1, 2),
                "{text:?}"
            );
        }
    }

    #[test]
    fn bom_is_ignored() {
        let t = parse(format!("\u{feff}{HEADER}Aruba,ABW,1986,4\n").as_bytes()).unwrap();
        assert_eq!(t.columns[0], "Country Name");
    }

    #[test]
    fn truncated_last_row_is_a_row_problem_not_a_file_error() {
        let t = parse(format!("{HEADER}Aruba,ABW,1986,4\nChina,CHN,20").as_bytes()).unwrap();
        assert!(t.rows[0].problem.is_none());
        assert!(t.rows[1]
            .problem
            .as_deref()
            .unwrap()
            .contains("3 fields, the header has 4"));
    }

    #[test]
    fn file_level_errors_are_clear() {
        assert_eq!(
            parse(b"").unwrap_err(),
            ParseError::Empty {
                file: "gdp.csv".into()
            }
        );
        assert_eq!(
            parse(HEADER.as_bytes()).unwrap_err(),
            ParseError::Empty {
                file: "gdp.csv".into()
            }
        );
        let err = parse(b"Country Name,Code,Year,Value\nA,B,1,2\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no `Country Code` column (columns are: Country Name, Code, Year, Value)"),
            "{err}"
        );
        // "대한민국" in CP949.
        let mut cp949 = HEADER.as_bytes().to_vec();
        cp949.extend_from_slice(b"\xb4\xeb\xc7\xd1\xb9\xce\xb1\xb9,KOR,2024,1\n");
        let err = parse(&cp949).unwrap_err().to_string();
        assert!(
            err.contains("not UTF-8 (first bad byte at line 2") && err.contains("CP949"),
            "{err}"
        );
    }
}
