//! N-API binding of the rust-cluster engine. This crate is the only code that uses napi: it
//! translates JS values to engine requests (`convert`), engine events to JS objects, and engine
//! errors to JS errors (`error`). All behaviour lives in `rust-cluster-core`.
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod convert;
mod error;
mod primary;
mod uv;
