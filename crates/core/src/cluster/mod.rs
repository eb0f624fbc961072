//! The primary. Modules, in the order their imports point (none points back up):
//! `primary` (the `Cluster` handle the host holds) -> `thread` (the engine thread's command loop
//! and spawning) -> `worker` (one task per worker: its state, the channel and the exit watched)
//! -> `reader` (reading and classifying its frames) <-> `dispatch` (acting on its internal
//! messages; two halves of one `Reader`) -> `engine` (the state they share) -> `event` (the one
//! enum that leaves the engine). `host` lets the host's thread read a worker's channel while it
//! is free.

mod dispatch;
pub(crate) mod engine;
pub mod event;
pub mod host;
mod memory;
pub mod primary;
mod reader;
mod thread;
mod worker;
