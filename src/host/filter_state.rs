//! The filter state the two listener instances share for one request: where a pinned model's
//! body sent it (written by the relay filter, applied by `route_after_body`), and whether it was
//! applied. Envoy exposes it to wasm as the property `wasm.<name>`.

use log::{debug, warn};

use super::api::Host;
use crate::ai::body_check::BodyRoute;
use crate::record;

const BODY_ROUTE: &str = "bluegreen_body_route";
const BODY_ROUTE_APPLIED: &str = "bluegreen_body_route_applied";

/// Hands the body's routing decision to the `route_after_body` instance.
#[must_use]
pub fn set_body_route(host: &impl Host, route: &BodyRoute) -> bool {
    set(host, BODY_ROUTE, &record::encode(route))
}

/// The route the relay filter handed over; `None` when there is none or it does not read.
pub fn body_route(host: &impl Host) -> Option<BodyRoute> {
    let bytes = get(host, BODY_ROUTE)?;
    match record::decode(&bytes) {
        Ok(route) => Some(route),
        Err(err) => {
            warn!("ignoring an unreadable body route in filter state: {err}");
            None
        }
    }
}

pub fn set_body_route_applied(host: &impl Host) {
    let _acknowledged = set(host, BODY_ROUTE_APPLIED, b"1");
}

pub fn body_route_applied(host: &impl Host) -> bool {
    get(host, BODY_ROUTE_APPLIED).is_some()
}

fn set(host: &impl Host, name: &str, value: &[u8]) -> bool {
    host.set_property(&[name], value)
        .map_err(|err| warn!("setting filter state {name} failed: {err}"))
        .is_ok()
}

fn get(host: &impl Host, name: &str) -> Option<Vec<u8>> {
    host.property(&[name]).unwrap_or_else(|err| {
        debug!("reading filter state {name} failed: {err}");
        None
    })
}
