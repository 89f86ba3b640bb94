//! Little-endian field encoding shared by all payloads (FORMAT.md, "Field
//! encoding"): integers and floats little-endian, strings as `u32` byte
//! length then UTF-8, optional strings as a `u8` flag (0 or 1) then the string.

use byteorder::{ByteOrder, LittleEndian as LE, WriteBytesExt};

/// Why bytes failed to decode, the one error of this module (a marker or
/// header, a payload's fields, a chunk's codec stream, a manifest): the
/// rule they break. Readers wrap it, with the place, into a
/// [`Damage`](crate::Damage) ([`StorageError::Corrupt`](crate::engine::StorageError::Corrupt)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

pub(crate) fn put_u8(buf: &mut Vec<u8>, v: u8) {
    buf.push(v);
}

pub(crate) fn put_u32(buf: &mut Vec<u8>, v: u32) {
    // Writing to a Vec cannot fail.
    let _ = buf.write_u32::<LE>(v);
}

pub(crate) fn put_u64(buf: &mut Vec<u8>, v: u64) {
    let _ = buf.write_u64::<LE>(v);
}

pub(crate) fn put_i64(buf: &mut Vec<u8>, v: i64) {
    let _ = buf.write_i64::<LE>(v);
}

pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    // A string longer than u32::MAX would exceed every payload bound, which
    // the frame encoder refuses; saturating keeps this total.
    put_u32(buf, u32::try_from(s.len()).unwrap_or(u32::MAX));
    buf.extend_from_slice(s.as_bytes());
}

pub(crate) fn put_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_u8(buf, 0),
        Some(s) => {
            put_u8(buf, 1);
            put_str(buf, s);
        }
    }
}

/// Reads fields from a payload; every read is bounds-checked.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError("field runs past the end of the payload"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(LE::read_u32(self.take(4)?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(LE::read_u64(self.take(8)?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(LE::read_i64(self.take(8)?))
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| DecodeError("string is not UTF-8"))
    }

    pub(crate) fn opt_str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.str()?)),
            _ => Err(DecodeError("option flag is neither 0 nor 1")),
        }
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError("trailing bytes after the last field"))
        }
    }
}
