//! `models` as written: one entry per model name (a name given twice is refused by
//! `UniqueMap`), validated by `models.rs`.

use serde::Deserialize;

use super::read_types::{NumberText, Object, Strings};

/// `models.<name>` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel<'a> {
    pub provider: String,
    #[serde(borrow)]
    pub max_tokens: NumberText<'a>,
    pub supports_streaming: bool,
    #[serde(default, borrow)]
    pub price_per_mtok: Option<Object<RawPrice<'a>>>,
    #[serde(default)]
    pub environments: Option<Strings>,
}

/// USD per million tokens, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice<'a> {
    #[serde(borrow)]
    pub input: NumberText<'a>,
    #[serde(borrow)]
    pub output: NumberText<'a>,
}
