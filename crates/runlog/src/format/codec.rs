//! The chunk codec: a series of metric points, sorted by step, compressed
//! losslessly: steps and timestamps as delta-of-deltas in variable-width
//! bit fields (as Facebook's Gorilla does), values in whichever of three
//! encodings is smallest for the chunk. The bytes are specified once, in
//! FORMAT.md, "Chunk codec"; this file implements that text.
//!
//! Why three value modes: XOR (mode 0) is best for repeated values and
//! values with short mantissas (f32 upcast to f64); the bit delta (mode 1)
//! for noisy full-precision values (neighbouring doubles have neighbouring
//! bit patterns, across exponents too); decimal (modes 2 to 11) for
//! quantized values (an accuracy on 1,000 examples, a rounded score).
//! NaN payloads, infinities and -0.0 round-trip bit for bit.

use crate::format::wire::DecodeError;
use crate::format::Metric;


/// Smallest number of bits a point after the first takes (three `0` bits).
const MIN_BITS_PER_POINT: u64 = 3;

/// Value encodings (the mode byte).
const MODE_XOR: u8 = 0;
const MODE_BIT_DELTA: u8 = 1;
const MODE_DECIMAL: u8 = 2;
/// Most decimal digits the decimal mode tries.
const MAX_DECIMALS: u8 = 9;
/// Exact powers of ten (all below 2^53, so exact in f64).
const POW10: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// The delta-of-delta buckets: (prefix, prefix length, payload bits).
const BUCKETS: [(u64, u32, u32); 3] = [(0b10, 2, 7), (0b110, 3, 12), (0b1110, 4, 20)];

struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    used: u32,
}

impl BitWriter<'_> {
    /// Appends the low `n` bits of `value` (n <= 64).
    #[inline]
    fn put(&mut self, value: u64, n: u32) {
        if n == 0 {
            return;
        }
        let value = if n == 64 {
            value
        } else {
            value & ((1u64 << n) - 1)
        };
        let free = 64 - self.used;
        if n <= free {
            self.acc = if n == 64 {
                value
            } else {
                (self.acc << n) | value
            };
            self.used += n;
            if self.used == 64 {
                self.out.extend_from_slice(&self.acc.to_be_bytes());
                self.acc = 0;
                self.used = 0;
            }
        } else {
            let high = n - free;
            self.put(value >> high, free);
            self.put(value, high);
        }
    }

    fn finish(self) {
        let bytes = self.used.div_ceil(8);
        if bytes > 0 {
            let aligned = self.acc << (64 - self.used);
            self.out
                .extend_from_slice(&aligned.to_be_bytes()[..bytes as usize]);
        }
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    /// Next byte to load into the window.
    next: usize,
    /// The window: the next `have` bits, left-aligned.
    window: u64,
    have: u32,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            next: 0,
            window: 0,
            have: 0,
        }
    }

    /// Loads whole bytes into the window while they fit.
    #[inline]
    fn refill(&mut self) {
        if let Some(eight) = self.bytes.get(self.next..self.next + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(eight);
            let word = u64::from_be_bytes(word);
            let k = (64 - self.have) / 8; // whole bytes that fit
            if k > 0 {
                self.window |= (word >> (64 - 8 * k)) << (64 - self.have - 8 * k);
                self.have += 8 * k;
                self.next += k as usize;
            }
            return;
        }
        if self.have <= 32 {
            if let Some(four) = self.bytes.get(self.next..self.next + 4) {
                let word = u32::from_be_bytes([four[0], four[1], four[2], four[3]]);
                self.window |= u64::from(word) << (32 - self.have);
                self.have += 32;
                self.next += 4;
            }
        }
        while self.have <= 56 {
            let Some(&byte) = self.bytes.get(self.next) else {
                break;
            };
            self.window |= u64::from(byte) << (56 - self.have);
            self.have += 8;
            self.next += 1;
        }
    }

    /// Reads `n` bits (n <= 64).
    #[inline(always)]
    fn get(&mut self, n: u32) -> Result<u64, DecodeError> {
        if n == 0 {
            return Ok(0);
        }
        if n > 56 {
            return self.get_wide(n);
        }
        if self.have < n {
            self.refill();
            if self.have < n {
                return Err(DecodeError("the chunk's bit stream ends early"));
            }
        }
        let value = self.window >> (64 - n);
        self.window <<= n;
        self.have -= n;
        Ok(value)
    }

    /// Reads 57 to 64 bits, in two parts.
    #[cold]
    #[inline(never)]
    fn get_wide(&mut self, n: u32) -> Result<u64, DecodeError> {
        let high = self.get(n - 32)?;
        let low = self.get(32)?;
        Ok((high << 32) | low)
    }

    #[inline(always)]
    fn bit(&mut self) -> Result<bool, DecodeError> {
        Ok(self.get(1)? == 1)
    }

    /// The next 4 bits without consuming them (zeros past the end).
    #[inline(always)]
    fn peek4(&mut self) -> u64 {
        if self.have < 4 {
            self.refill();
        }
        self.window >> 60
    }

    /// Consumes `n` bits (n < 64) already seen by a peek.
    #[inline(always)]
    fn skip(&mut self, n: u32) -> Result<(), DecodeError> {
        if self.have < n {
            return Err(DecodeError("the chunk's bit stream ends early"));
        }
        self.window <<= n;
        self.have -= n;
        Ok(())
    }
}

fn put_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.put(0, 1);
        return;
    }
    for (prefix, len, bits) in BUCKETS {
        let limit = 1i64 << (bits - 1);
        if (-limit..limit).contains(&dod) {
            w.put(prefix, len);
            w.put(dod as u64, bits);
            return;
        }
    }
    w.put(0b1111, 4);
    w.put(dod as u64, 64);
}

#[inline(always)]
fn get_dod(r: &mut BitReader) -> Result<i64, DecodeError> {
    // The prefix is at most 4 bits: read them at once.
    let p = r.peek4();
    let (prefix, bits) = if p & 0b1000 == 0 {
        r.skip(1)?;
        return Ok(0);
    } else if p & 0b0100 == 0 {
        (2, BUCKETS[0].2)
    } else if p & 0b0010 == 0 {
        (3, BUCKETS[1].2)
    } else if p & 0b0001 == 0 {
        (4, BUCKETS[2].2)
    } else {
        r.skip(4)?;
        return Ok(r.get(64)? as i64);
    };
    r.skip(prefix)?;
    let raw = r.get(bits)?;
    // Sign-extend the two's complement field.
    let shift = 64 - bits;
    Ok(((raw << shift) as i64) >> shift)
}

/// Encodes points (in the order given: callers sort them by step, then
/// timestamp) and appends the chunk to `out`, in the value mode that makes
/// it smallest. At most `u32::MAX` points.
pub fn encode(points: &[Metric], out: &mut Vec<u8>) {
    let count = u32::try_from(points.len()).unwrap_or(u32::MAX);
    let points = &points[..count as usize];
    let mut best: Option<Vec<u8>> = None;
    let decimal = decimal_digits(points);
    let modes = [
        Some(MODE_XOR),
        Some(MODE_BIT_DELTA),
        decimal.map(|e| MODE_DECIMAL + e),
    ];
    for mode in modes.into_iter().flatten() {
        let mut buf = Vec::new();
        encode_mode(points, mode, &mut buf);
        if best.as_ref().is_none_or(|b| buf.len() < b.len()) {
            best = Some(buf);
        }
    }
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&best.unwrap_or_default());
}

/// The fewest decimal digits `e` with which every value is exactly
/// `k / 10^e`, if any.
fn decimal_digits(points: &[Metric]) -> Option<u8> {
    (0..=MAX_DECIMALS).find(|&e| points.iter().all(|p| to_decimal(p.value, e).is_some()))
}

fn to_decimal(v: f64, e: u8) -> Option<i64> {
    let scale = POW10[usize::from(e)];
    let k = (v * scale).round();
    if !k.is_finite() || k.abs() >= 9_007_199_254_740_992.0 {
        return None;
    }
    let k = k as i64;
    ((k as f64 / scale).to_bits() == v.to_bits()).then_some(k)
}

/// The mode byte and bit stream of one value mode.
fn encode_mode(points: &[Metric], mode: u8, out: &mut Vec<u8>) {
    out.push(mode);
    let Some(first) = points.first() else {
        return;
    };
    let decimals = mode.checked_sub(MODE_DECIMAL);
    let value_word = |v: f64| match decimals {
        Some(e) => to_decimal(v, e).unwrap_or(0) as u64,
        None => v.to_bits(),
    };
    let mut w = BitWriter {
        out,
        acc: 0,
        used: 0,
    };
    w.put(first.step as u64, 64);
    w.put(first.timestamp as u64, 64);
    w.put(value_word(first.value), 64);
    let (mut step, mut ts, mut bits) = (first.step, first.timestamp, value_word(first.value));
    let (mut step_delta, mut ts_delta, mut value_delta) = (0i64, 0i64, 0i64);
    let (mut lead, mut trail) = (u32::MAX, 0u32); // no window yet
    for p in &points[1..] {
        let d = p.step.wrapping_sub(step);
        put_dod(&mut w, d.wrapping_sub(step_delta));
        (step, step_delta) = (p.step, d);
        let d = p.timestamp.wrapping_sub(ts);
        put_dod(&mut w, d.wrapping_sub(ts_delta));
        (ts, ts_delta) = (p.timestamp, d);

        let word = value_word(p.value);
        match mode {
            MODE_XOR => {
                let x = word ^ bits;
                if x == 0 {
                    w.put(0, 1);
                } else {
                    let (l, t) = (x.leading_zeros(), x.trailing_zeros());
                    if lead != u32::MAX && l >= lead && t >= trail {
                        w.put(0b10, 2);
                        w.put(x >> trail, 64 - lead - trail);
                    } else {
                        let len = 64 - l - t;
                        w.put(0b11, 2);
                        w.put(u64::from(l), 6);
                        w.put(u64::from(len - 1), 6);
                        w.put(x >> t, len);
                        (lead, trail) = (l, t);
                    }
                }
            }
            MODE_BIT_DELTA => {
                let d = (word as i64).wrapping_sub(bits as i64);
                let zz = ((d << 1) ^ (d >> 63)) as u64;
                let n = 64 - zz.leading_zeros();
                w.put(u64::from(n), 7);
                w.put(zz, n);
            }
            _ => {
                let d = (word as i64).wrapping_sub(bits as i64);
                put_dod(&mut w, d.wrapping_sub(value_delta));
                value_delta = d;
            }
        }
        bits = word;
    }
    w.finish();
}

/// Decodes a whole chunk.
pub fn decode(chunk: &[u8]) -> Result<Vec<Metric>, DecodeError> {
    let count = chunk
        .first_chunk::<4>()
        .map_or(0, |c| u32::from_le_bytes(*c) as usize);
    // Never more than the bytes can hold (a damaged count is refused below).
    let mut points = Vec::with_capacity(count.min(chunk.len() * 8 / 3 + 1));
    decode_each(chunk, &mut points)?;
    Ok(points)
}

/// Where [`decode_each`] puts a chunk's points, one at a time in order.
/// Implemented by a type rather than taken as a closure so that `put` is
/// inlined into the decoding loop: a closure's body stayed a call per
/// point there (a quarter of a whole-history read, measured).
pub trait PutPoint {
    /// Takes the next point.
    fn put(&mut self, point: Metric);
}

impl PutPoint for Vec<Metric> {
    #[inline(always)]
    fn put(&mut self, point: Metric) {
        self.push(point);
    }
}

/// A closure as a [`PutPoint`], where a call per point costs nothing worth
/// a type of its own.
pub struct EachPoint<F>(pub F);

impl<F: FnMut(Metric)> PutPoint for EachPoint<F> {
    #[inline(always)]
    fn put(&mut self, point: Metric) {
        (self.0)(point);
    }
}

/// Decodes a chunk, handing each point to `out` in order. Never reads past
/// the chunk and never allocates more than the chunk's size justifies.
pub fn decode_each(chunk: &[u8], out: &mut impl PutPoint) -> Result<(), DecodeError> {
    let (head, rest) = chunk
        .split_first_chunk::<4>()
        .ok_or(DecodeError("a chunk is shorter than its 4-byte count"))?;
    let count = u64::from(u32::from_le_bytes(*head));
    let Some((&mode, stream)) = rest.split_first() else {
        return Err(DecodeError("a chunk has no mode byte"));
    };
    if mode > MODE_DECIMAL + MAX_DECIMALS {
        return Err(DecodeError("a chunk has an unknown value mode"));
    }
    if count == 0 {
        return Ok(());
    }
    let bits = stream.len() as u64 * 8;
    if bits < 192 || (count - 1) * MIN_BITS_PER_POINT > bits - 192 {
        return Err(DecodeError(
            "the chunk holds fewer bits than its count needs",
        ));
    }
    let decimals = mode
        .checked_sub(MODE_DECIMAL)
        .map(|e| POW10[usize::from(e)]);
    let value_of = |word: u64| match decimals {
        Some(scale) => word as i64 as f64 / scale,
        None => f64::from_bits(word),
    };
    let mut r = BitReader::new(stream);
    let mut step = r.get(64)? as i64;
    let mut ts = r.get(64)? as i64;
    let mut word = r.get(64)?;
    out.put(Metric {
        value: value_of(word),
        timestamp: ts,
        step,
    });
    let (mut step_delta, mut ts_delta, mut value_delta) = (0i64, 0i64, 0i64);
    let (mut lead, mut trail) = (u32::MAX, 0u32);
    for _ in 1..count {
        step_delta = step_delta.wrapping_add(get_dod(&mut r)?);
        step = step.wrapping_add(step_delta);
        ts_delta = ts_delta.wrapping_add(get_dod(&mut r)?);
        ts = ts.wrapping_add(ts_delta);
        match mode {
            MODE_XOR => {
                if r.bit()? {
                    let x = if r.bit()? {
                        let l = r.get(6)? as u32;
                        let len = r.get(6)? as u32 + 1;
                        if l + len > 64 {
                            return Err(DecodeError("a value window is wider than 64 bits"));
                        }
                        lead = l;
                        trail = 64 - l - len;
                        r.get(len)? << trail
                    } else {
                        if lead == u32::MAX {
                            return Err(DecodeError(
                                "a value reuses a window before any was opened",
                            ));
                        }
                        r.get(64 - lead - trail)? << trail
                    };
                    word ^= x;
                }
            }
            MODE_BIT_DELTA => {
                let n = r.get(7)? as u32;
                if n > 64 {
                    return Err(DecodeError("a value delta is longer than 64 bits"));
                }
                let zz = r.get(n)?;
                let d = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
                word = (word as i64).wrapping_add(d) as u64;
            }
            _ => {
                value_delta = value_delta.wrapping_add(get_dod(&mut r)?);
                word = (word as i64).wrapping_add(value_delta) as u64;
            }
        }
        out.put(Metric {
            value: value_of(word),
            timestamp: ts,
            step,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(points: &[Metric]) -> usize {
        let mut buf = Vec::new();
        encode(points, &mut buf);
        let back = decode(&buf).unwrap();
        assert_eq!(back.len(), points.len());
        for (a, b) in points.iter().zip(&back) {
            assert_eq!(
                (a.step, a.timestamp, a.value.to_bits()),
                (b.step, b.timestamp, b.value.to_bits())
            );
        }
        buf.len()
    }

    fn m(step: i64, timestamp: i64, value: f64) -> Metric {
        Metric {
            value,
            timestamp,
            step,
        }
    }

    #[test]
    fn edge_values_round_trip() {
        assert_eq!(roundtrip(&[]), 5);
        roundtrip(&[m(0, 0, 0.0)]);
        let nan_payload = f64::from_bits(0x7ff8_0000_dead_beef);
        roundtrip(&[
            m(i64::MIN, i64::MAX, f64::NAN),
            m(i64::MAX, i64::MIN, nan_payload),
            m(-5, 0, f64::INFINITY),
            m(-5, 0, f64::NEG_INFINITY),
            m(3, 1, -0.0),
            m(3, 1, 0.0),
            m(1 << 40, -(1 << 40), f64::MIN_POSITIVE),
            m(0, 0, f64::MAX),
            m(0, 0, 5e-324),
        ]);
        // Every delta-of-delta bucket boundary.
        let mut steps = vec![0i64];
        for d in [
            0,
            63,
            -64,
            64,
            -65,
            2047,
            -2048,
            2048,
            524_287,
            -524_288,
            524_288,
            i64::MAX,
        ] {
            let last = *steps.last().unwrap();
            let prev = steps.len().checked_sub(2).map_or(0, |i| last - steps[i]);
            steps.push(last.wrapping_add(prev.wrapping_add(d)));
        }
        let points: Vec<Metric> = steps.iter().map(|&s| m(s, s, s as f64)).collect();
        roundtrip(&points);
    }

    #[test]
    fn regular_series_compress() {
        // Constant value, step +1, same timestamp: 3 bits per point.
        let flat: Vec<Metric> = (0..10_000).map(|s| m(s, 1_700_000_000_000, 0.5)).collect();
        let bytes = roundtrip(&flat);
        assert!(bytes < 10_000 * 3 / 8 + 40, "{bytes}");
    }

    #[test]
    fn damaged_chunks_are_refused_not_panicked_on() {
        let points: Vec<Metric> = (0..100).map(|s| m(s, s * 7, (s as f64).sin())).collect();
        let mut buf = Vec::new();
        encode(&points, &mut buf);
        for cut in 0..buf.len() {
            let _ = decode(&buf[..cut]); // no panic
        }
        assert!(decode(&buf[..3]).is_err());
        let mut huge = buf.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err(), "a count the bytes cannot hold");
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bad = buf.clone();
            let i = (seed as usize) % bad.len();
            bad[i] ^= 1 << (seed >> 60 & 7);
            let _ = decode(&bad);
        }
    }
}
