//! The IPC channel between the primary and one worker: framing, the wire vocabulary, descriptor
//! passing and the duplex channel with Node's handle ACK queue.

pub mod advanced;
pub mod channel;
pub mod fdpass;
pub mod frame;
pub mod message;
pub mod v8json;
