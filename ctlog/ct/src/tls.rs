//! Minimal TLS presentation-language codec (RFC 8446 section 3): big-endian integers and
//! length-prefixed opaque vectors. Private: callers see typed structures only.
//!
//! Reading is strict and total: every length is checked against the remaining input and the
//! field's bounds before anything is sliced, so no input can make it panic or allocate more than
//! it was given.

use crate::CtError;

/// A cursor over untrusted input.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CtError> {
        if self.buf.len() < n {
            return Err(CtError::Truncated { what });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CtError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    /// A big-endian unsigned integer of `width` bytes (at most 8).
    pub(crate) fn uint(&mut self, width: usize, what: &'static str) -> Result<u64, CtError> {
        debug_assert!(width <= 8);
        Ok(self
            .bytes(width, what)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, CtError> {
        Ok(self.bytes(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, CtError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, CtError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// An `opaque what<min..max>` vector whose length prefix is `prefix` bytes wide.
    pub(crate) fn opaque(
        &mut self,
        prefix: usize,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], CtError> {
        // A length prefix of at most 3 bytes always fits in usize.
        let len = self.uint(prefix, what)? as usize;
        if len < min || len > max {
            return Err(CtError::LengthOutOfRange {
                what,
                len,
                min,
                max,
            });
        }
        self.bytes(len, what)
    }

    /// Fails unless the whole input was consumed.
    pub(crate) fn finish(self, what: &'static str) -> Result<(), CtError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CtError::TrailingData {
                what,
                extra: self.buf.len(),
            })
        }
    }
}

/// Appends `value` as a big-endian integer of `width` bytes.
///
/// Callers only pass values their types bound to `width` bytes.
pub(crate) fn put_uint(out: &mut Vec<u8>, width: usize, value: u64) {
    debug_assert!(width == 8 || value < (1u64 << (8 * width)));
    out.extend_from_slice(&value.to_be_bytes()[8 - width..]);
}

/// Appends an opaque vector with a `prefix`-byte length.
///
/// Callers only pass data whose length their types bound to what `prefix` bytes can express.
pub(crate) fn put_opaque(out: &mut Vec<u8>, prefix: usize, data: &[u8]) {
    put_uint(out, prefix, data.len() as u64);
    out.extend_from_slice(data);
}

/// Checks a length against the bounds of a field, for constructors of bounded types.
pub(crate) fn check_len(
    what: &'static str,
    len: usize,
    min: usize,
    max: usize,
) -> Result<(), CtError> {
    if len < min || len > max {
        Err(CtError::LengthOutOfRange {
            what,
            len,
            min,
            max,
        })
    } else {
        Ok(())
    }
}

/// The largest length a 2-byte prefix can express.
pub(crate) const MAX_U16: usize = (1 << 16) - 1;
/// The largest length a 3-byte prefix can express.
pub(crate) const MAX_U24: usize = (1 << 24) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_integers_big_endian() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u16("b").unwrap(), 0x0203);
        assert_eq!(r.u64("c").unwrap(), 0x0405060708090a0b);
        r.finish("x").unwrap();
    }

    #[test]
    fn opaque_bounds_and_truncation() {
        assert!(matches!(
            Reader::new(&[0, 0]).opaque(2, 1, 10, "v"),
            Err(CtError::LengthOutOfRange { len: 0, .. })
        ));
        assert!(matches!(
            Reader::new(&[0, 5, 1, 2]).opaque(2, 0, 10, "v"),
            Err(CtError::Truncated { what: "v" })
        ));
        assert!(matches!(
            Reader::new(&[0xff, 0xff, 0xff]).opaque(3, 0, 10, "v"),
            Err(CtError::LengthOutOfRange { .. })
        ));
        let mut r = Reader::new(&[0, 0, 2, 7, 8, 9]);
        assert_eq!(r.opaque(3, 1, MAX_U24, "v").unwrap(), &[7, 8]);
        assert!(matches!(
            r.finish("s"),
            Err(CtError::TrailingData { extra: 1, .. })
        ));
    }

    #[test]
    fn writes_what_it_reads() {
        let mut out = Vec::new();
        put_uint(&mut out, 5, 0x01_0203_0405);
        put_opaque(&mut out, 3, b"abc");
        assert_eq!(out, [1, 2, 3, 4, 5, 0, 0, 3, b'a', b'b', b'c']);
        let mut r = Reader::new(&out);
        assert_eq!(r.uint(5, "i").unwrap(), 0x01_0203_0405);
        assert_eq!(r.opaque(3, 0, 10, "o").unwrap(), b"abc");
        assert!(r.is_empty());
    }
}
