//! Engine errors as JS errors. Expected failures (spawn errors, closed channels) are returned to
//! JS as values and become Node-style errors in lib/errors.js; only unexpected engine failures
//! are thrown from here.

use rust_cluster_core::EngineError;

pub fn to_napi(e: EngineError) -> napi::Error {
    napi::Error::from_reason(format!("rust-cluster engine: {e}"))
}
