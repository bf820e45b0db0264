//! Paced delivery of a streamed answer: which bytes go in which body frame, and when.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{HeaderValue, CACHE_CONTROL};
use hyper::StatusCode;

use crate::config::{Config, SseSplit};
use crate::http::{self, Body, ConnectionCut, Resp};
use crate::split::{random_pieces, SplitMix64};

/// Gap between random pieces, so the kernel and the proxy do not coalesce them.
const PIECE_GAP: Duration = Duration::from_millis(2);
/// Pause before a cut, so hyper flushes what was sent before it drops the connection.
const CUT_GAP: Duration = Duration::from_millis(20);

/// One body frame and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFrame {
    pub delay: Duration,
    pub bytes: Bytes,
}

/// Frames for `events` under the config's split mode. `stream_number` varies
/// the random cuts between streams while keeping them reproducible for a seed.
pub fn plan(events: Vec<Bytes>, config: &Config, stream_number: u64) -> Vec<TimedFrame> {
    match config.sse_split {
        SseSplit::Event => paced(events, Duration::from_millis(config.chunk_delay_ms)),
        SseSplit::Random => {
            let whole = events
                .iter()
                .fold(BytesMut::new(), |mut all, event| {
                    all.extend_from_slice(event);
                    all
                })
                .freeze();
            let mut rng = SplitMix64::new(config.seed.wrapping_add(stream_number));
            paced(random_pieces(&whole, &mut rng), PIECE_GAP)
        }
    }
}

/// The first frame goes at once, every later one `gap` after the previous.
fn paced(pieces: Vec<Bytes>, gap: Duration) -> Vec<TimedFrame> {
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| TimedFrame {
            delay: if i == 0 { Duration::ZERO } else { gap },
            bytes,
        })
        .collect()
}

/// A body that yields each frame after its delay. Hyper flushes whenever the
/// body is pending, so each delayed frame reaches the client on its own. With
/// `cut`, the body then fails, and hyper drops the connection without ending
/// the chunked body.
pub fn body(frames: Vec<TimedFrame>, cut: bool) -> Body {
    let frames = stream::unfold((frames.into_iter(), cut), |(mut rest, cut)| async move {
        let Some(frame) = rest.next() else {
            if !cut {
                return None;
            }
            tokio::time::sleep(CUT_GAP).await;
            return Some((Err(ConnectionCut), (rest, false)));
        };
        if !frame.delay.is_zero() {
            tokio::time::sleep(frame.delay).await;
        }
        Some((Ok(Frame::data(frame.bytes)), (rest, cut)))
    });
    StreamBody::new(frames).boxed_unsync()
}

pub fn sse_response(frames: Vec<TimedFrame>, cut: bool) -> Resp {
    let mut resp = http::with_type(StatusCode::OK, "text/event-stream", body(frames, cut));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Bytes> {
        vec![
            Bytes::from_static(b"data: {\"a\":1}\n\n"),
            Bytes::from_static(b"data: {\"b\":2}\n\n"),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ]
    }

    #[test]
    fn event_mode_is_one_frame_per_event_with_delay_between() {
        let config = Config {
            chunk_delay_ms: 25,
            ..Config::default()
        };
        let frames = plan(events(), &config, 1);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].delay, Duration::ZERO);
        assert_eq!(frames[1].delay, Duration::from_millis(25));
        assert_eq!(frames[2].bytes, events()[2]);
    }

    #[test]
    fn random_mode_reassembles_the_event_stream() {
        let config = Config {
            sse_split: SseSplit::Random,
            seed: 9,
            ..Config::default()
        };
        let frames = plan(events(), &config, 3);
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.bytes.to_vec()).collect();
        assert_eq!(joined, events().concat());
        assert!(frames.len() > 1);
        assert!(frames[1..].iter().all(|f| f.delay == PIECE_GAP));
        assert_eq!(plan(events(), &config, 3), frames);
    }

    #[tokio::test]
    async fn body_yields_all_frames_in_order() {
        let frames = paced(events(), Duration::from_millis(1));
        let bytes = body(frames, false).collect().await.unwrap().to_bytes();
        assert_eq!(bytes.to_vec(), events().concat());
    }

    #[tokio::test]
    async fn cut_body_fails_after_its_frames() {
        let mut cut = body(paced(events(), Duration::ZERO), true);
        for expected in events() {
            let frame = cut.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), expected);
        }
        assert!(cut.frame().await.unwrap().is_err());
        assert!(cut.frame().await.is_none());
    }
}
