//! The rust-cluster engine: everything a Node.js cluster primary owns (spawning workers, the IPC
//! channel and its protocol, worker state, and server sharing), with no dependency on N-API.
//!
//! `unsafe` code lives only in `ipc::fdpass` and `process::spawn`; everything else is checked by
//! the crate-level lint below.
#![deny(unsafe_code)]

pub mod cluster;
pub mod error;
pub mod ipc;
pub mod process;
pub mod scheduler;

pub use cluster::event::{Event, PassedHandle, Payload};
pub use cluster::primary::{ChannelOptions, Cluster};
pub use error::EngineError;
pub use ipc::frame::Mode;
pub use process::spawn::{SpawnRequest, Stdio};
pub use scheduler::Policy;
