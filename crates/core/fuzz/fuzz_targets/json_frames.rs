//! The json-mode decoder and classifier on arbitrary bytes in arbitrary chunks: no panic, and
//! the held buffer never exceeds the frame limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_cluster_core::fuzzing::{Decoder, Mode};
use rust_cluster_core::fuzzing::classify_json;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so split reads are explored too.
    let Some((&first, rest)) = data.split_first() else { return };
    let chunk = usize::from(first % 64) + 1;
    let mut dec = Decoder::new(Mode::Json, LIMIT);
    let mut frames = Vec::new();
    for piece in rest.chunks(chunk) {
        if dec.push(piece, &mut frames).is_err() {
            break;
        }
    }
    for f in frames {
        assert!(f.len() <= LIMIT);
        let _ = classify_json(f);
    }
});
