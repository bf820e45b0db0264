use super::*;
use http_body_util::BodyExt;
use hyper::Request;
use serde_json::json;

fn state(config: Config) -> AppState {
    AppState::new("blue", config, 0, false).unwrap()
}

fn parts(method: &str, path: &str) -> Parts {
    Request::builder()
        .method(method)
        .uri(path)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn chat(stream: bool) -> Bytes {
    Bytes::from(
        json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "stream": stream})
            .to_string(),
    )
}

async fn post_chat(state: &AppState, stream: bool) -> Resp {
    respond(state, &parts("POST", "/v1/chat/completions"), &chat(stream)).await
}

async fn body_bytes(resp: Resp) -> Vec<u8> {
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn every_nth_completion_fails_with_the_error_status() {
    let state = state(Config {
        chat_error_every: 3,
        chat_error_status: 429,
        ..Config::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(post_chat(&state, false).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429, 200, 200, 429]);
    // Models are not counted and never fail.
    let models = respond(&state, &parts("GET", "/v1/models"), &Bytes::new()).await;
    assert_eq!(models.status(), 200);
    state.restart_completion_count();
    assert_eq!(post_chat(&state, false).await.status(), 200);
}

#[tokio::test]
async fn chat_status_comes_before_the_periodic_error() {
    let state = state(Config {
        chat_status: 503,
        chat_error_every: 1,
        ..Config::default()
    });
    assert_eq!(post_chat(&state, false).await.status(), 503);
}

#[tokio::test]
async fn empty_chat_body_for_plain_and_streamed_requests() {
    let state = state(Config {
        chat_body: ChatBody::Empty,
        ..Config::default()
    });
    for stream in [false, true] {
        let resp = post_chat(&state, stream).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert!(body_bytes(resp).await.is_empty());
    }
    // Checks still run first.
    let bad = respond(
        &state,
        &parts("POST", "/v1/chat/completions"),
        &Bytes::new(),
    )
    .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn forced_completion_tokens_show_in_usage() {
    let state = state(Config {
        completion_tokens: Some(1),
        ..Config::default()
    });
    let body: Value =
        serde_json::from_slice(&body_bytes(post_chat(&state, false).await).await).unwrap();
    assert_eq!(body["usage"]["completion_tokens"], 1);
    assert_eq!(body["usage"]["total_tokens"], 2);
}

#[tokio::test(start_paused = true)]
async fn first_byte_delay_holds_completions_only() {
    let state = state(Config {
        first_byte_delay_ms: 5_000,
        ..Config::default()
    });
    let started = tokio::time::Instant::now();
    respond(&state, &parts("GET", "/v1/models"), &Bytes::new()).await;
    assert!(started.elapsed() < Duration::from_millis(5_000));
    post_chat(&state, false).await;
    assert!(started.elapsed() >= Duration::from_millis(5_000));
}

#[tokio::test(start_paused = true)]
async fn hang_answers_nothing_after_the_wait() {
    let state = state(Config {
        hang_ms: 60_000,
        ..Config::default()
    });
    let started = tokio::time::Instant::now();
    let resp = respond(&state, &parts("GET", "/v1/models"), &Bytes::new()).await;
    assert!(started.elapsed() >= Duration::from_millis(60_000));
    assert!(http::is_close_without_answer(&resp));
    assert!(http::is_close_without_answer(
        &post_chat(&state, false).await
    ));
}

#[tokio::test]
async fn stream_faults_reach_the_body() {
    let state = state(Config {
        sse_malformed: true,
        sse_long_line_bytes: 100,
        stream_usage: StreamUsage::Always,
        ..Config::default()
    });
    let text = String::from_utf8(body_bytes(post_chat(&state, true).await).await).unwrap();
    let lines: Vec<&str> = text.split("\n\n").filter(|l| !l.is_empty()).collect();
    // 3 chunks + malformed + long line + usage + [DONE]
    assert_eq!(lines.len(), 7, "{text}");
    assert_eq!(lines[1], "data: {\"id\": oops");
    assert_eq!(lines[4], format!("data: {}", "x".repeat(100)));
    assert!(lines[5].contains("\"usage\":{"));
    assert_eq!(lines[6], "data: [DONE]");
}

#[tokio::test]
async fn cut_stream_body_fails_after_half_an_event() {
    let state = state(Config {
        sse_cut_after_events: 2,
        ..Config::default()
    });
    let resp = post_chat(&state, true).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"data: {") && first.ends_with(b"\n\n"));
    let half = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(half.starts_with(b"data: {") && !half.ends_with(b"\n\n"));
    assert!(body.frame().await.unwrap().is_err());
}
