//! JS <-> engine values: spawn options in, events out.

use napi::bindgen_prelude::*;
use napi::{Env, JsObject, JsString};
use napi_derive::napi;
use std::os::fd::IntoRawFd;

use rust_cluster_core::ipc::channel::SendFailure;
use rust_cluster_core::{Event, Mode, Payload, SpawnRequest, Stdio};

/// What `Engine.spawn` takes; lib/process.js builds it the way child_process.fork would.
#[napi(object)]
pub struct SpawnOptions {
    pub id: u32,
    pub file: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// One entry per child fd: "pipe", "ignore", "inherit", "ipc" or a number (the primary's fd).
    pub stdio: Vec<Either<String, i32>>,
    pub serialization: String,
    /// Signal number delivered to the worker if the primary dies (0: none).
    pub death_signal: Option<i32>,
}

#[napi(object)]
pub struct SpawnInfo {
    pub pid: Option<i32>,
    /// Positive errno when the spawn failed.
    pub errno: Option<i32>,
    /// The primary's ends of the stdio pipes by index (null elsewhere); JS owns them.
    pub stdio: Vec<Option<i32>>,
}

pub fn spawn_request(o: SpawnOptions) -> Result<(SpawnRequest, Mode)> {
    let mut stdio = Vec::with_capacity(o.stdio.len());
    for s in o.stdio {
        stdio.push(match s {
            Either::A(s) => match s.as_str() {
                "pipe" | "overlapped" => Stdio::Pipe,
                "ignore" => Stdio::Ignore,
                "inherit" => Stdio::Inherit,
                "ipc" => Stdio::Ipc,
                other => {
                    return Err(Error::from_reason(format!(
                        "unsupported stdio entry {other:?}"
                    )))
                }
            },
            Either::B(fd) => Stdio::Fd(fd),
        });
    }
    let mode = if o.serialization == "advanced" {
        Mode::Advanced
    } else {
        Mode::Json
    };
    Ok((
        SpawnRequest {
            file: o.file,
            args: o.args,
            env: o.env,
            cwd: o.cwd,
            uid: o.uid,
            gid: o.gid,
            stdio,
            death_signal: o.death_signal.unwrap_or(0),
        },
        mode,
    ))
}

fn failure_value(env: &Env, obj: &mut JsObject, f: SendFailure) -> Result<()> {
    match f {
        SendFailure::Closed => obj.set_named_property("error", env.create_string("closed")?),
        SendFailure::Errno(e) => obj.set_named_property("error", env.create_int32(e)?),
    }
}

/// Property names and type strings of the hot path (user messages without a handle), created
/// once per drained batch instead of once per event.
struct MessageKeys {
    type_key: JsString,
    id_key: JsString,
    text_key: JsString,
    data_key: JsString,
    message: JsString,
    messages: JsString,
}

impl MessageKeys {
    fn new(env: &Env) -> Result<Self> {
        Ok(MessageKeys {
            type_key: env.create_string("type")?,
            id_key: env.create_string("id")?,
            text_key: env.create_string("text")?,
            data_key: env.create_string("data")?,
            message: env.create_string("message")?,
            messages: env.create_string("messages")?,
        })
    }
}

/// Consecutive user messages without handles from one worker, joined as on the wire.
struct Run {
    id: u32,
    payload: Payload,
    count: usize,
}

/// Every drained event as a JS object, in order. A run of user messages without handles from
/// one worker becomes one `{type: 'message' | 'messages', id, text | data}`: json texts one per
/// line (as on the wire: JSON text has no raw newline), advanced frames back to back with their
/// 4-byte big-endian lengths (as on the wire); JS splits it. The reader already joins what one
/// read brought; runs that span reads are joined here. One string or buffer per run costs far
/// less than an object per message.
pub fn events_to_js(env: &Env, events: Vec<Event>) -> Result<Vec<JsObject>> {
    let keys = MessageKeys::new(env)?;
    let mut out = Vec::with_capacity(events.len());
    let mut run: Option<Run> = None;
    for ev in events {
        let ev = match ev {
            Event::Messages {
                id,
                run: payload,
                count,
                credit,
            } => {
                // The messages now belong to JS: the worker's reader may go on.
                drop(credit);
                let payload = match &mut run {
                    Some(r) if r.id == id => match r.payload.append(payload) {
                        Ok(()) => {
                            r.count += count;
                            continue;
                        }
                        Err(other) => other,
                    },
                    _ => payload,
                };
                if let Some(done) = run.take() {
                    out.push(run_to_js(env, &keys, done)?);
                }
                run = Some(Run { id, payload, count });
                continue;
            }
            other => other,
        };
        if let Some(done) = run.take() {
            out.push(run_to_js(env, &keys, done)?);
        }
        out.push(event_to_js(env, ev)?);
    }
    if let Some(done) = run.take() {
        out.push(run_to_js(env, &keys, done)?);
    }
    Ok(out)
}

fn run_to_js(env: &Env, keys: &MessageKeys, run: Run) -> Result<JsObject> {
    let mut o = env.create_object()?;
    let kind = if run.count == 1 {
        keys.message
    } else {
        keys.messages
    };
    o.set_property(keys.type_key, kind)?;
    o.set_property(keys.id_key, env.create_uint32(run.id)?)?;
    match run.payload {
        Payload::Json(text) => o.set_property(keys.text_key, env.create_string_from_std(text)?)?,
        Payload::Advanced(data) => {
            o.set_property(keys.data_key, env.create_buffer_with_data(data)?.into_raw())?
        }
    }
    Ok(o)
}

/// Any other event (user messages with a handle, lifecycle, internal, send results).
fn event_to_js(env: &Env, ev: Event) -> Result<JsObject> {
    let mut o = env.create_object()?;
    let set_id = |o: &mut JsObject, t: &str, id: u32| -> Result<()> {
        o.set_named_property("type", env.create_string(t)?)?;
        o.set_named_property("id", env.create_uint32(id)?)
    };
    match ev {
        Event::Online { id } => set_id(&mut o, "online", id)?,
        Event::Listening { id, message } => {
            set_id(&mut o, "listening", id)?;
            o.set_named_property("message", env.create_string_from_std(message)?)?;
        }
        Event::ExitedAfterDisconnect { id } => set_id(&mut o, "exitedAfterDisconnect", id)?,
        // events_to_js turns these into runs before they get here; the credit drops here.
        Event::Messages { id, run, count, .. } => {
            let run = Run {
                id,
                payload: run,
                count,
            };
            return run_to_js(env, &MessageKeys::new(env)?, run);
        }
        Event::Message {
            id,
            payload,
            handle,
            credit,
        } => {
            set_id(&mut o, "message", id)?;
            // The message now belongs to JS: the worker's reader may go on.
            drop(credit);
            match payload {
                Payload::Json(text) => {
                    o.set_named_property("text", env.create_string_from_std(text)?)?
                }
                Payload::Advanced(bytes) => {
                    o.set_named_property("data", env.create_buffer_with_data(bytes)?.into_raw())?
                }
            }
            o.set_named_property("fd", env.create_int32(handle.fd.into_raw_fd())?)?;
            o.set_named_property("handleType", env.create_string_from_std(handle.kind)?)?;
            if let Some(k) = handle.key {
                o.set_named_property("key", env.create_string_from_std(k)?)?;
            }
            if let Some(d) = handle.dgram_type {
                o.set_named_property("dgramType", env.create_string_from_std(d)?)?;
            }
        }
        Event::Disconnect { id } => set_id(&mut o, "disconnect", id)?,
        Event::Exit { id, code, signal } => {
            set_id(&mut o, "exit", id)?;
            match code {
                Some(c) => o.set_named_property("code", env.create_int32(c)?)?,
                None => o.set_named_property("code", env.get_null()?)?,
            }
            match signal {
                Some(s) => o.set_named_property("signal", env.create_string_from_std(s)?)?,
                None => o.set_named_property("signal", env.get_null()?)?,
            }
        }
        Event::Error {
            id,
            code,
            message,
            errno,
            syscall,
        } => {
            set_id(&mut o, "error", id)?;
            o.set_named_property("code", env.create_string_from_std(code)?)?;
            o.set_named_property("message", env.create_string_from_std(message)?)?;
            if let Some(e) = errno {
                o.set_named_property("errno", env.create_int32(e)?)?;
            }
            if let Some(s) = syscall {
                o.set_named_property("syscall", env.create_string_from_std(s)?)?;
            }
        }
        Event::Internal { id, message } => {
            set_id(&mut o, "internal", id)?;
            o.set_named_property("message", env.create_string_from_std(message)?)?;
        }
        Event::HandleAnswered { id, nack } => {
            set_id(&mut o, "handleAnswered", id)?;
            o.set_named_property("nack", env.get_boolean(nack)?)?;
        }
        Event::SendDone { id, token, error } => {
            set_id(&mut o, "sendDone", id)?;
            o.set_named_property("token", env.create_double(token as f64)?)?;
            if let Some(f) = error {
                failure_value(env, &mut o, f)?;
            }
        }
    }
    Ok(o)
}
