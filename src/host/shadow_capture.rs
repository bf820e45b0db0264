//! Shadow copies, stream side: a request `shadow::is_shadowed` picks keeps a copy of its body as
//! it passes (never pausing the stream for it), and once the body is complete puts the copy on
//! the shared queue for the root context, within the rate cap. Its own answer, from the active
//! environment, is counted on the other side of the comparison when the stream ends.

use log::debug;

use super::api::{Buffer, Host};
use super::shadow::{record, Side};
use super::vm::Vm;
use super::{keys, shared};
use crate::ai::body_check::is_completion_path;
use crate::ai::usage::Usage;
use crate::config::{Config, Shadow};
use crate::environment::Environment;
use crate::record as codec;
use crate::routing::{Headers, Reason};
use crate::shadow::item::ShadowItem;
use crate::shadow::rate::RateWindow;
use crate::shadow::stats::Outcome;
use crate::shadow::{is_shadowed, key_bucket, keyless_bucket, Request};

/// The copy of a request that `shadow::is_shadowed` picks; `None` for every other request (and
/// at no cost beyond one branch without a `shadow` block). `keyless`: the bucket a request
/// without an affinity key was routed with.
pub fn decide<H: Host>(
    vm: &Vm<H>,
    config: &Config,
    headers: &impl Headers,
    env: Environment,
    reason: Reason,
    keyless: Option<u32>,
) -> Option<ShadowCapture> {
    let limits = config.shadow?;
    if limits.percent_bp == 0 || env != config.active || reason == Reason::Override {
        return None;
    }
    let method = headers.get(":method")?;
    let path = headers.get(":path")?;
    let completion = method == b"POST" && is_completion_path(path);
    let affinity = config.affinity_headers.iter().find_map(|name| {
        headers
            .get(name)
            .filter(|value| !value.is_empty())
            .map(|value| (name.as_str(), value))
    });
    let shadow_bucket = match (affinity, keyless) {
        (Some((_, key)), _) => key_bucket(key),
        (None, Some(bucket)) => keyless_bucket(bucket),
        (None, None) => return None,
    };
    let request = Request {
        env,
        reason,
        completion,
        shadow_bucket,
    };
    is_shadowed(&limits, config.active, &request).then(|| {
        ShadowCapture::new(
            limits,
            config.active.other(),
            method,
            path,
            headers.get("content-type"),
            affinity,
            vm.now_ms(),
        )
    })
}

pub struct ShadowCapture {
    limits: Shadow,
    item: ShadowItem,
    started_ms: u64,
    /// Enqueued: the active environment's answer is counted for the comparison.
    sent: bool,
    /// The active environment's `:status`.
    status: Option<u32>,
}

impl ShadowCapture {
    /// A copy of a request the stream decided to shadow to `candidate`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        limits: Shadow,
        candidate: Environment,
        method: &[u8],
        path: &[u8],
        content_type: Option<&[u8]>,
        affinity: Option<(&str, &[u8])>,
        started_ms: u64,
    ) -> ShadowCapture {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        ShadowCapture {
            limits,
            item: ShadowItem {
                env: Some(candidate),
                method: text(method),
                path: text(path),
                affinity: affinity.map(|(name, value)| (name.to_string(), text(value))),
                content_type: content_type.map(text),
                model: None,
                enqueued_ms: 0,
                body: Vec::new(),
            },
            started_ms,
            sent: false,
            status: None,
        }
    }

    /// Whether a body announced as `length` bytes is too large to shadow.
    pub fn too_large(&self, length: usize) -> bool {
        length > self.limits.max_body_bytes
    }

    /// One piece of the request body. `held`: the stream holds the whole body in Envoy's buffer
    /// (it reads it for the model check), so only its end is read, whole. `false` drops the copy
    /// (too large, or unreadable).
    pub fn on_body<H: Host>(
        &mut self,
        vm: &Vm<H>,
        body_size: usize,
        end_of_stream: bool,
        held: bool,
    ) -> bool {
        if held && !end_of_stream {
            return body_size <= self.limits.max_body_bytes;
        }
        let total = if held {
            body_size
        } else {
            self.item.body.len().saturating_add(body_size)
        };
        if total > self.limits.max_body_bytes {
            return false;
        }
        if body_size == 0 {
            return true;
        }
        match vm.host.buffer(Buffer::RequestBody, 0, body_size) {
            Ok(Some(piece)) => {
                if held {
                    self.item.body = piece;
                } else {
                    self.item.body.extend_from_slice(&piece);
                }
                true
            }
            Ok(None) => true,
            Err(err) => {
                debug!("reading a body to shadow failed: {err}");
                false
            }
        }
    }

    /// The request is complete: puts the copy on the queue if this second has room.
    pub fn send<H: Host>(&mut self, vm: &Vm<H>, config: &Config, model: Option<&str>) {
        let Some(queue) = vm.shadow_queue.get() else {
            return;
        };
        let now = vm.now_ms();
        let max = self.limits.max_per_second;
        shared::init(
            &vm.host,
            keys::SHADOW_RATE,
            &codec::encode(&RateWindow::default()),
        );
        let admitted = shared::update(&vm.host, keys::SHADOW_RATE, |window: &mut RateWindow| {
            window.admit(now, max)
        });
        let candidate = config.active.other();
        if admitted != Some(true) {
            let name = format!("bluegreen.{}.shadow.rate_limited", candidate.as_str());
            vm.metrics.borrow_mut().increment_named(&vm.host, &name, 1);
            return;
        }
        self.item.model = model.map(str::to_string);
        self.item.enqueued_ms = now;
        match vm
            .host
            .enqueue_shared_queue(queue, &codec::encode(&self.item))
        {
            Ok(()) => self.sent = true,
            Err(err) => debug!("enqueuing a shadow copy failed: {err}"),
        }
        // The copy has its own life now; the stream keeps none of the body.
        self.item.body = Vec::new();
    }

    pub fn on_response_status(&mut self, status: Option<u32>) {
        self.status = status;
    }

    /// The stream ended: the active environment's answer to a request that was shadowed.
    pub fn finish<H: Host>(&self, vm: &Vm<H>, config: &Config, metered: Option<(Usage, u64)>) {
        if !self.sent {
            return;
        }
        let outcome = self.status.map_or(Outcome::Failed, Outcome::Status);
        let latency = vm.now_ms().saturating_sub(self.started_ms);
        let Some(candidate) = self.item.env else {
            return;
        };
        let metered = metered.filter(|_| !config.models.catalog.is_empty());
        record(
            vm,
            config,
            candidate,
            Side::Active,
            outcome,
            latency,
            metered,
        );
    }
}
