//! Routing: the bucket rule, choosing an environment for one request, and reading its headers.

pub mod bucket;
pub mod choose;
pub mod headers;
pub mod weight;

pub use bucket::{bucket, fnv1a64, KeylessPicker, Split, BUCKETS};
pub use choose::{choose_environment, is_status_path, Reason, OVERRIDE_TOKEN_HEADER};
pub use headers::{HeaderBlock, Headers, OneHeader, SomeHeaders};
