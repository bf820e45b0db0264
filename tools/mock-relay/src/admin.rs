//! The admin listener (`/_mock/...`): inspect and change the relay at runtime.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::json;
use tokio::sync::Mutex;

use crate::config::ConfigPatch;
use crate::data_listener::DataListener;
use crate::http::{self, Resp};
use crate::state::AppState;
use crate::tls;

pub struct Admin {
    pub app: Arc<AppState>,
    /// Locked for a whole config update, so `refuse` and the socket never disagree.
    pub data: Mutex<DataListener>,
}

pub async fn serve_request(admin: Arc<Admin>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let log = &admin.app.log;
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/_mock/health") => http::text(StatusCode::OK, "ok"),
        (&Method::GET, "/_mock/config") => http::json(StatusCode::OK, &json!(*admin.app.config())),
        (&Method::POST, "/_mock/config") => match http::read_body(body).await {
            Ok(body) => update_config(&admin, &body).await,
            Err(resp) => resp,
        },
        (&Method::GET, "/_mock/requests") => http::json_bytes(StatusCode::OK, log.requests_json()),
        (&Method::DELETE, "/_mock/requests") => {
            log.clear();
            http::empty(StatusCode::NO_CONTENT)
        }
        (&Method::GET, "/_mock/stats") => http::json(StatusCode::OK, &json!(log.stats())),
        (method, path) => http::openai_error(
            StatusCode::NOT_FOUND,
            &format!("Invalid URL ({method} {path})"),
            None,
        ),
    }
}

/// Merges a partial config; answers the full config that is now in force.
async fn update_config(admin: &Admin, body: &Bytes) -> Resp {
    let patch = match ConfigPatch::from_json(body) {
        Ok(patch) => patch,
        Err(message) => return http::openai_error(StatusCode::BAD_REQUEST, &message, None),
    };
    // Setting the period again restarts its count, so a test knows which request fails.
    let restart_error_count = patch.chat_error_every.is_some();
    let mut data = admin.data.lock().await;
    let current = admin.app.config();
    let next = match current.merged(patch) {
        Ok(next) => next,
        Err(message) => return http::openai_error(StatusCode::BAD_REQUEST, &message, None),
    };
    if next.tls_files() != current.tls_files() {
        let tls = match tls::for_config(&next, admin.app.verbose) {
            Ok(tls) => tls,
            Err(message) => return http::openai_error(StatusCode::BAD_REQUEST, &message, None),
        };
        if let Err(e) = data.set_tls(tls).await {
            return http::openai_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}"), None);
        }
    }
    if let Err(e) = data.set_refused(next.refuse).await {
        return http::openai_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}"), None);
    }
    if restart_error_count {
        admin.app.restart_completion_count();
    }
    admin.app.set_config(next.clone());
    http::json(StatusCode::OK, &json!(next))
}
