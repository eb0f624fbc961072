//! The rust-cluster engine: everything a Node.js cluster primary owns (spawning workers, the IPC
//! channel and its protocol, worker state, and server sharing), with no dependency on N-API.
//!
//! `unsafe` code lives only in `ipc::fdpass`, `process::after_fork` (fork and the child's side up
//! to exec), `process::child` (`pidfd_open`) and `scheduler::reuseport::bpf` (a reuseport
//! group's BPF program, a listener's TCP_INFO); everything else is checked by the crate-level
//! lint below.
#![deny(unsafe_code)]
#![warn(unsafe_op_in_unsafe_fn)]

// The modules are the crate's own: the host sees only what is re-exported below, so rustc
// reports what nothing uses.
pub(crate) mod cluster;
pub(crate) mod error;
pub(crate) mod ipc;
pub(crate) mod process;
pub(crate) mod scheduler;

pub use cluster::engine::{ChannelOptions, SpawnResult};
pub use cluster::event::{Event, PassedHandle, Payload};
pub use cluster::host::{HostRead, HostReader};
pub use cluster::primary::{Cluster, WorkerStats};
pub use error::EngineError;
pub use ipc::channel::{SendFailure, SendStatus};
pub use ipc::frame::Mode;
pub use process::spawn::{SpawnRequest, Stdio};
pub use process::systemd;
pub use scheduler::Policy;

/// What the fuzz targets (crates/core/fuzz) drive; not part of the host's API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::ipc::advanced;
    pub use crate::ipc::frame::{Decoder, Mode};
    pub use crate::ipc::message::{classify_advanced, classify_json, Incoming};
    pub use crate::ipc::v8json;
}
