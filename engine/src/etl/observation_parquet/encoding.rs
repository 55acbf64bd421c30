//! Parquet encodings of values: the RLE / bit-packing hybrid, PLAIN numbers and flags, and the
//! statistics' bounds.

/// Parquet's run-length / bit-packing hybrid of `values`, each below `2^width` (`width` 1..=32):
/// runs of 8 or more equal values as one run, the rest bit-packed, 8 values a group.
pub(super) fn hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    // Some readers allocate per bit-packed run: at most 63 groups each, as other writers do.
    const MAX_GROUPS: usize = 63;
    let repeats_8 =
        |i: usize| i + 8 <= values.len() && values[i + 1..i + 8].iter().all(|&v| v == values[i]);
    let value_bytes = (width as usize).div_ceil(8);
    let mut i = 0;
    while i < values.len() {
        if repeats_8(i) {
            let run = values[i..].iter().take_while(|&&v| v == values[i]).count();
            varint((run as u64) << 1, out);
            out.extend_from_slice(&values[i].to_le_bytes()[..value_bytes]);
            i += run;
        } else {
            let start = i;
            let mut groups = 0;
            while i < values.len() && groups < MAX_GROUPS && (groups == 0 || !repeats_8(i)) {
                i += 8;
                groups += 1;
            }
            varint(((groups as u64) << 1) | 1, out);
            // The last group of the page may run past its end: padded with zeros.
            let end = (start + groups * 8).min(values.len());
            bit_pack(&values[start..end], groups * 8, width, out);
            i = start + groups * 8;
        }
    }
}

/// `values` (padded with zeros to `count`), `width` bits each, least significant bit first.
fn bit_pack(values: &[u32], count: usize, width: u8, out: &mut Vec<u8>) {
    let mut acc = 0u64;
    let mut bits = 0u32;
    let padded = values.iter().copied().chain(std::iter::repeat(0));
    for v in padded.take(count) {
        acc |= u64::from(v) << bits;
        bits += u32::from(width);
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

/// ULEB128, as Parquet's run headers are written.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Flags, PLAIN: one bit each, least significant first.
pub(super) fn packed_bools(flags: &[bool]) -> Vec<u8> {
    flags
        .chunks(8)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |b, (i, &f)| b | ((f as u8) << i))
        })
        .collect()
}

pub(super) fn int32_plain(values: &[i32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

pub(super) fn double_plain(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

pub(super) fn int_range(values: impl Iterator<Item = i32>) -> Option<(i32, i32)> {
    values.fold(None, |r, v| match r {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The smallest and largest of `values`, NaN left out (as the format asks), with a zero bound
/// written as -0.0 for the minimum and +0.0 for the maximum (readers may see either zero).
pub(super) fn double_range(values: &[f64]) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let lo = if lo == 0.0 { -0.0 } else { lo };
    let hi = if hi == 0.0 { 0.0 } else { hi };
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::Xorshift as Rng;

    /// Decodes the hybrid as the format defines it (an independent reading of `hybrid`).
    fn unhybrid(mut data: &[u8], width: u8, count: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_varint = |data: &mut &[u8]| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < count {
            let header = read_varint(&mut data);
            if header & 1 == 0 {
                let bytes = (width as usize).div_ceil(8);
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (header >> 1) as usize,
                ));
            } else {
                let values = (header >> 1) as usize * 8;
                for k in 0..values {
                    let bit = k * width as usize;
                    let mut v = 0u32;
                    for b in 0..width as usize {
                        let at = bit + b;
                        v |= u32::from((data[at / 8] >> (at % 8)) & 1) << b;
                    }
                    out.push(v);
                }
                data = &data[values * width as usize / 8..];
            }
        }
        assert!(data.is_empty(), "bytes left after {count} values");
        out.truncate(count);
        out
    }

    #[test]
    fn the_hybrid_encoding_decodes_to_its_values() {
        let mut rng = Rng(7);
        let mut next = move || rng.next_u64();
        for width in [1u8, 3, 8, 11, 17, 32] {
            let max = if width == 32 {
                u32::MAX
            } else {
                (1u32 << width) - 1
            };
            for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 63 * 8, 63 * 8 + 1, 5000] {
                // Runs of random lengths (1 to 40) of random values: both kinds of run, groups
                // cut anywhere, the bit-packed limit crossed.
                let mut values = Vec::with_capacity(len);
                while values.len() < len {
                    let v = (next() as u32) & max;
                    let run = (next() % 40 + 1) as usize;
                    values.extend(std::iter::repeat_n(v, run.min(len - values.len())));
                }
                let mut out = Vec::new();
                hybrid(&values, width, &mut out);
                assert_eq!(
                    unhybrid(&out, width, len),
                    values,
                    "width {width}, {len} values"
                );
            }
        }
        // Alternating values bit-pack; a long run is one run.
        let mut out = Vec::new();
        hybrid(&[0, 1].repeat(8), 1, &mut out);
        assert_eq!(out, [0b101, 0b1010_1010, 0b1010_1010]);
        out.clear();
        hybrid(&[1; 300], 1, &mut out);
        assert_eq!(out, [0xd8, 0x04, 1]);
    }

    #[test]
    fn flags_pack_least_significant_bit_first() {
        let flags = [true, false, false, true, false, false, false, false, true];
        assert_eq!(packed_bools(&flags), [0b0000_1001, 0b1]);
    }

    #[test]
    fn ranges_leave_out_nan_and_sign_their_zeros() {
        assert_eq!(double_range(&[]), None);
        assert_eq!(double_range(&[f64::NAN]), None);
        let (lo, hi) = double_range(&[0.0, f64::NAN, 0.0]).unwrap();
        assert!(lo == 0.0 && lo.is_sign_negative() && hi == 0.0 && hi.is_sign_positive());
        assert_eq!(double_range(&[2.5, -1.0, f64::NAN, 7.0]), Some((-1.0, 7.0)));
        assert_eq!(int_range([3, -2, 9].into_iter()), Some((-2, 9)));
    }
}
