//! The subset of V8's value-serializer format (docs/PROTOCOL.md §2.3) that the engine needs to read
//! and write internal messages in `serialization: 'advanced'` mode. User messages are not
//! decoded here: `v8json` rewrites those of plain data as JSON text, and the bytes of the others
//! go to JS, which uses V8's own deserializer.

use serde_json::{Map, Number, Value};

const VERSION: u8 = 15;

#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: &str) -> Result<T, DecodeError> {
    Err(DecodeError(msg.to_string()))
}

/// Deepest nesting accepted before giving up (internal messages are two levels deep).
const MAX_DEPTH: usize = 64;

/// The outcome of reading a value: `Undefined` is kept apart so that object properties holding
/// `undefined` can be dropped the way JSON would.
enum Read {
    Undefined,
    Value(Value),
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let v = *self
            .b
            .get(self.pos)
            .ok_or_else(|| DecodeError("unexpected end of data".into()))?;
        self.pos += 1;
        Ok(v)
    }
    fn tag(&mut self) -> Result<u8, DecodeError> {
        loop {
            let t = self.byte()?;
            if t != 0 {
                return Ok(t);
            }
        }
    }
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut out: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift < 64 {
                out |= u64::from(b & 0x7f) << shift;
            }
            if b & 0x80 == 0 {
                return Ok(out);
            }
            shift += 7;
            if shift > 70 {
                return err("varint too long");
            }
        }
    }
    fn bytes(&mut self, n: u64) -> Result<&'a [u8], DecodeError> {
        let n = usize::try_from(n).map_err(|_| DecodeError("length too large".into()))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| DecodeError("length too large".into()))?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or_else(|| DecodeError("unexpected end of data".into()))?;
        self.pos = end;
        Ok(s)
    }

    fn value(&mut self, depth: usize) -> Result<Read, DecodeError> {
        if depth > MAX_DEPTH {
            return err("nesting too deep");
        }
        let t = self.tag()?;
        let v = match t {
            b'_' => return Ok(Read::Undefined),
            b'-' => Value::Null, // array hole
            b'0' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'I' => {
                let z = self.varint()?;
                let n = ((z >> 1) as i64) ^ -((z & 1) as i64);
                Value::Number(Number::from(n as i32))
            }
            b'U' => Value::Number(Number::from(self.varint()? as u32)),
            b'N' => {
                let raw = self.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(raw);
                number(f64::from_le_bytes(a))
            }
            b'"' => {
                let n = self.varint()?;
                Value::String(self.bytes(n)?.iter().map(|&c| c as char).collect())
            }
            b'c' => {
                let n = self.varint()?;
                let raw = self.bytes(n)?;
                if raw.len() % 2 != 0 {
                    return err("odd two-byte string length");
                }
                let units: Vec<u16> = raw
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                Value::String(String::from_utf16_lossy(&units))
            }
            b'S' => {
                let n = self.varint()?;
                Value::String(String::from_utf8_lossy(self.bytes(n)?).into_owned())
            }
            b'o' => Value::Object(self.object_props(b'{', depth)?),
            b'A' => {
                let len = self.varint()?;
                let mut arr = Vec::new();
                for _ in 0..len.min(1 << 20) {
                    arr.push(match self.value(depth + 1)? {
                        Read::Undefined => Value::Null,
                        Read::Value(v) => v,
                    });
                }
                // Extra named properties are not part of any cluster message; skip them.
                let _ = self.object_props(b'$', depth)?;
                self.varint()?;
                Value::Array(arr)
            }
            b'a' => {
                let len = self.varint()?;
                let props = self.object_props(b'@', depth)?;
                self.varint()?;
                let mut arr = vec![Value::Null; len.min(1 << 20) as usize];
                for (k, v) in props {
                    if let Ok(i) = k.parse::<usize>() {
                        if i < arr.len() {
                            arr[i] = v;
                        }
                    }
                }
                Value::Array(arr)
            }
            other => return Err(DecodeError(format!("unsupported tag 0x{other:02x}"))),
        };
        Ok(Read::Value(v))
    }

    /// Reads key/value pairs until `end`, then the property count that follows it.
    fn object_props(&mut self, end: u8, depth: usize) -> Result<Map<String, Value>, DecodeError> {
        let mut map = Map::new();
        loop {
            let save = self.pos;
            let t = self.tag()?;
            if t == end {
                self.varint()?;
                return Ok(map);
            }
            self.pos = save;
            let key = match self.value(depth + 1)? {
                Read::Value(Value::String(s)) => s,
                Read::Value(Value::Number(n)) => n.to_string(),
                _ => return err("bad object key"),
            };
            match self.value(depth + 1)? {
                Read::Undefined => {}
                Read::Value(v) => {
                    map.insert(key, v);
                }
            }
        }
    }
}

fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Value::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Decodes one advanced-mode frame body (header `FF 0F` included) into a JSON-like value.
/// Values outside the supported subset are an error; the caller then treats the frame as a user
/// message and lets JS decode it.
pub fn decode(frame: &[u8]) -> Result<Option<Value>, DecodeError> {
    let mut r = Reader { b: frame, pos: 0 };
    if r.byte()? != 0xff {
        return err("missing V8 serializer header");
    }
    let version = r.varint()?;
    if version == 0 || version > u64::from(VERSION) {
        return Err(DecodeError(format!(
            "unsupported serializer version {version}"
        )));
    }
    match r.value(0)? {
        Read::Undefined => Ok(None),
        Read::Value(v) => Ok(Some(v)),
    }
}

/// Checks only the header of an advanced frame (what Node's reader rejects outright).
pub fn check_header(frame: &[u8]) -> Result<(), DecodeError> {
    match frame {
        [0xff, v, ..] if *v > 0 && *v <= VERSION => Ok(()),
        [0xff, ..] => err("unsupported serializer version"),
        _ => err("missing V8 serializer header"),
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    if s.chars().all(|c| (c as u32) <= 0xff) {
        out.push(b'"');
        put_varint(out, s.chars().count() as u64);
        out.extend(s.chars().map(|c| c as u32 as u8));
    } else {
        let units: Vec<u16> = s.encode_utf16().collect();
        out.push(b'c');
        put_varint(out, (units.len() * 2) as u64);
        for u in units {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(b'0'),
        Value::Bool(true) => out.push(b'T'),
        Value::Bool(false) => out.push(b'F'),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => {
                out.push(b'I');
                put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
            }
            _ => {
                out.push(b'N');
                out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
            }
        },
        Value::String(s) => put_string(out, s),
        Value::Array(a) => {
            out.push(b'A');
            put_varint(out, a.len() as u64);
            for e in a {
                put_value(out, e);
            }
            out.push(b'$');
            put_varint(out, 0);
            put_varint(out, a.len() as u64);
        }
        Value::Object(m) => {
            out.push(b'o');
            for (k, e) in m {
                put_string(out, k);
                put_value(out, e);
            }
            out.push(b'{');
            put_varint(out, m.len() as u64);
        }
    }
}

/// Encodes a value as one complete advanced-mode frame: length prefix, header, value.
pub fn encode_frame(v: &Value) -> Vec<u8> {
    let mut body = vec![0xff, VERSION];
    put_value(&mut body, v);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_matches_the_capture() {
        // docs/PROTOCOL.md §2.3: `online` as 48 bytes.
        let v = serde_json::json!({"cmd":"NODE_CLUSTER","act":"online","seq":0});
        let f = encode_frame(&v);
        assert_eq!(f.len(), 48);
        assert_eq!(&f[..7], &[0, 0, 0, 0x2c, 0xff, 0x0f, 0x6f]);
        assert_eq!(decode(&f[4..]).expect("decode"), Some(v));
    }

    #[test]
    fn undefined_properties_are_dropped_and_numbers_read() {
        // {a: undefined, b: 45787, c: 1.5, d: "é✓"} written by hand.
        let mut b = vec![0xff, 0x0f, b'o'];
        b.extend_from_slice(&[b'"', 1, b'a', b'_']);
        b.extend_from_slice(&[b'"', 1, b'b', 0x49, 0xb6, 0xcb, 0x05]);
        b.extend_from_slice(&[b'"', 1, b'c', b'N']);
        b.extend_from_slice(&1.5f64.to_le_bytes());
        b.extend_from_slice(&[b'"', 1, b'd', 0, b'c', 4, 0xe9, 0x00, 0x13, 0x27]);
        b.extend_from_slice(&[b'{', 4]);
        let v = decode(&b).expect("decode").expect("value");
        assert_eq!(v, serde_json::json!({"b":45787,"c":1.5,"d":"é✓"}));
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0x00, 0x0f, b'0']).is_err());
        assert!(decode(&[0xff, 0x20, b'0']).is_err());
        assert!(decode(&[0xff, 0x0f, b'"', 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(decode(&[0xff, 0x0f, b'Z', 1, 2]).is_err());
        let deep: Vec<u8> = [0xff, 0x0f]
            .into_iter()
            .chain(std::iter::repeat_n(b'A', 200).flat_map(|a| [a, 1]))
            .collect();
        assert!(decode(&deep).is_err());
    }

    #[test]
    fn round_trip_nested() {
        let v = serde_json::json!({"cmd":"NODE_HANDLE","type":"net.Native","msg":{"cmd":"NODE_CLUSTER","act":"newconn","key":"null:0:4:undefined:0","seq":2},"list":[1,-7,3000000000u64,"x"],"ok":true,"n":null});
        let f = encode_frame(&v);
        assert_eq!(decode(&f[4..]).expect("decode"), Some(v));
    }
}
