//! The primary: the worker table, dispatch of internal messages on `act`, and the one event
//! enum that leaves the engine.

pub mod event;
pub mod primary;
mod worker;
