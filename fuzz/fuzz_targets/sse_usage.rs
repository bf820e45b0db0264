//! The SSE usage parser with arbitrary splits: the same stream fed whole, in the pieces the
//! input's first bytes choose, and byte by byte must say the same thing; the JSON-body parser
//! never panics. (Lines longer than `usage::MAX_LINE` are dropped when split, by design, so
//! the comparison only holds below it; the fuzzer's inputs stay far below.)
#![no_main]

use bluegreen_relay::ai::usage::{from_json_body, SseUsage, MAX_LINE};
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
    let whole = whole.finish();

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
    let pieces = pieces.finish();

    let mut bytes = SseUsage::new();
    for b in stream.chunks(1) {
        bytes.feed(b);
    }
    let bytes = bytes.finish();

    if stream.len() <= MAX_LINE {
        assert_eq!(whole, pieces, "split into pieces");
        assert_eq!(whole, bytes, "fed byte by byte");
    }
    let _ = from_json_body(stream);
});
