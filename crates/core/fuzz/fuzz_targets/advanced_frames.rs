//! The advanced-mode decoder, the classification of its frames (internal or user), the V8 value
//! reader and the V8-to-JSON rewriter on arbitrary bytes: no panic, no frame over the limit, no
//! allocation driven by a length field beyond the input, no raw newline in the JSON text (JS
//! splits runs of it at newlines), and an internal message only for a `NODE_` cmd.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_cluster_core::fuzzing::{advanced, classify_advanced, v8json, Incoming};
use rust_cluster_core::fuzzing::{Decoder, Mode};

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let chunk = usize::from(first % 64) + 1;
    let mut dec = Decoder::new(Mode::Advanced, LIMIT);
    let mut frames = Vec::new();
    for piece in rest.chunks(chunk) {
        if dec.push(piece, &mut frames).is_err() {
            break;
        }
    }
    for f in &frames {
        assert!(f.len() <= LIMIT);
        let _ = advanced::check_header(f);
        let _ = advanced::decode(f);
        json(f.get(4..).unwrap_or_default());
        classify(f);
    }
    // The value reader alone, on the raw input.
    let _ = advanced::decode(rest);
    json(rest);
});

fn json(body: &[u8]) {
    if let Some(text) = v8json::to_json(body) {
        assert!(!text.contains('\n'));
        assert!(!text.is_empty());
    }
}

fn classify(frame: &[u8]) {
    match classify_advanced(std::borrow::Cow::Borrowed(frame)) {
        Ok(Incoming::Internal(map)) => {
            let cmd = map.get("cmd").and_then(|c| c.as_str()).unwrap_or("");
            assert!(cmd.len() > 5 && cmd.starts_with("NODE_"));
        }
        Ok(Incoming::User(body)) => assert!(!body.is_empty() || frame.len() <= 4),
        Err(_) => {}
    }
}
