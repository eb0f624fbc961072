//! Acting on a worker's internal messages (docs/PROTOCOL.md §3.4, §4): the handle ACK protocol
//! of Node's child_process (answering NODE_HANDLE, releasing the send queue on an answer) and the
//! NODE_CLUSTER acts of Node's primary (`online`, `queryServer`, `listening`, `close`,
//! `exitedAfterDisconnect`), which become events or scheduler calls.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::engine::{encode, Core};
use super::event::{Event, PassedHandle, Payload};
use super::reader::Reader;
use crate::ipc::advanced;
use crate::ipc::channel::Channel;
use crate::ipc::frame::Mode;
use crate::ipc::message::{internal_cmd, Obj};
use crate::scheduler::Scheduler;

impl Reader {
    /// The internal message as JSON when JS listens for `internalMessage` on this worker.
    pub(super) fn report(&self, core: &Rc<Core>, map: &Map<String, Value>) -> Option<String> {
        core.shared
            .watched(self.id)
            .then(|| serde_json::to_string(map).unwrap_or_else(|_| "{}".into()))
    }

    /// Acts on an internal message. `report` (see `report`) is handed to JS at Node's moment:
    /// after what the primary's own listeners do with the message, and for a NODE_HANDLE
    /// envelope with the message it carries (Node emits the envelope with the raw handle, before
    /// the converted handle's message).
    pub(super) fn internal(
        &mut self,
        core: &Rc<Core>,
        channel: &Arc<Channel>,
        map: Map<String, Value>,
        report: Option<String>,
        events: &mut Vec<Event>,
    ) {
        let id = self.id;
        let reported = |events: &mut Vec<Event>, report: Option<String>| {
            if let Some(message) = report {
                events.push(Event::Internal { id, message });
            }
        };
        let cmd = internal_cmd(&map).unwrap_or("");
        match cmd {
            "NODE_HANDLE_ACK" | "NODE_HANDLE_NACK" => {
                // Release the send queue; tell JS when the handle was one it sent.
                let nack = cmd == "NODE_HANDLE_NACK";
                let sent_by_user = channel.handle_answered(nack);
                if sent_by_user {
                    events.push(Event::HandleAnswered { id: self.id, nack });
                }
            }
            "NODE_HANDLE" => {
                let Some(fd) = self.fds.pop_front() else {
                    reported(events, report);
                    let nack = Obj::new().with("cmd", "NODE_HANDLE_NACK").into_value();
                    channel.send_control(encode(self.mode, &nack));
                    return;
                };
                let ack = Obj::new().with("cmd", "NODE_HANDLE_ACK").into_value();
                channel.send_control(encode(self.mode, &ack));
                let mut map = map;
                let inner = map.remove("msg").unwrap_or(Value::Null);
                let inner_internal =
                    matches!(&inner, Value::Object(m) if internal_cmd(m).is_some());
                if inner_internal {
                    // A primary never receives cluster messages with descriptors; drop it.
                    drop(fd);
                    reported(events, report);
                    if let Value::Object(m) = inner {
                        let inner_report = self.report(core, &m);
                        self.internal(core, channel, m, inner_report, events);
                    }
                    return;
                }
                let payload = match self.mode {
                    Mode::Json => Payload::Json(
                        serde_json::to_string(&inner).unwrap_or_else(|_| "null".into()),
                    ),
                    Mode::Advanced => Payload::Advanced(advanced::encode_frame(&inner)),
                };
                let handle = PassedHandle {
                    fd,
                    kind: map
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    key: map.get("key").and_then(Value::as_str).map(str::to_string),
                    dgram_type: map
                        .get("dgramType")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    envelope: report,
                };
                self.claim(payload.len());
                events.push(Event::Message {
                    id: self.id,
                    payload,
                    handle,
                });
                return;
            }
            // JS takes part in these (connection counts of passed sockets): always reported.
            c if c.starts_with("NODE_SOCKET_") => {
                let message = report
                    .unwrap_or_else(|| serde_json::to_string(&map).unwrap_or_else(|_| "{}".into()));
                events.push(Event::Internal { id, message });
                return;
            }
            "NODE_CLUSTER" => self.cluster(core, map, events),
            _ => {}
        }
        reported(events, report);
    }

    fn cluster(&mut self, core: &Rc<Core>, map: Map<String, Value>, events: &mut Vec<Event>) {
        let id = self.id;
        let link = &core.link;
        if let Some(ack) = map.get("ack").and_then(Value::as_u64) {
            // Route replies before anything else; flush what is pending so event order holds.
            if Scheduler::on_reply(&core.sched, link, id, ack, &map) {
                return;
            }
        }
        match map.get("act").and_then(Value::as_str) {
            Some("online") => events.push(Event::Online { id }),
            Some("queryServer") if !core.detached.borrow().contains(&id) => {
                Scheduler::query_server(&core.sched, link, id, &map);
            }
            Some("listening") => {
                let mut map = map;
                events.push(Event::Listening {
                    id,
                    address_type: map.remove("addressType"),
                    address: map.remove("address"),
                    port: map.remove("port"),
                    fd: map.remove("fd"),
                })
            }
            Some("close") => {
                if let Some(key) = map.get("key").and_then(Value::as_str) {
                    Scheduler::close(&core.sched, link, id, key);
                }
            }
            Some("exitedAfterDisconnect") => {
                core.detached.borrow_mut().insert(id);
                let seq = map.get("seq").cloned().unwrap_or(Value::Null);
                core.shared
                    .send_cluster(id, Obj::cluster().with("ack", seq), None, None);
                events.push(Event::ExitedAfterDisconnect { id });
            }
            _ => {}
        }
    }
}
