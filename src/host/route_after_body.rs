//! The module as the second filter instance in the listener, behind Envoy's `buffer` filter:
//! its request headers callback runs only after the first instance read the whole body (Envoy
//! holds the headers back from the router until then), so it can still change them. It applies a
//! pinned model's environment and removes the body-check marker. An Envoy matcher runs it only
//! for marked requests.

use std::rc::Rc;

use log::debug;

use super::api::{Flow, Host, Map};
use super::route::{self, Route};
use super::vm::Vm;
use super::{filter_state, keys, local, shared};
use crate::ai::body_check::BODY_CHECK_HEADER;

pub struct RouteAfterBody<H: Host> {
    vm: Rc<Vm<H>>,
}

impl<H: Host> RouteAfterBody<H> {
    pub fn new(vm: Rc<Vm<H>>) -> RouteAfterBody<H> {
        RouteAfterBody { vm }
    }

    pub fn on_request_headers(&mut self) -> Flow {
        let vm = &*self.vm;
        if let Err(err) = vm
            .host
            .remove_header(Map::RequestHeaders, BODY_CHECK_HEADER)
        {
            debug!("removing {BODY_CHECK_HEADER} failed: {err}");
        }
        let Some(moved) = filter_state::body_route(&vm.host) else {
            return Flow::Continue;
        };
        // The relay filter publishes each environment's `Bearer <key>` in shared data.
        let key = shared::get(&vm.host, &keys::authorization(moved.env))
            .0
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(key) = key else {
            return local::error(vm, 503, "relay key not available yet");
        };
        let applied = route::apply(
            vm,
            &Route {
                env: moved.env,
                cluster_header: &moved.cluster_header,
                cluster: &moved.cluster,
                authorization: &key,
            },
        );
        if !applied {
            return local::error(vm, 500, "the relay filter could not route the request");
        }
        filter_state::set_body_route_applied(&vm.host);
        Flow::Continue
    }
}
