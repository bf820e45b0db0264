//! The SSE usage parser with arbitrary splits: the same stream fed whole, in the pieces the
//! input's first bytes choose, and byte by byte must say the same thing and skip the same
//! lines (a line longer than `usage::MAX_LINE` is skipped however it is split); the JSON-body
//! parser never panics.
#![no_main]

use bluegreen_relay::ai::usage::{from_json_body, SseUsage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, rest)) = data.split_first() else {
        return;
    };
    let cuts = usize::from(cuts % 16);
    if rest.len() < cuts * 2 {
        return;
    }
    let (sizes, stream) = rest.split_at(cuts * 2);

    let mut whole = SseUsage::new();
    whole.feed(stream);
    let whole = (whole.skipped_lines(), whole.finish());

    let mut pieces = SseUsage::new();
    let mut at = 0;
    for pair in sizes.chunks(2) {
        let len = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % 64;
        let end = (at + len).min(stream.len());
        pieces.feed(&stream[at..end]);
        at = end;
    }
    pieces.feed(&stream[at..]);
    pieces.feed(&[]);
    let pieces = (pieces.skipped_lines(), pieces.finish());

    let mut bytes = SseUsage::new();
    for b in stream.chunks(1) {
        bytes.feed(b);
    }
    let bytes = (bytes.skipped_lines(), bytes.finish());

    assert_eq!(whole, pieces, "split into pieces");
    assert_eq!(whole, bytes, "fed byte by byte");
    let _ = from_json_body(stream);
});
