//! A worker's `queryServer` (docs/PROTOCOL.md §4.3), read once into the fields the scheduler and
//! the handle constructors use, with Node's handle key (§4.4).

use serde_json::{Map, Value};

use crate::ipc::message::js_template;

/// `addressType` as the handles tell it apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressType {
    /// `4`, `6`, or anything else that is neither a pipe nor UDP: a TCP server (the address,
    /// not this field, picks the family).
    Tcp,
    /// `-1` (an integer): a unix socket.
    Pipe,
    Udp4,
    Udp6,
}

/// What a worker asks the primary to bind.
#[derive(Debug)]
pub(crate) struct QueryServer {
    /// `${address}:${port}:${addressType}:${fd}:${index}`, rendered as a JS template literal.
    pub key: String,
    /// The query's `seq`, which the reply carries as `ack` (null when missing).
    pub ack: Value,
    /// The host, or the unix socket's absolute path, when a string.
    pub address: Option<String>,
    /// The requested port: 0 for any, -1 for a unix socket; None when absent or not a number.
    pub port: Option<i64>,
    pub address_type: AddressType,
    /// `listen({fd})` / `bind({fd})`: the primary's own descriptor, when given and >= 0.
    pub fd: Option<i64>,
    /// `UV_TCP_IPV6ONLY` (1) for TCP; ipv6Only (1) and reuseAddr (4) for UDP; 0 when absent.
    pub flags: i64,
    /// The listen backlog: Node's `backlog || 511`, within 1..=i32::MAX.
    pub backlog: i32,
    /// `readableAll: true` / `writableAll: true` (unix sockets).
    pub readable_all: bool,
    pub writable_all: bool,
    /// `data` when truthy in JavaScript's sense (a TLS server's ticket keys).
    pub data: Option<Value>,
}

/// An integer field of a message (JSON numbers may arrive as floats from advanced mode).
fn int(m: &Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
        && v.as_f64() != Some(0.0)
        && v.as_str() != Some("")
}

impl QueryServer {
    pub fn parse(msg: &Map<String, Value>) -> QueryServer {
        let key = format!(
            "{}:{}:{}:{}:{}",
            js_template(msg.get("address")),
            js_template(msg.get("port")),
            js_template(msg.get("addressType")),
            js_template(msg.get("fd")),
            js_template(msg.get("index")),
        );
        let address_type = match msg.get("addressType") {
            Some(Value::String(t)) if t == "udp4" => AddressType::Udp4,
            Some(Value::String(t)) if t == "udp6" => AddressType::Udp6,
            Some(v) if v.as_i64() == Some(-1) => AddressType::Pipe,
            _ => AddressType::Tcp,
        };
        let backlog = match int(msg, "backlog") {
            Some(b) if b != 0 => b.clamp(1, i32::MAX as i64) as i32,
            _ => 511,
        };
        let flag = |k: &str| msg.get(k).is_some_and(|v| v.as_bool() == Some(true));
        QueryServer {
            key,
            ack: msg.get("seq").cloned().unwrap_or(Value::Null),
            address: msg
                .get("address")
                .and_then(Value::as_str)
                .map(str::to_string),
            port: int(msg, "port"),
            address_type,
            fd: int(msg, "fd").filter(|n| *n >= 0),
            flags: int(msg, "flags").unwrap_or(0),
            backlog,
            readable_all: flag("readableAll"),
            writable_all: flag("writableAll"),
            data: msg.get("data").filter(|d| truthy(d)).cloned(),
        }
    }

    /// UDP is always served by a shared handle, whatever the policy (§4.7).
    pub fn is_udp(&self) -> bool {
        matches!(self.address_type, AddressType::Udp4 | AddressType::Udp6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> QueryServer {
        match v {
            Value::Object(m) => QueryServer::parse(&m),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn the_key_renders_as_nodes_template_literal() {
        let q = parse(json!({"index": 0, "address": null, "port": 0, "addressType": 4}));
        assert_eq!(q.key, "null:0:4:undefined:0");
        let q = parse(
            json!({"index": 2, "address": "0.0.0.0", "port": 0, "addressType": "udp4",
            "fd": -1}),
        );
        assert_eq!(q.key, "0.0.0.0:0:udp4:-1:2");
        assert_eq!(q.fd, None, "-1 is no descriptor");
        assert!(q.is_udp());
        // Advanced mode may deliver numbers as floats.
        let q = parse(
            json!({"index": 0.0, "address": "::1", "port": 80.0, "addressType": 6,
            "backlog": 100.0, "seq": 3}),
        );
        assert_eq!(q.key, "::1:80:6:undefined:0");
        assert_eq!((q.port, q.backlog, q.ack), (Some(80), 100, json!(3)));
    }

    #[test]
    fn fields_take_nodes_defaults() {
        let q = parse(
            json!({"address": "/tmp/a.sock", "port": -1, "addressType": -1,
            "backlog": false, "readableAll": true, "writableAll": 1, "data": ""}),
        );
        assert_eq!(q.address_type, AddressType::Pipe);
        assert_eq!((q.backlog, q.flags, q.ack.clone()), (511, 0, Value::Null));
        assert!(q.readable_all && !q.writable_all);
        assert_eq!(q.data, None, "falsy data is none");
        let q = parse(json!({"backlog": -5, "addressType": "udp6", "flags": 5,
            "data": {"ticketKeys": "00"}}));
        assert_eq!((q.backlog, q.flags), (1, 5));
        assert_eq!(q.address_type, AddressType::Udp6);
        assert_eq!(q.data, Some(json!({"ticketKeys": "00"})));
        assert_eq!(
            parse(json!({"addressType": "x"})).address_type,
            AddressType::Tcp
        );
    }
}
