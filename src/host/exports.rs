//! The functions the module exports to Envoy (proxy-wasm ABI v0.2.1): the context table and the
//! callbacks, sent to `Root` and `Stream` with `AbiHost`. Written here rather than taken from
//! the SDK because the SDK's dispatcher traps on what a host may legitimately do (an unknown
//! context or token, a refused `set_effective_context`) and does not see calls made through the
//! raw ABI. Here an unknown id is ignored, and a callback that arrives while its context is busy
//! (re-entrance) gets the default answer rather than a trap on a borrowed cell.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use fnv::FnvBuildHasher;

use super::abi::AbiHost;
use super::api::Flow;
use super::logger;
use super::root::{Root, Stream};
use super::stream::RelayStream;
use super::vm::Vm;

enum Context {
    Root(Root<AbiHost>),
    Stream(Stream<AbiHost>),
}

thread_local! {
    static VM: Rc<Vm<AbiHost>> = Rc::new(Vm::new(AbiHost));
    /// Each context behind its own cell (boxed by the `Rc`), so that a callback moves no
    /// context in memory and the table is never borrowed while filter code runs.
    static CONTEXTS: RefCell<HashMap<u32, Rc<RefCell<Context>>, FnvBuildHasher>> =
        RefCell::new(HashMap::default());
}

/// Runs `call` on the context with `id`; `fallback` for an unknown id, or for a callback that
/// arrives while that context is already in one.
fn with_context<R>(id: u32, fallback: R, call: impl FnOnce(&mut Context) -> R) -> R {
    let Some(context) = CONTEXTS.with(|table| table.borrow().get(&id).cloned()) else {
        return fallback;
    };
    let Ok(mut context) = context.try_borrow_mut() else {
        return fallback;
    };
    call(&mut context)
}

fn with_root<R>(id: u32, fallback: R, call: impl FnOnce(&mut Root<AbiHost>) -> R) -> R {
    with_context(id, None, |context| match context {
        Context::Root(root) => Some(call(root)),
        Context::Stream(_) => None,
    })
    .unwrap_or(fallback)
}

fn with_stream(id: u32, call: impl FnOnce(&mut Stream<AbiHost>) -> Flow) -> u32 {
    let flow = with_context(id, None, |context| match context {
        Context::Stream(stream) => Some(call(stream)),
        Context::Root(_) => None,
    });
    flow.unwrap_or(Flow::Continue) as u32
}

#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

#[cfg(target_os = "wasi")]
extern "C" {
    fn __wasm_call_ctors();
}

/// The reactor's entry point: std's constructors. Envoy allows no host call here.
#[no_mangle]
pub extern "C" fn _initialize() {
    #[cfg(target_os = "wasi")]
    // SAFETY: the linker's constructor list, run once, before anything else in the module.
    unsafe {
        __wasm_call_ctors();
    }
}

/// Memory the host fills and hands over (header maps, buffers, shared data); the Rust side
/// takes ownership with `Vec::from_raw_parts` of the same size.
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let mut memory: Vec<u8> = Vec::with_capacity(size);
    let pointer = memory.as_mut_ptr();
    std::mem::forget(memory);
    pointer
}

#[no_mangle]
pub extern "C" fn proxy_on_context_create(context_id: u32, parent_context_id: u32) {
    let vm = VM.with(Rc::clone);
    let context = if parent_context_id == 0 {
        Context::Root(Root::new(vm))
    } else {
        // A stream whose root context is unknown fails closed (503), never passes unrouted
        // with the client's key.
        let stream = with_root(parent_context_id, None, |root| Some(root.create_stream()));
        Context::Stream(stream.unwrap_or_else(|| Stream::Relay(RelayStream::new(vm, None))))
    };
    let context = Rc::new(RefCell::new(context));
    CONTEXTS.with(|table| table.borrow_mut().insert(context_id, context));
}

#[no_mangle]
pub extern "C" fn proxy_on_vm_start(_context_id: u32, _vm_configuration_size: usize) -> bool {
    // The first callback that may ask the host for its log level.
    logger::install();
    true
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(context_id: u32, _plugin_configuration_size: usize) -> bool {
    with_root(context_id, false, Root::on_configure)
}

#[no_mangle]
pub extern "C" fn proxy_on_tick(context_id: u32) {
    with_root(context_id, (), Root::on_tick);
}

#[no_mangle]
pub extern "C" fn proxy_on_http_call_response(
    context_id: u32,
    token: u32,
    _num_headers: usize,
    body_size: usize,
    _num_trailers: usize,
) {
    with_root(context_id, (), |root| {
        root.on_http_call_response(token, body_size)
    });
}

#[no_mangle]
pub extern "C" fn proxy_on_queue_ready(context_id: u32, queue_id: u32) {
    with_root(context_id, (), |root| root.on_queue_ready(queue_id));
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(
    context_id: u32,
    _num_headers: usize,
    end_of_stream: bool,
) -> u32 {
    with_stream(context_id, |stream| {
        stream.on_request_headers(end_of_stream)
    })
}

#[no_mangle]
pub extern "C" fn proxy_on_request_body(
    context_id: u32,
    body_size: usize,
    end_of_stream: bool,
) -> u32 {
    with_stream(context_id, |stream| {
        stream.on_request_body(body_size, end_of_stream)
    })
}

#[no_mangle]
pub extern "C" fn proxy_on_request_trailers(_context_id: u32, _num_trailers: usize) -> u32 {
    Flow::Continue as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(
    context_id: u32,
    _num_headers: usize,
    end_of_stream: bool,
) -> u32 {
    with_stream(context_id, |stream| {
        stream.on_response_headers(end_of_stream)
    })
}

#[no_mangle]
pub extern "C" fn proxy_on_response_body(
    context_id: u32,
    body_size: usize,
    end_of_stream: bool,
) -> u32 {
    with_stream(context_id, |stream| {
        stream.on_response_body(body_size, end_of_stream)
    })
}

#[no_mangle]
pub extern "C" fn proxy_on_response_trailers(_context_id: u32, _num_trailers: usize) -> u32 {
    Flow::Continue as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_log(context_id: u32) {
    with_context(context_id, (), |context| {
        if let Context::Stream(stream) = context {
            stream.on_log();
        }
    });
}

#[no_mangle]
pub extern "C" fn proxy_on_done(context_id: u32) -> bool {
    with_context(context_id, true, |context| match context {
        Context::Root(root) => root.on_done(),
        Context::Stream(_) => true,
    })
}

#[no_mangle]
pub extern "C" fn proxy_on_delete(context_id: u32) {
    CONTEXTS.with(|table| table.borrow_mut().remove(&context_id));
}
