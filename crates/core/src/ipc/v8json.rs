//! Advanced-mode user messages made of plain data (objects, dense arrays, strings, finite
//! numbers, booleans, null) rewritten as JSON text on the engine thread, so that JS reads them
//! with one `JSON.parse` instead of a `v8.Deserializer` per message (which costs a C++ object,
//! a global handle and several allocations each).
//!
//! The text is produced only where `JSON.parse` gives a value equal to what V8's deserializer
//! would give for the frame: same types, same property order, same numbers (-0 included), same
//! strings (lone surrogates included). Anything else (undefined, holes, NaN, shared references,
//! dates, typed arrays, host objects, extra array properties, a count that does not match, a
//! version this file does not know, nesting deeper than `MAX_DEPTH`) leaves the frame to V8,
//! which also decides what is malformed.

use std::fmt::Write;

/// Serializer versions whose encoding of the tags below is the same (Node 20 to 24 write 15).
const VERSIONS: std::ops::RangeInclusive<u32> = 13..=15;

/// Deeper values are left to V8.
const MAX_DEPTH: usize = 64;

/// Larger frames are left to V8: its deserializer costs about 1.5 µs per message plus a memcpy,
/// while `JSON.parse` (and the UTF-8 decoding before it) costs about 1 ns per byte, so past
/// about a kilobyte the text is the slower way (measured with Node 20 on string payloads).
pub const MAX_BODY: usize = 1024;

/// The JSON text of the value in `body` (an advanced frame without its length prefix, V8
/// header included), or None when the value must be read by V8 itself. Bytes after the value
/// are ignored, as Node ignores them. Bodies longer than `MAX_BODY` are always refused.
pub fn to_json(body: &[u8]) -> Option<String> {
    if body.len() > MAX_BODY {
        return None;
    }
    let mut c = Conv {
        b: body,
        pos: 0,
        out: String::with_capacity(body.len() + 8),
        keys: Vec::new(),
    };
    c.header()?;
    c.value(0)?;
    Some(c.out)
}

struct Conv<'a> {
    b: &'a [u8],
    pos: usize,
    out: String,
    /// Where each key of the objects being read sits in `out` (a stack: an object's keys are
    /// the entries from its start on), for the duplicate check.
    keys: Vec<(usize, usize)>,
}

impl<'a> Conv<'a> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    /// The next tag, skipping padding (as V8's ReadTag does).
    fn tag(&mut self) -> Option<u8> {
        loop {
            let t = self.byte()?;
            if t != 0 {
                return Some(t);
            }
        }
    }

    fn peek_tag(&mut self) -> Option<u8> {
        let save = self.pos;
        let t = self.tag();
        self.pos = save;
        t
    }

    /// A varint as V8's `ReadVarint<uint32_t>` reads it; longer or larger encodings (which V8
    /// would truncate) are left to V8.
    fn varint(&mut self) -> Option<u32> {
        let mut value: u64 = 0;
        for i in 0..5 {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return u32::try_from(value).ok();
            }
        }
        None
    }

    fn bytes(&mut self, n: u32) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn header(&mut self) -> Option<()> {
        if self.byte()? != 0xff {
            return None;
        }
        VERSIONS.contains(&self.varint()?).then_some(())
    }

    fn double(&mut self) -> Option<f64> {
        let raw: [u8; 8] = self.bytes(8)?.try_into().ok()?;
        let d = f64::from_le_bytes(raw);
        d.is_finite().then_some(d)
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.tag()? {
            b'0' => self.out.push_str("null"),
            b'T' => self.out.push_str("true"),
            b'F' => self.out.push_str("false"),
            t @ (b'I' | b'U') => self.integer(t)?,
            b'N' => {
                let d = self.double()?;
                write_double(&mut self.out, d);
            }
            t @ (b'"' | b'c') => {
                self.out.push('"');
                self.string_body(t)?;
                self.out.push('"');
            }
            b'o' => self.object(depth)?,
            b'A' => self.dense_array(depth)?,
            _ => return None,
        }
        Some(())
    }

    /// An int32 (`I`, zigzag varint) or a uint32 (`U`, varint), in decimal.
    fn integer(&mut self, tag: u8) -> Option<()> {
        let v = self.varint()?;
        if tag == b'I' {
            let n = ((v >> 1) as i32) ^ -((v & 1) as i32);
            let _ = write!(self.out, "{n}");
        } else {
            let _ = write!(self.out, "{v}");
        }
        Some(())
    }

    /// The characters of a one-byte (`"`) or two-byte (`c`) string, escaped for JSON.
    fn string_body(&mut self, tag: u8) -> Option<()> {
        let n = self.varint()?;
        let raw = self.bytes(n)?;
        if tag == b'"' {
            escape_latin1(&mut self.out, raw);
            return Some(());
        }
        if raw.len() % 2 != 0 {
            return None;
        }
        let units = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        for r in char::decode_utf16(units) {
            match r {
                Ok(ch) => escape_char(&mut self.out, ch),
                // JSON.parse turns the escape back into the same lone surrogate.
                Err(e) => {
                    let _ = write!(self.out, "\\u{:04x}", e.unpaired_surrogate());
                }
            }
        }
        Some(())
    }

    /// An object key: a string, or a number V8 wrote for an integer-like key.
    fn key(&mut self) -> Option<()> {
        self.out.push('"');
        match self.tag()? {
            t @ (b'"' | b'c') => self.string_body(t)?,
            t @ (b'I' | b'U') => self.integer(t)?,
            b'N' => {
                // Only where JS's ToString is the plain decimal integer.
                let d = self.double()?;
                if d.fract() != 0.0 || !(0.0..9.007_199_254_740_992e15).contains(&d) {
                    return None;
                }
                if d == 0.0 && d.is_sign_negative() {
                    return None;
                }
                let _ = write!(self.out, "{}", d as u64);
            }
            _ => return None,
        }
        self.out.push('"');
        Some(())
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.out.push('{');
        let first = self.keys.len();
        loop {
            if self.peek_tag()? == b'{' {
                self.tag()?;
                break;
            }
            if self.keys.len() > first {
                self.out.push(',');
            }
            let at = self.out.len();
            self.key()?;
            self.keys.push((at, self.out.len()));
            self.out.push(':');
            self.value(depth + 1)?;
        }
        let count = usize::try_from(self.varint()?).ok()?;
        let read = self.keys.len() - first;
        let duplicate = has_duplicate(&self.out, &mut self.keys[first..]);
        self.keys.truncate(first);
        if count != read || duplicate {
            return None;
        }
        self.out.push('}');
        Some(())
    }

    fn dense_array(&mut self, depth: usize) -> Option<()> {
        let len = self.varint()?;
        self.out.push('[');
        for i in 0..len {
            if i > 0 {
                self.out.push(',');
            }
            // A hole, or `undefined`, has no JSON form.
            if matches!(self.peek_tag()?, b'-' | b'_') {
                return None;
            }
            self.value(depth + 1)?;
        }
        // Named properties on an array have no JSON form either: the end must follow at once.
        if self.tag()? != b'$' || self.varint()? != 0 || self.varint()? != len {
            return None;
        }
        self.out.push(']');
        Some(())
    }
}

/// Whether two keys (ranges of `out`, each a complete JSON string as written here, so equal
/// keys have equal text) are the same.
fn has_duplicate(out: &str, keys: &mut [(usize, usize)]) -> bool {
    if keys.len() < 2 {
        return false;
    }
    let text = |&(a, b): &(usize, usize)| &out[a..b];
    keys.sort_unstable_by(|x, y| text(x).cmp(text(y)));
    keys.windows(2).any(|w| text(&w[0]) == text(&w[1]))
}

fn escape_latin1(out: &mut String, raw: &[u8]) {
    let plain = |b: u8| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\';
    if raw.iter().fold(true, |all, &b| all & plain(b)) {
        // The common case, checked without an early exit so that it vectorizes.
        out.push_str(std::str::from_utf8(raw).unwrap_or_default());
        return;
    }
    let mut from = 0;
    for (i, &b) in raw.iter().enumerate() {
        if !plain(b) {
            // Bytes below 0x80 are ASCII, so this slice is valid UTF-8 as it is.
            out.push_str(std::str::from_utf8(&raw[from..i]).unwrap_or_default());
            escape_char(out, char::from(b));
            from = i + 1;
        }
    }
    out.push_str(std::str::from_utf8(&raw[from..]).unwrap_or_default());
}

fn escape_char(out: &mut String, ch: char) {
    match ch {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// A finite double as JSON text that `JSON.parse` reads back as the same double.
fn write_double(out: &mut String, d: f64) {
    let a = d.abs();
    if d == 0.0 {
        out.push_str(if d.is_sign_negative() { "-0" } else { "0" });
    } else if (1e-6..1e21).contains(&a) {
        // Rust's shortest round-trip digits, without an exponent.
        let _ = write!(out, "{d}");
    } else {
        let _ = write!(out, "{d:e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(body: &[u8]) -> Option<String> {
        to_json(body)
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    // The frames below are the bytes Node 20's `v8.serialize` writes for each value.

    #[test]
    fn plain_values_become_json() {
        assert_eq!(
            conv(&hex("ff0f49feffffff0f")).as_deref(),
            Some("2147483647")
        );
        assert_eq!(
            conv(&hex("ff0f49ffffffff0f")).as_deref(),
            Some("-2147483648")
        );
        assert_eq!(
            conv(&hex("ff0f4e000000000000e041")).as_deref(),
            Some("2147483648")
        );
        assert_eq!(conv(&hex("ff0f4e000000000000f83f")).as_deref(), Some("1.5"));
        assert_eq!(conv(&hex("ff0f4e0000000000000080")).as_deref(), Some("-0"));
        assert_eq!(conv(&hex("ff0f2201e9")).as_deref(), Some("\"é\""));
        assert_eq!(conv(&hex("ff0f63021327")).as_deref(), Some("\"✓\""));
        assert_eq!(
            conv(&hex("ff0f6f490a49024e000000c00b5ae641490622016149047b03")).as_deref(),
            Some(r#"{"5":1,"3000000000":3,"a":2}"#)
        );
        assert_eq!(
            conv(&hex("ff0f410249024904240002")).as_deref(),
            Some("[1,2]")
        );
        assert_eq!(
            conv(&hex("ff0f6f2201626304780013277b01")).as_deref(),
            Some(r#"{"b":"x✓"}"#)
        );
        assert_eq!(conv(&[0xff, 0x0f, b'T']).as_deref(), Some("true"));
        assert_eq!(conv(&[0xff, 0x0f, b'0', 0x99]).as_deref(), Some("null"));
    }

    #[test]
    fn strings_are_escaped_so_json_parse_restores_them() {
        // "a\"\\\n\u0001\u00ff" one-byte, then a lone surrogate and a pair in two-byte form.
        let mut b = vec![0xff, 0x0f, b'"', 6, b'a', b'"', b'\\', b'\n', 1, 0xff];
        assert_eq!(conv(&b).as_deref(), Some("\"a\\\"\\\\\\n\\u0001\u{ff}\""));
        b = vec![0xff, 0x0f, b'c', 6, 0x00, 0xd8, 0x3d, 0xd8, 0x00, 0xde];
        assert_eq!(conv(&b).as_deref(), Some("\"\\ud800\u{1f600}\""));
    }

    #[test]
    fn values_without_an_exact_json_form_are_left_to_v8() {
        for frame in [
            "ff0f5f",                         // undefined
            "ff0f6f2201615f7b01",             // {a: undefined}
            "ff0f61034900490249044904400203", // [1, , 2] (sparse)
            "ff0f4e000000000000f87f",         // NaN
            "ff0f4e000000000000f07f",         // Infinity
            "ff0f5a1001",                     // a BigInt
        ] {
            assert_eq!(conv(&hex(frame)), None, "{frame}");
        }
        // A dense array with a hole, with undefined, and with a named property.
        assert_eq!(conv(&[0xff, 0x0f, b'A', 1, b'-', b'$', 0, 1]), None);
        assert_eq!(conv(&[0xff, 0x0f, b'A', 1, b'_', b'$', 0, 1]), None);
        assert_eq!(
            conv(&[0xff, 0x0f, b'A', 0, b'"', 1, b'x', b'T', b'$', 1, 0]),
            None
        );
        // Counts that do not match what was read (V8 rejects these).
        assert_eq!(conv(&[0xff, 0x0f, b'o', b'{', 1]), None);
        assert_eq!(conv(&[0xff, 0x0f, b'A', 0, b'$', 0, 1]), None);
        // A duplicate key, also when one is written as a number and one as a string.
        assert_eq!(
            conv(&[0xff, 0x0f, b'o', b'I', 2, b'T', b'"', 1, b'1', b'F', b'{', 2]),
            None
        );
        // A shared reference, and an object as a key.
        assert_eq!(conv(&[0xff, 0x0f, b'^', 0]), None);
        assert_eq!(
            conv(&[0xff, 0x0f, b'o', b'o', b'{', 0, b'T', b'{', 1]),
            None
        );
        // Unknown or missing version, truncated data, an overlong varint.
        assert_eq!(conv(&[0xff, 0x10, b'T']), None);
        assert_eq!(conv(b"T"), None);
        assert_eq!(conv(&[0xff, 0x0f, b'"', 5, b'a']), None);
        assert_eq!(
            conv(&[0xff, 0x0f, b'I', 0x80, 0x80, 0x80, 0x80, 0x80, 0]),
            None
        );
        assert_eq!(conv(&[]), None);
    }

    #[test]
    fn long_frames_are_left_to_v8() {
        let mut b = vec![0xff, 0x0f, b'"', 0xfb, 0x07]; // 1019 bytes follow
        b.resize(MAX_BODY, b'x');
        assert!(conv(&b).is_some());
        let mut b = vec![0xff, 0x0f, b'"', 0xfc, 0x07]; // 1020
        b.resize(MAX_BODY + 1, b'x');
        assert_eq!(conv(&b), None);
    }

    #[test]
    fn deep_nesting_is_left_to_v8() {
        let mut b = vec![0xff, 0x0f];
        for _ in 0..=MAX_DEPTH + 1 {
            b.extend_from_slice(&[b'A', 1]);
        }
        b.push(b'T');
        for _ in 0..=MAX_DEPTH + 1 {
            b.extend_from_slice(&[b'$', 0, 1]);
        }
        assert_eq!(conv(&b), None);
    }

    #[test]
    fn doubles_read_back_exactly() {
        for d in [
            0.1,
            -2.5e-7,
            1e21,
            1.7976931348623157e308,
            5e-324,
            123456789.125,
        ] {
            let mut s = String::new();
            write_double(&mut s, d);
            assert_eq!(s.parse::<f64>().ok(), Some(d), "{s}");
        }
    }
}
