//! The primary. Modules, in the order their imports point (none points back up):
//! `primary` (the `Cluster` handle the host holds) -> `thread` (the engine thread's command loop
//! and spawning) -> `worker` (one task per worker: reading its channel, dispatching its acts)
//! -> `engine` (the state they share) -> `event` (the one enum that leaves the engine).

pub(crate) mod engine;
pub mod event;
pub mod primary;
mod thread;
mod worker;
