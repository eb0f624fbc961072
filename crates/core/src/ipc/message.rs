//! The wire vocabulary: telling internal messages from user messages (docs/PROTOCOL.md §3.1) and
//! building the primary's own messages with Node's field order (§4.2).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{advanced, v8json};

/// A decoded frame, classified by its top-level `cmd` only.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// `{cmd: "NODE_..."}` (string cmd longer than 5 characters starting with `NODE_`).
    Internal(Map<String, Value>),
    /// Anything else: JSON text for JS to parse (json mode, and advanced messages of plain data
    /// rewritten by `v8json`), or the V8 bytes. Borrowed while it still lies in the read buffer.
    User(UserBody<'a>),
}

#[derive(Debug)]
pub enum UserBody<'a> {
    Json(Cow<'a, str>),
    Advanced(Cow<'a, [u8]>),
}

impl UserBody<'_> {
    pub fn len(&self) -> usize {
        match self {
            UserBody::Json(t) => t.len(),
            UserBody::Advanced(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum MessageError {
    Empty,
    InvalidUtf8,
    InvalidJson(String),
    InvalidAdvanced(String),
}

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageError::Empty => write!(f, "empty message (blank line)"),
            MessageError::InvalidUtf8 => write!(f, "message is not valid UTF-8"),
            MessageError::InvalidJson(e) => write!(f, "message is not valid JSON: {e}"),
            MessageError::InvalidAdvanced(e) => write!(f, "message is not a valid V8 value: {e}"),
        }
    }
}

pub fn is_internal_cmd(cmd: &str) -> bool {
    cmd.len() > 5 && cmd.starts_with("NODE_")
}

/// The `cmd` of an internal message: a string `cmd` for which `is_internal_cmd` holds.
pub fn internal_cmd(map: &Map<String, Value>) -> Option<&str> {
    match map.get("cmd") {
        Some(Value::String(c)) if is_internal_cmd(c) => Some(c),
        _ => None,
    }
}

/// Classifies one json-mode frame. Only frames that could be internal are parsed here; user
/// messages are validated for UTF-8 and non-emptiness and otherwise parsed once, by JS.
pub fn classify_json<'a>(frame: impl Into<Cow<'a, [u8]>>) -> Result<Incoming<'a>, MessageError> {
    let text: Cow<'a, str> = match frame.into() {
        Cow::Borrowed(b) => {
            Cow::Borrowed(std::str::from_utf8(b).map_err(|_| MessageError::InvalidUtf8)?)
        }
        Cow::Owned(v) => Cow::Owned(String::from_utf8(v).map_err(|_| MessageError::InvalidUtf8)?),
    };
    let trimmed = text.trim_start_matches([' ', '\t', '\r', '\n']);
    if trimmed.is_empty() {
        return Err(MessageError::Empty);
    }
    if trimmed.starts_with('{') && text.contains("\"NODE_") {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => {
                if internal_cmd(&map).is_some() {
                    return Ok(Incoming::Internal(map));
                }
            }
            Ok(_) => {}
            // Deeper than serde's recursion limit or otherwise unusual: JSON.parse decides.
            Err(e) if !e.to_string().contains("recursion limit") => {
                return Err(MessageError::InvalidJson(e.to_string()));
            }
            Err(_) => {}
        }
    }
    Ok(Incoming::User(UserBody::Json(text)))
}

/// Whether `hay` contains `NODE_`. Runs on every advanced frame.
fn mentions_node(hay: &[u8]) -> bool {
    memchr::memmem::find(hay, b"NODE_").is_some()
}

/// Whether the value in a V8 body (its header checked) may be a plain object: only one can carry
/// the `cmd` of an internal message. A string, array or number at the top is a user message
/// without scanning its bytes for `NODE_`. Padding (0x00) may precede the tag; serializer
/// versions other than 15 are left to the scan.
fn top_level_object(body: &[u8]) -> bool {
    match body {
        [0xff, 15, rest @ ..] => rest.iter().find(|&&b| b != 0) == Some(&b'o'),
        _ => true,
    }
}

/// Advanced-mode classification: only frames mentioning `NODE_` are decoded here. `frame` has
/// its length prefix (the decoder keeps it). A user message of plain data goes on as JSON text
/// (see `v8json`), anything else as the V8 bytes.
pub fn classify_advanced(frame: Cow<'_, [u8]>) -> Result<Incoming<'_>, MessageError> {
    let body = frame.get(4..).unwrap_or_default();
    advanced::check_header(body).map_err(|e| MessageError::InvalidAdvanced(e.to_string()))?;
    if top_level_object(body) && mentions_node(body) {
        if let Ok(Some(Value::Object(map))) = advanced::decode(body) {
            if internal_cmd(&map).is_some() {
                return Ok(Incoming::Internal(map));
            }
        }
    }
    if let Some(text) = v8json::to_json(body) {
        return Ok(Incoming::User(UserBody::Json(Cow::Owned(text))));
    }
    Ok(Incoming::User(UserBody::Advanced(frame)))
}

/// Serializes a message for the wire in json mode: the JSON text and one `\n`.
pub fn json_frame(value: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    out.push(b'\n');
    out
}

/// An object built in insertion order (serde_json's `preserve_order`).
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Self {
        Obj(Map::new())
    }
    pub fn cluster() -> Self {
        Obj::new().with("cmd", "NODE_CLUSTER")
    }
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

impl Default for Obj {
    fn default() -> Self {
        Obj::new()
    }
}

/// The `NODE_HANDLE` envelope that carries `msg` together with one descriptor.
pub fn handle_envelope(kind: &str, msg: Value) -> Value {
    Obj::new()
        .with("cmd", "NODE_HANDLE")
        .with("type", kind)
        .with("msg", msg)
        .into_value()
}

/// JavaScript's template-literal rendering of a JSON value, used to build handle keys exactly as
/// Node's primary does (`${address}:${port}:${addressType}:${fd}:${index}`).
pub fn js_template(v: Option<&Value>) -> String {
    match v {
        None => "undefined".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    format!("{}", f as i64)
                } else {
                    f.to_string()
                }
            } else {
                n.to_string()
            }
        }
        Some(Value::Array(_)) | Some(Value::Object(_)) => "[object Object]".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_only_by_top_level_cmd() {
        let f = |s: &str| classify_json(s.as_bytes().to_vec());
        assert!(matches!(
            f(r#"{"cmd":"NODE_CLUSTER","act":"online","seq":0}"#),
            Ok(Incoming::Internal(_))
        ));
        assert!(matches!(f(r#"{"cmd":"NODE_"}"#), Ok(Incoming::User(_))));
        assert!(matches!(f(r#"{"cmd":"node_x"}"#), Ok(Incoming::User(_))));
        assert!(matches!(
            f(r#"{"a":{"cmd":"NODE_CLUSTER"}}"#),
            Ok(Incoming::User(_))
        ));
        assert!(matches!(f(r#"["NODE_CLUSTER"]"#), Ok(Incoming::User(_))));
        assert!(matches!(
            f(r#"{"cmd":1,"x":"NODE_HANDLE"}"#),
            Ok(Incoming::User(_))
        ));
    }

    #[test]
    fn malformed_frames() {
        assert_eq!(classify_json(Vec::new()).err(), Some(MessageError::Empty));
        assert_eq!(
            classify_json(vec![0xff, 0xfe]).err(),
            Some(MessageError::InvalidUtf8)
        );
        assert!(matches!(
            classify_json(br#"{"cmd":"NODE_CLUSTER","#.to_vec()),
            Err(MessageError::InvalidJson(_))
        ));
    }

    #[test]
    fn field_order_is_kept() {
        let v = Obj::cluster()
            .with("act", "disconnect")
            .with("seq", 0)
            .into_value();
        assert_eq!(
            json_frame(&v),
            b"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"disconnect\",\"seq\":0}\n".to_vec()
        );
    }

    #[test]
    fn keys_render_like_js() {
        assert_eq!(js_template(None), "undefined");
        assert_eq!(js_template(Some(&Value::Null)), "null");
        assert_eq!(js_template(Some(&serde_json::json!(4))), "4");
        assert_eq!(js_template(Some(&serde_json::json!("udp4"))), "udp4");
        assert_eq!(js_template(Some(&serde_json::json!(-1))), "-1");
    }

    #[test]
    fn only_an_object_at_the_top_is_scanned() {
        // Bytes from Node 20's v8.serialize.
        assert!(top_level_object(&[0xff, 0x0f, b'o', b'{', 0]));
        assert!(top_level_object(&[0xff, 0x0f, 0, 0, b'o', b'{', 0]));
        assert!(!top_level_object(&[
            0xff, 0x0f, b'"', 5, b'N', b'O', b'D', b'E', b'_'
        ]));
        assert!(!top_level_object(&[0xff, 0x0f, b'A', 0, b'$', 0, 0]));
        assert!(!top_level_object(&[0xff, 0x0f, b'I', 2]));
        assert!(!top_level_object(&[0xff, 0x0f]));
        assert!(top_level_object(&[0xff, 0x0d, b'"', 1, b'x']));
    }

    #[test]
    fn finds_node_prefix_anywhere() {
        assert!(!mentions_node(b""));
        assert!(!mentions_node(b"NODE"));
        assert!(mentions_node(b"NODE_"));
        for len in 0..40 {
            for at in 0..=len {
                let mut v = vec![b'N'; len + 5];
                v[at..at + 5].copy_from_slice(b"NODE_");
                assert!(mentions_node(&v), "len {len} at {at}");
                let mut w = vec![b'x'; len + 5];
                w[at..at + 5].copy_from_slice(b"NODEx");
                assert!(!mentions_node(&w), "len {len} at {at}");
            }
        }
        let mut big = vec![b'N'; 70_000];
        assert!(!mentions_node(&big));
        big[69_990..69_995].copy_from_slice(b"NODE_");
        assert!(mentions_node(&big));
    }

    #[test]
    fn advanced_frames_are_internal_only_by_their_top_level_cmd() {
        let classify = |v: Value| classify_advanced(Cow::Owned(advanced::encode_frame(&v)));
        let internal = classify(serde_json::json!({"cmd": "NODE_CLUSTER", "act": "online"}));
        assert!(matches!(internal, Ok(Incoming::Internal(m)) if m["act"] == "online"));
        for user in [
            serde_json::json!({"cmd": "NODE_"}),
            serde_json::json!({"x": "NODE_CLUSTER"}),
            serde_json::json!({"msg": {"cmd": "NODE_CLUSTER"}}),
            serde_json::json!("NODE_CLUSTER"),
            serde_json::json!(["NODE_CLUSTER"]),
        ] {
            let got = classify(user.clone());
            assert!(matches!(got, Ok(Incoming::User(_))), "{user}: {got:?}");
        }
        let bad = classify_advanced(Cow::Borrowed(&[0, 0, 0, 2, 0x12, 0x34][..]));
        assert!(matches!(bad, Err(MessageError::InvalidAdvanced(_))));
    }
}
