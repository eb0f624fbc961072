//! What the engine reports to its host (the N-API binding), in order, per worker.

use std::os::fd::OwnedFd;

use crate::ipc::channel::SendFailure;

#[derive(Debug)]
pub enum Payload {
    /// json mode: the message's JSON text, for `JSON.parse`.
    Json(String),
    /// advanced mode: V8 serializer bytes (header included), for `v8.Deserializer`.
    Advanced(Vec<u8>),
}

/// A descriptor that arrived with a user message (`NODE_HANDLE` envelope).
#[derive(Debug)]
pub struct PassedHandle {
    pub fd: OwnedFd,
    /// The envelope's `type`: net.Socket, net.Server, dgram.Socket, net.Native, dgram.Native.
    pub kind: String,
    /// The envelope's `key` (net.Socket from a server), if any.
    pub key: Option<String>,
    /// The envelope's `dgramType` (udp4 / udp6), if any.
    pub dgram_type: Option<String>,
}

#[derive(Debug)]
pub enum Event {
    /// `{act: 'online'}`.
    Online { id: u32 },
    /// `{act: 'listening'}`; the message as JSON, from which the address info is built.
    Listening { id: u32, message: String },
    /// `{act: 'exitedAfterDisconnect'}` (already acknowledged by the engine).
    ExitedAfterDisconnect { id: u32 },
    /// A user message, optionally with a handle.
    Message {
        id: u32,
        payload: Payload,
        handle: Option<PassedHandle>,
    },
    /// The channel closed (EOF, reset, or closed by the primary).
    Disconnect { id: u32 },
    /// The process exited and was reaped.
    Exit {
        id: u32,
        code: Option<i32>,
        signal: Option<String>,
    },
    /// Something went wrong with this worker's channel; `code` is a Node-style error code.
    Error {
        id: u32,
        code: String,
        message: String,
        errno: Option<i32>,
        syscall: Option<String>,
    },
    /// A queued user send finished or failed.
    SendDone {
        id: u32,
        token: u64,
        error: Option<SendFailure>,
    },
}
