//! Compression of a sealed block of samples (times and values), bit for
//! bit reversible, for blocks kept in memory and written to history.
//!
//! Each column picks the cheaper of two encodings, decided from the block:
//!
//! - **Decimal**: when every number is `n / 10^k` exactly for some integer
//!   `n` and a `k` of 0…9 (the quotient, computed as a correctly rounded
//!   division, gives back the very same bits), the integers are stored as
//!   deltas or delta-of-deltas (whichever is smaller: a clock ticks
//!   regularly, a price walks), zigzag-coded. Prices in cents (`k = 2`),
//!   percentages with one decimal and Unix times in milliseconds
//!   (`k = 3`) are such columns. A history block ([`encode_block`]) puts
//!   each code in a few bit-length buckets; a sealed block in memory
//!   ([`encode_sealed`]) packs them at one width with the rare wider ones
//!   patched, which decodes at a fixed-width read a sample.
//! - **XOR** (Gorilla, Pelkonen et al., VLDB 2015): each float XOR'd with
//!   the previous one, stored as its meaningful bits. Any bit pattern
//!   round-trips: NaN payloads, ±0, subnormals, ±∞.
//!
//! The decimal form is chosen only when it is smaller; decoding checks
//! every length and fails with [`CodecError`] on a damaged block, never
//! panics.

use thiserror::Error;

/// Why a block could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CodecError {
    /// The block ends before its samples do.
    #[error("the compressed block is truncated")]
    Truncated,
    /// The block names an encoding this version does not know.
    #[error("the compressed block has an unknown encoding {0}")]
    UnknownEncoding(u8),
    /// The block declares more samples than it can hold.
    #[error("the compressed block declares {0} samples, more than it can hold")]
    TooManySamples(u64),
}

/// Most samples in one block (a bound for decoding untrusted bytes).
pub const MAX_BLOCK_SAMPLES: usize = 1 << 20;

const XOR: u8 = 0;
const DECIMAL: u8 = 1;

/// Compresses `times` and `values` (of equal length) into one block.
///
/// # Panics
/// Never; lengths that differ are cut to the shorter.
pub fn encode_block(times: &[f64], values: &[f64]) -> Vec<u8> {
    let count = times.len().min(values.len()).min(MAX_BLOCK_SAMPLES);
    let mut out = Vec::with_capacity(16 + count * 2);
    write_varint(&mut out, count as u64);
    encode_column(&mut out, &times[..count]);
    encode_column(&mut out, &values[..count]);
    out
}

/// Compresses a block whose reader keeps its sample count and first
/// sample elsewhere (a series keeps them in the block's summary): the
/// same encodings as [`encode_block`] without those, so a short block
/// costs a few header bytes and its samples' bits. Decode with
/// [`decode_sealed`], given the same count and first sample.
pub fn encode_sealed(times: &[f64], values: &[f64]) -> Vec<u8> {
    let count = times.len().min(values.len()).min(MAX_BLOCK_SAMPLES);
    let mut out = Vec::with_capacity(4 + count * 2);
    let (tag, body) = encode_sealed_column(&times[..count]);
    out.push(tag);
    write_varint(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    let (tag, body) = encode_sealed_column(&values[..count]);
    out.push(tag);
    out.extend_from_slice(&body);
    out
}

/// Decodes a block made by [`encode_sealed`] of `count` samples whose
/// first sample is `first`, appending to `times` and `values`.
pub fn decode_sealed(
    bytes: &[u8],
    count: usize,
    first: (f64, f64),
    times: &mut Vec<f64>,
    values: &mut Vec<f64>,
) -> Result<(), CodecError> {
    if count > MAX_BLOCK_SAMPLES {
        return Err(CodecError::TooManySamples(count as u64));
    }
    if count == 0 {
        return Ok(());
    }
    let mut reader = ByteReader { bytes, at: 0 };
    let tag = reader.byte()?;
    let section = reader.section()?;
    decode_column_body(tag, section, count, Some(first.0), times)?;
    let tag = reader.byte()?;
    let rest = &bytes[reader.at..];
    decode_column_body(tag, rest, count, Some(first.1), values)
}

/// A sealed column's tag (encoding, scale and order in one byte) and
/// bits: the packed decimal form, or XOR where that is smaller.
fn encode_sealed_column(column: &[f64]) -> (u8, Vec<u8>) {
    // Delta or delta-of-delta, whichever packs smaller (sizes counted
    // from the codes; only the smaller is written).
    let decimal = decimal_integers(column).map(|(scale, integers)| {
        let by_delta: Vec<u64> = integers
            .windows(2)
            .map(|pair| zigzag(pair[1].wrapping_sub(pair[0])))
            .collect();
        let by_second_delta = second_order(&by_delta);
        let (order, codes) = if packed_widths(&by_second_delta).2 < packed_widths(&by_delta).2 {
            (2, by_second_delta)
        } else {
            (1, by_delta)
        };
        (scale, order, encode_packed(&codes))
    });
    // XOR is tried only where the decimal form is costly (or absent).
    let worth_xor = decimal
        .as_ref()
        .is_none_or(|(_, _, bytes)| bytes.len() > column.len() * 4);
    let xor = worth_xor.then(|| encode_xor(column, true));
    match (decimal, xor) {
        (Some((scale, order, decimal)), xor)
            if xor.as_ref().is_none_or(|x| decimal.len() < x.len()) =>
        {
            (
                SEALED_DECIMAL | SEALED_PACKED | scale | ((order - 1) << 4),
                decimal,
            )
        }
        (_, xor) => (XOR, xor.unwrap_or_else(|| encode_xor(column, true))),
    }
}

/// Tag bit of a packed decimal column: every delta (or delta-of-delta)
/// after the first value, zigzag-coded in the low bits of one width,
/// with the few codes that need more patched afterwards (the "patched
/// frame of reference" of Zukowski et al., ICDE 2006). A column that
/// moves by similar steps costs the bits of its usual step a sample,
/// and decodes at one fixed-width read a sample.
///
/// Layout: width `w` (8 bits), exception count `e` (16 bits), the
/// exceptions' high-part width `h` (8 bits), the codes' low `w` bits,
/// then `e` indices (each in the bits a code index needs) in ascending
/// order, then their high parts (`h` bits each).
const SEALED_PACKED: u8 = 0x20;

/// Most codes a packed column patches (more cost more than a wider
/// width).
const MAX_EXCEPTIONS: usize = u16::MAX as usize;

/// The width, and the high-part width of the codes above it, that make
/// the packed form of `codes` smallest; and its size in bits.
fn packed_widths(codes: &[u64]) -> (u32, u32, u64) {
    let mut lengths = [0u64; 65];
    for &code in codes {
        lengths[(64 - code.leading_zeros()) as usize] += 1;
    }
    let longest = (0..=64).rev().find(|&l| lengths[l] > 0).unwrap_or(0) as u32;
    let index_bits = u64::from(index_bits(codes.len()));
    let mut best = (longest, 0, 32 + u64::from(longest) * codes.len() as u64);
    // Codes longer than the width tried, counted from the longest down.
    let mut above = 0u64;
    for width in (0..longest).rev() {
        above += lengths[width as usize + 1];
        if above as usize > MAX_EXCEPTIONS {
            break;
        }
        let high = longest - width;
        let bits =
            32 + u64::from(width) * codes.len() as u64 + above * (index_bits + u64::from(high));
        if bits < best.2 {
            best = (width, high, bits);
        }
    }
    best
}

/// Bits an index into `count` codes takes.
fn index_bits(count: usize) -> u32 {
    usize::BITS - count.saturating_sub(1).leading_zeros()
}

/// The packed form of a decimal column whose first value is kept
/// elsewhere.
fn encode_packed(codes: &[u64]) -> Vec<u8> {
    let (width, high, _) = packed_widths(codes);
    let exceptions: Vec<usize> = (0..codes.len())
        .filter(|&i| width < 64 && codes[i] >> width != 0)
        .collect();
    let mut bits = BitWriter::default();
    bits.write(u64::from(width), 8);
    bits.write(exceptions.len() as u64, 16);
    bits.write(u64::from(high), 8);
    for &code in codes {
        bits.write(code, width);
    }
    let index_width = index_bits(codes.len());
    for &i in &exceptions {
        bits.write(i as u64, index_width);
    }
    for &i in &exceptions {
        bits.write(codes[i] >> width, high);
    }
    bits.finish()
}

/// The zigzag-coded deltas (`order` 1) or delta-of-deltas (2) of the
/// integers `v × 10^scale`, after the first.
fn decimal_codes(column: &[f64], scale: u8, order: u8) -> Vec<u64> {
    let power = POWERS[scale as usize];
    let (mut previous, mut previous_delta) = (0i64, 0i64);
    let mut codes = Vec::with_capacity(column.len());
    for (i, &v) in column.iter().enumerate() {
        let n = nearest_integer(v * power);
        if i > 0 {
            let delta = n.wrapping_sub(previous);
            let coded = if order == 1 {
                delta
            } else {
                delta.wrapping_sub(previous_delta)
            };
            codes.push(zigzag(coded));
            previous_delta = delta;
        }
        previous = n;
    }
    codes
}

/// The delta-of-delta codes of a column whose delta codes (order 1 of
/// [`decimal_codes`]) are `by_delta`: what order 2 gives, without
/// reading the column again.
fn second_order(by_delta: &[u64]) -> Vec<u64> {
    let mut previous = 0i64;
    by_delta
        .iter()
        .map(|&code| {
            let delta = unzigzag(code);
            let coded = zigzag(delta.wrapping_sub(previous));
            previous = delta;
            coded
        })
        .collect()
}

/// Tag bit of a decimal column in a sealed block (low bits: the scale;
/// bit 4: delta-of-delta).
const SEALED_DECIMAL: u8 = 0x80;

fn decode_column_body(
    tag: u8,
    bits: &[u8],
    count: usize,
    first: Option<f64>,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    if tag & SEALED_DECIMAL != 0 {
        let scale = tag & 0x0f;
        let order = ((tag >> 4) & 0x01) + 1;
        if scale > 9 || order > 2 {
            return Err(CodecError::UnknownEncoding(tag));
        }
        if tag & SEALED_PACKED == 0 {
            return Err(CodecError::UnknownEncoding(tag));
        }
        decode_packed_into(bits, count, scale, order, first, out)
    } else if tag == XOR {
        decode_xor_into(bits, count, first, out)
    } else {
        Err(CodecError::UnknownEncoding(tag))
    }
}

/// The times and values of a block made by [`encode_block`].
pub fn decode_block(bytes: &[u8]) -> Result<(Vec<f64>, Vec<f64>), CodecError> {
    let mut reader = ByteReader { bytes, at: 0 };
    let count = reader.varint()?;
    if count > MAX_BLOCK_SAMPLES as u64 {
        return Err(CodecError::TooManySamples(count));
    }
    let count = count as usize;
    let times = decode_column(&mut reader, count)?;
    let values = decode_column(&mut reader, count)?;
    Ok((times, values))
}

fn encode_column(out: &mut Vec<u8>, column: &[f64]) {
    let xor = encode_xor(column, false);
    let decimal = decimal_scale(column).map(|scale| {
        let by_delta = encode_decimal(column, scale, 1);
        let by_second_delta = encode_decimal(column, scale, 2);
        if by_delta.len() <= by_second_delta.len() {
            (scale, 1, by_delta)
        } else {
            (scale, 2, by_second_delta)
        }
    });
    match decimal {
        Some((scale, order, decimal)) if decimal.len() < xor.len() => {
            out.push(DECIMAL);
            out.push(scale);
            out.push(order);
            write_varint(out, decimal.len() as u64);
            out.extend_from_slice(&decimal);
        }
        _ => {
            out.push(XOR);
            write_varint(out, xor.len() as u64);
            out.extend_from_slice(&xor);
        }
    }
}

fn decode_column(reader: &mut ByteReader<'_>, count: usize) -> Result<Vec<f64>, CodecError> {
    let encoding = reader.byte()?;
    match encoding {
        DECIMAL => {
            let scale = reader.byte()?;
            let order = reader.byte()?;
            if scale > 9 || !(1..=2).contains(&order) {
                return Err(CodecError::UnknownEncoding(encoding));
            }
            let bits = reader.section()?;
            let mut out = Vec::with_capacity(count.min(bits.len() * 8 + 1));
            decode_decimal_into(bits, count, scale, order, &mut out)?;
            Ok(out)
        }
        XOR => {
            let bits = reader.section()?;
            let mut out = Vec::with_capacity(count.min(bits.len() * 8 + 1));
            decode_xor_into(bits, count, None, &mut out)?;
            Ok(out)
        }
        other => Err(CodecError::UnknownEncoding(other)),
    }
}

const POWERS: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/// Integers beyond this lose precision as f64: not decimal.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// `x` rounded to the nearest integer, halves away from zero (as
/// [`f64::round`], without its call into the maths library on CPUs
/// without a rounding instruction); saturating beyond `i64`.
#[inline]
fn nearest_integer(x: f64) -> i64 {
    let whole = x as i64;
    // Exact below 2^53; above, `x` is a whole number and this is 0.
    let fraction = x - whole as f64;
    if fraction >= 0.5 {
        whole.saturating_add(1)
    } else if fraction <= -0.5 {
        whole.saturating_sub(1)
    } else {
        whole
    }
}

/// The smallest `k` such that every number of `column` is `n / 10^k`
/// exactly, bit for bit.
fn decimal_scale(column: &[f64]) -> Option<u8> {
    (0..POWERS.len() as u8).find(|&k| {
        let power = POWERS[k as usize];
        column.iter().all(|&v| {
            let scaled = v * power;
            // Compared as the decoder computes it: from the integer (so
            // -0.0, which becomes 0, stays in the XOR form).
            scaled.abs() <= MAX_EXACT
                && (nearest_integer(scaled) as f64 / power).to_bits() == v.to_bits()
        })
    })
}

/// [`decimal_scale`] and the integers `v × 10^k` of the column at that
/// scale, found in one pass at the scale that holds.
fn decimal_integers(column: &[f64]) -> Option<(u8, Vec<i64>)> {
    let mut integers = Vec::with_capacity(column.len());
    'scales: for k in 0..POWERS.len() as u8 {
        let power = POWERS[k as usize];
        integers.clear();
        for &v in column {
            let scaled = v * power;
            let n = nearest_integer(scaled);
            if !(scaled.abs() <= MAX_EXACT && (n as f64 / power).to_bits() == v.to_bits()) {
                continue 'scales;
            }
            integers.push(n);
        }
        return Some((k, integers));
    }
    None
}

/// The integers `v × 10^scale` as deltas (`order` 1) or delta-of-deltas
/// (`order` 2).
fn encode_decimal(column: &[f64], scale: u8, order: u8) -> Vec<u8> {
    let mut bits = BitWriter::default();
    if let Some(&first) = column.first() {
        bits.write(zigzag(nearest_integer(first * POWERS[scale as usize])), 64);
    }
    for code in decimal_codes(column, scale, order) {
        write_bucketed(&mut bits, code);
    }
    bits.finish()
}

/// Decodes a decimal column of [`encode_decimal`].
fn decode_decimal_into(
    bytes: &[u8],
    count: usize,
    scale: u8,
    order: u8,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let power = POWERS[scale as usize];
    let mut bits = BitReader::new(bytes);
    out.reserve(count.min(bytes.len() * 8 + 1));
    if count == 0 {
        return Ok(());
    }
    let start = unzigzag(bits.read(64)?);
    let mut integers = Undelta::new(start, order);
    out.push(start as f64 / power);
    for _ in 1..count {
        let n = integers.next(unzigzag(read_bucketed(&mut bits)?));
        out.push(n as f64 / power);
    }
    Ok(())
}

/// Rebuilds a decimal column's integers from their deltas (`order` 1) or
/// delta-of-deltas (2): the inverse of [`decimal_codes`].
struct Undelta {
    previous: i64,
    previous_delta: i64,
    order: u8,
}

impl Undelta {
    fn new(first: i64, order: u8) -> Self {
        Self {
            previous: first,
            previous_delta: 0,
            order,
        }
    }

    /// Turns zigzagged codes, in place, into the integers that follow.
    fn rebuild(&mut self, codes: &mut [u64]) {
        if self.order == 1 {
            let mut previous = self.previous;
            for code in codes.iter_mut() {
                previous = previous.wrapping_add(unzigzag(*code));
                *code = previous as u64;
            }
            self.previous = previous;
        } else {
            let (mut previous, mut delta) = (self.previous, self.previous_delta);
            for code in codes.iter_mut() {
                delta = delta.wrapping_add(unzigzag(*code));
                previous = previous.wrapping_add(delta);
                *code = previous as u64;
            }
            (self.previous, self.previous_delta) = (previous, delta);
        }
    }

    /// The next integer, given its (unzigzagged) code.
    #[inline]
    fn next(&mut self, coded: i64) -> i64 {
        let delta = if self.order == 1 {
            coded
        } else {
            self.previous_delta.wrapping_add(coded)
        };
        self.previous_delta = delta;
        self.previous = self.previous.wrapping_add(delta);
        self.previous
    }
}

/// Decodes a packed decimal column ([`encode_packed`]): the codes a
/// chunk at a time (fixed-width reads, then the chunk's patches), then
/// their integers, each divided by the scale's power of ten.
fn decode_packed_into(
    bytes: &[u8],
    count: usize,
    scale: u8,
    order: u8,
    first: Option<f64>,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let power = POWERS[scale as usize];
    let first = first.ok_or(CodecError::UnknownEncoding(SEALED_PACKED))?;
    let mut header = BitReader::new(bytes);
    let width = header.read(8)? as u32;
    let exceptions = header.read(16)? as usize;
    let high = header.read(8)? as u32;
    let codes = count.saturating_sub(1);
    let index_width = index_bits(codes);
    if width > 64 || width + high > 64 || exceptions > codes || (exceptions > 0 && width == 64) {
        return Err(CodecError::UnknownEncoding(SEALED_PACKED));
    }
    let packed_end = 32 + codes * width as usize;
    let total = packed_end + exceptions * (index_width + high) as usize;
    if total > bytes.len() * 8 {
        return Err(CodecError::Truncated);
    }
    // The exceptions: where each is and its high bits (in bounds: the
    // length was checked above).
    let mut indices = BitReader {
        bytes,
        at: packed_end,
    };
    let mut highs = BitReader {
        bytes,
        at: packed_end + exceptions * index_width as usize,
    };
    let mut left = exceptions;
    let mut next_patch = move || {
        if left == 0 {
            return (usize::MAX, 0);
        }
        left -= 1;
        let index = indices.read_within(index_width) as usize;
        (index, highs.read_within(high) << width)
    };
    let mut patch = next_patch();
    let start = nearest_integer(first * power);
    let from = out.len();
    out.resize(from + count, 0.0);
    let dest = &mut out[from..];
    dest[0] = start as f64 / power;
    let mut integers = Undelta::new(start, order);
    let mut chunk = [0u64; 64];
    let mut at = 32;
    for (done, dest) in (0..codes).step_by(64).zip(dest[1..].chunks_mut(64)) {
        let chunk = &mut chunk[..dest.len()];
        unpack(bytes, at, width, chunk);
        at += chunk.len() * width as usize;
        while patch.0 < done + chunk.len() {
            let slot = patch
                .0
                .checked_sub(done)
                .ok_or(CodecError::UnknownEncoding(SEALED_PACKED))?;
            chunk[slot] |= patch.1;
            patch = next_patch();
        }
        integers.rebuild(chunk);
        for (value, &n) in dest.iter_mut().zip(chunk.iter()) {
            *value = n as i64 as f64 / power;
        }
    }
    if patch.0 != usize::MAX {
        // Indices out of order or out of range: not a block made here.
        out.truncate(from);
        return Err(CodecError::UnknownEncoding(SEALED_PACKED));
    }
    Ok(())
}

/// Reads `out.len()` codes of `width` bits from bit `at` of `bytes` (the
/// caller checked they are there; past the end reads zeros).
fn unpack(bytes: &[u8], mut at: usize, width: u32, out: &mut [u64]) {
    match width {
        0 => out.fill(0),
        1..=56 => {
            for code in out.iter_mut() {
                *code = (word_at(bytes, at / 8) << (at % 8)) >> (64 - width);
                at += width as usize;
            }
        }
        _ => {
            let mut bits = BitReader { bytes, at };
            for code in out.iter_mut() {
                *code = bits.read_within(width);
            }
        }
    }
}

/// The eight bytes of `bytes` from `from`, zero-padded past the end.
#[inline(always)]
fn word_at(bytes: &[u8], from: usize) -> u64 {
    if let Some(Ok(eight)) = bytes.get(from..from + 8).map(<[u8; 8]>::try_from) {
        return u64::from_be_bytes(eight);
    }
    let from = from.min(bytes.len());
    let available = &bytes[from..];
    let mut buffer = [0u8; 8];
    let n = available.len().min(8);
    buffer[..n].copy_from_slice(&available[..n]);
    u64::from_be_bytes(buffer)
}

/// Gorilla's float compression: the XOR with the previous value, as a
/// `0` bit when equal, else its meaningful bits (reusing the previous
/// window of leading and trailing zeros when it fits).
fn encode_xor(column: &[f64], implicit_first: bool) -> Vec<u8> {
    let mut bits = BitWriter::default();
    let mut previous = 0u64;
    let (mut leading, mut trailing) = (u32::MAX, 0u32);
    for (i, &v) in column.iter().enumerate() {
        let current = v.to_bits();
        if i == 0 {
            if !implicit_first {
                bits.write(current, 64);
            }
            previous = current;
            continue;
        }
        let xor = current ^ previous;
        previous = current;
        if xor == 0 {
            bits.write(0, 1);
            continue;
        }
        bits.write(1, 1);
        let (lz, tz) = (xor.leading_zeros().min(31), xor.trailing_zeros());
        if leading != u32::MAX && lz >= leading && tz >= trailing {
            bits.write(0, 1);
            bits.write(xor >> trailing, 64 - leading - trailing);
        } else {
            leading = lz;
            trailing = tz;
            let meaningful = 64 - lz - tz;
            bits.write(1, 1);
            bits.write(u64::from(lz), 5);
            // 1…64 meaningful bits, stored as 0…63.
            bits.write(u64::from(meaningful - 1), 6);
            bits.write(xor >> tz, meaningful);
        }
    }
    bits.finish()
}

/// Decodes an XOR column; `first` is the first value when the block
/// leaves it out.
fn decode_xor_into(
    bytes: &[u8],
    count: usize,
    first: Option<f64>,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let mut bits = BitReader::new(bytes);
    out.reserve(count.min(bytes.len() * 8 + 1));
    let mut previous = 0u64;
    let (mut leading, mut trailing) = (0u32, 0u32);
    for i in 0..count {
        if i == 0 {
            previous = match first {
                Some(first) => first.to_bits(),
                None => bits.read(64)?,
            };
        } else if bits.read(1)? == 1 {
            if bits.read(1)? == 1 {
                leading = bits.read(5)? as u32;
                let meaningful = bits.read(6)? as u32 + 1;
                if leading + meaningful > 64 {
                    return Err(CodecError::Truncated);
                }
                trailing = 64 - leading - meaningful;
            }
            let meaningful = 64 - leading - trailing;
            previous ^= bits.read(meaningful)? << trailing;
        }
        out.push(f64::from_bits(previous));
    }
    Ok(())
}

/// Bit lengths of the buckets of [`write_bucketed`], after their prefix.
const BUCKETS: [(u64, u32, u32); 4] = [
    // (prefix, prefix bits, payload bits)
    (0b10, 2, 7),
    (0b110, 3, 12),
    (0b1110, 4, 20),
    (0b1111, 4, 64),
];

/// `0` for zero, else the smallest bucket whose payload holds `value`.
fn write_bucketed(bits: &mut BitWriter, value: u64) {
    if value == 0 {
        bits.write(0, 1);
        return;
    }
    for (prefix, prefix_bits, payload_bits) in BUCKETS {
        if payload_bits == 64 || value < (1u64 << payload_bits) {
            bits.write(prefix, prefix_bits);
            bits.write(value, payload_bits);
            return;
        }
    }
}

fn read_bucketed(bits: &mut BitReader<'_>) -> Result<u64, CodecError> {
    match bits.prefix_ones(4)? {
        0 => Ok(0),
        n => bits.read(BUCKETS[n - 1].2),
    }
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bits written most significant first into bytes.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u64,
    used: u32,
}

impl BitWriter {
    /// Writes the low `count` (0…64) bits of `value`.
    fn write(&mut self, value: u64, count: u32) {
        if count == 0 {
            return;
        }
        let value = if count == 64 {
            value
        } else {
            value & ((1u64 << count) - 1)
        };
        let mut left = count;
        while left > 0 {
            let room = 64 - self.used;
            let take = left.min(room);
            let chunk = (value >> (left - take)) & mask(take);
            self.current = if take == 64 {
                chunk
            } else {
                (self.current << take) | chunk
            };
            self.used += take;
            left -= take;
            if self.used == 64 {
                self.bytes.extend_from_slice(&self.current.to_be_bytes());
                self.current = 0;
                self.used = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            let word = self.current << (64 - self.used);
            let bytes = self.used.div_ceil(8) as usize;
            self.bytes.extend_from_slice(&word.to_be_bytes()[..bytes]);
        }
        self.bytes
    }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bits read so far.
    at: usize,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Reads `count` (0…64) bits.
    fn read(&mut self, count: u32) -> Result<u64, CodecError> {
        if count > 56 {
            let high = self.read(count - 32)?;
            return Ok((high << 32) | self.read(32)?);
        }
        let end = self.at + count as usize;
        if end > self.bytes.len() * 8 {
            return Err(CodecError::Truncated);
        }
        if count == 0 {
            return Ok(0);
        }
        let value = (self.word() << (self.at % 8)) >> (64 - count);
        self.at = end;
        Ok(value)
    }

    /// Reads `count` (0…64) bits the caller knows are there (past the
    /// end, zeros).
    #[inline]
    fn read_within(&mut self, count: u32) -> u64 {
        if count == 0 {
            return 0;
        }
        if count > 56 {
            let high = self.read_within(count - 32);
            return (high << 32) | self.read_within(32);
        }
        let value = (self.word() << (self.at % 8)) >> (64 - count);
        self.at += count as usize;
        value
    }

    /// Reads a run of up to `most` one bits and the zero that ends it
    /// (none after `most` ones), returning how many ones.
    fn prefix_ones(&mut self, most: u32) -> Result<usize, CodecError> {
        let ones = ((self.word() << (self.at % 8)).leading_ones()).min(most);
        let used = ones + u32::from(ones < most);
        if self.at + used as usize > self.bytes.len() * 8 {
            return Err(CodecError::Truncated);
        }
        self.at += used as usize;
        Ok(ones as usize)
    }

    /// The eight bytes from the one holding the next bit, zero-padded
    /// past the end.
    #[inline]
    fn word(&self) -> u64 {
        word_at(self.bytes, self.at / 8)
    }
}

struct ByteReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> ByteReader<'a> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let byte = *self.bytes.get(self.at).ok_or(CodecError::Truncated)?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Truncated)
    }

    /// A length-prefixed run of bytes.
    fn section(&mut self) -> Result<&'a [u8], CodecError> {
        let length = self.varint()?;
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| self.at.checked_add(l))
            .filter(|&end| end <= self.bytes.len())
            .ok_or(CodecError::Truncated)?;
        let section = &self.bytes[self.at..end];
        self.at = end;
        Ok(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(times: &[f64], values: &[f64]) -> usize {
        let block = encode_block(times, values);
        let (t, v) = decode_block(&block).expect("decodes");
        let bits = |c: &[f64]| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&t), bits(times));
        assert_eq!(bits(&v), bits(values));
        block.len()
    }

    /// A quote feed's shape: prices in cents moving a few cents, four
    /// updates a second with a few ms of jitter, receive times in ms.
    fn quotes(n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cents = 10_125i64;
        let mut ms = 1_795_384_143_623i64;
        let (mut times, mut values) = (Vec::new(), Vec::new());
        for _ in 0..n {
            ms += 250 + (next() % 7) as i64 - 3;
            cents += (next() % 9) as i64 - 4;
            times.push(ms as f64 / 1000.0);
            values.push(cents as f64 / 100.0);
        }
        (times, values)
    }

    /// A host metric's shape: CPU % with one decimal, once a second.
    fn cpu(n: usize) -> (Vec<f64>, Vec<f64>) {
        let times = (0..n)
            .map(|i| (1_795_384_143_000i64 + i as i64 * 1000) as f64 / 1000.0)
            .collect();
        let values = (0..n)
            .map(|i| ((200.0 + 150.0 * (i as f64 * 0.05).sin()).round()) / 10.0)
            .collect();
        (times, values)
    }

    #[test]
    fn quote_and_metric_shapes_compress_below_three_bytes_a_sample() {
        for (name, (times, values)) in [("quotes", quotes(4096)), ("cpu", cpu(4096))] {
            let bytes = round_trip(&times, &values);
            let per_sample = bytes as f64 / times.len() as f64;
            eprintln!("{name}: {per_sample:.2} B per sample");
            assert!(per_sample < 3.0, "{name}: {per_sample:.2} B per sample");
        }
    }

    #[test]
    fn special_floats_round_trip_bit_for_bit() {
        let values = [
            f64::NAN,
            f64::from_bits(0x7ff8_0000_0000_beef),
            -0.0,
            0.0,
            f64::MIN_POSITIVE / 3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -f64::MIN_POSITIVE,
            1e-300,
        ];
        let times: Vec<f64> = (0..values.len()).map(|i| i as f64 * 0.001).collect();
        round_trip(&times, &values);
        // Equal and irregular times, and an empty block.
        round_trip(&[5.0; 4], &[1.0, 1.0, 2.0, 2.0]);
        round_trip(&[], &[]);
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let (times, values) = quotes(100);
        let block = encode_block(&times, &values);
        for cut in 0..block.len() {
            assert!(decode_block(&block[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            decode_block(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Err(CodecError::TooManySamples(0xffff_ffff))
        );
        assert_eq!(decode_block(&[1, 9]), Err(CodecError::UnknownEncoding(9)));
    }

    /// `times` and `values` sealed and decoded again.
    fn sealed_round_trip(times: &[f64], values: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let bytes = encode_sealed(times, values);
        let (mut t, mut v) = (Vec::new(), Vec::new());
        decode_sealed(&bytes, times.len(), (times[0], values[0]), &mut t, &mut v).expect("decodes");
        (t, v)
    }

    proptest! {
        #[test]
        fn integers_found_in_one_pass_are_those_of_the_scale(
            steps in proptest::collection::vec(-100_000i64..100_000, 0..300),
            scale in 0u32..6,
            bits in any::<u64>(),
        ) {
            let power = 10f64.powi(scale as i32);
            let mut n = 0i64;
            let mut column: Vec<f64> = steps.iter().map(|s| { n += s; n as f64 / power }).collect();
            if bits % 7 == 0 {
                column.push(f64::from_bits(bits));
            }
            let found = decimal_integers(&column);
            prop_assert_eq!(found.as_ref().map(|f| f.0), decimal_scale(&column));
            if let Some((k, integers)) = found {
                let codes: Vec<u64> = integers.windows(2).map(|p| zigzag(p[1].wrapping_sub(p[0]))).collect();
                prop_assert_eq!(codes, decimal_codes(&column, k, 1));
            }
        }

        #[test]
        fn second_order_codes_are_the_delta_of_delta_codes(
            steps in proptest::collection::vec(-100_000i64..100_000, 1..300),
        ) {
            let mut n = 0i64;
            let column: Vec<f64> = steps.iter().map(|s| { n += s; n as f64 / 100.0 }).collect();
            prop_assert_eq!(
                second_order(&decimal_codes(&column, 2, 1)),
                decimal_codes(&column, 2, 2)
            );
        }

        #[test]
        fn nearest_integer_rounds_as_the_library_does(x in -1e17f64..1e17, bits in any::<u64>()) {
            prop_assert_eq!(nearest_integer(x), x.round() as i64);
            let any = f64::from_bits(bits);
            if any.abs() <= MAX_EXACT {
                prop_assert_eq!(nearest_integer(any), any.round() as i64);
            }
            for half in [0.5, -0.5, 2.5, -2.5, 0.49999999999999994, 4503599627370495.5] {
                prop_assert_eq!(nearest_integer(half), f64::round(half) as i64);
            }
        }

        #[test]
        fn any_bits_round_trip(
            columns in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..200)
        ) {
            let times: Vec<f64> = columns.iter().map(|(t, _)| f64::from_bits(*t)).collect();
            let values: Vec<f64> = columns.iter().map(|(_, v)| f64::from_bits(*v)).collect();
            round_trip(&times, &values);
        }

        #[test]
        fn decimal_columns_round_trip(
            start in -1_000_000_000i64..1_000_000_000,
            steps in proptest::collection::vec(-5000i64..5000, 0..300),
            scale in 0u32..7,
        ) {
            let power = 10f64.powi(scale as i32);
            let mut n = start;
            let values: Vec<f64> = steps.iter().map(|s| { n += s; n as f64 / power }).collect();
            let times: Vec<f64> = (0..values.len()).map(|i| (1_700_000_000_000i64 + i as i64 * 997) as f64 / 1000.0).collect();
            round_trip(&times, &values);
        }

        #[test]
        fn sealed_blocks_round_trip_any_bits(
            pairs in proptest::collection::vec((any::<u64>(), any::<u64>()), 1..300),
        ) {
            let times: Vec<f64> = pairs.iter().map(|p| f64::from_bits(p.0)).collect();
            let values: Vec<f64> = pairs.iter().map(|p| f64::from_bits(p.1)).collect();
            let bytes = encode_sealed(&times, &values);
            let (mut t, mut v) = (Vec::new(), Vec::new());
            decode_sealed(&bytes, times.len(), (times[0], values[0]), &mut t, &mut v).expect("decodes");
            let bits = |c: &[f64]| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&t), bits(&times));
            prop_assert_eq!(bits(&v), bits(&values));
        }

        #[test]
        fn sealed_decimal_blocks_round_trip(
            steps in proptest::collection::vec((0i64..5000, -500i64..500), 1..300),
            scale in 0u32..6,
        ) {
            let power = 10f64.powi(scale as i32);
            let (mut ms, mut n) = (1_795_384_143_623i64, 10_000i64);
            let (mut times, mut values) = (Vec::new(), Vec::new());
            for (dt, dv) in steps {
                ms += dt;
                n += dv;
                times.push(ms as f64 / 1000.0);
                values.push(n as f64 / power);
            }
            let (t, v) = sealed_round_trip(&times, &values);
            prop_assert_eq!(t, times);
            prop_assert_eq!(v, values);
        }

        #[test]
        fn packed_columns_with_rare_jumps_round_trip(
            steps in proptest::collection::vec((0i64..8, -3i64..3, 0u32..40), 2..300),
        ) {
            // Small steps with a jump now and then: the packed form with
            // its jumps patched.
            let mut n = 500_000i64;
            let (mut times, mut values) = (Vec::new(), Vec::new());
            for (i, (dt, dv, jump)) in steps.into_iter().enumerate() {
                n += if jump == 0 { dv << 40 } else { dv };
                times.push(1_795_384_000.0 + (i as f64) * 0.25 + dt as f64 / 1000.0);
                values.push(n as f64 / 100.0);
            }
            let (t, v) = sealed_round_trip(&times, &values);
            prop_assert_eq!(t, times);
            prop_assert_eq!(v, values);
        }

        #[test]
        fn packed_widths_are_never_larger_than_one_width(
            codes in proptest::collection::vec(any::<u64>().prop_map(|c| c >> (c % 64)), 1..300),
        ) {
            let longest = codes.iter().map(|c| 64 - c.leading_zeros()).max().unwrap_or(0);
            let (width, high, bits) = packed_widths(&codes);
            prop_assert!(bits <= 32 + u64::from(longest) * codes.len() as u64);
            prop_assert_eq!(width + high, longest.max(width));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_block(&bytes);
            let (mut t, mut v) = (Vec::new(), Vec::new());
            let _ = decode_sealed(&bytes, 128, (1.0, 2.0), &mut t, &mut v);
            // The same bytes read as a packed decimal column.
            let mut packed = bytes.clone();
            if let Some(tag) = packed.first_mut() {
                *tag = SEALED_DECIMAL | SEALED_PACKED | (*tag & 0x13);
            }
            let _ = decode_sealed(&packed, 128, (1.0, 2.0), &mut t, &mut v);
            let _ = decode_packed_into(&bytes, 128, 2, 2, Some(1.0), &mut v);
        }
    }
}
