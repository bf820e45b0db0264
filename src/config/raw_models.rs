//! `models` as written: one entry per model name, validated by `models.rs`.

use std::collections::BTreeMap;

use super::decode::{self, boolean, number, optional, required, string, strings};
use super::ConfigError;
use crate::json::Value;

/// `models.<name>` as written.
#[derive(Debug)]
pub struct RawModel<'a> {
    pub provider: String,
    pub max_tokens: &'a str,
    pub supports_streaming: bool,
    pub price_per_mtok: Option<RawPrice<'a>>,
    pub environments: Option<Vec<String>>,
}

/// USD per million tokens, as written.
#[derive(Debug)]
pub struct RawPrice<'a> {
    pub input: &'a str,
    pub output: &'a str,
}

impl<'a> RawModel<'a> {
    /// The `models` object; a model named twice is refused.
    pub fn read_catalog(
        path: &str,
        value: Value<'a>,
    ) -> Result<BTreeMap<String, RawModel<'a>>, ConfigError> {
        let mut models = BTreeMap::new();
        decode::entries(path, value, &mut |name, value, at| {
            let model = RawModel::read(at, value)?;
            match models.insert(name.to_string(), model) {
                Some(_) => Err(decode::repeated(at)),
                None => Ok(()),
            }
        })?;
        Ok(models)
    }

    fn read(path: &str, value: Value<'a>) -> Result<RawModel<'a>, ConfigError> {
        let (mut provider, mut max_tokens, mut supports_streaming) = (None, None, None);
        let (mut price_per_mtok, mut environments) = (None, None);
        let names = [
            "provider",
            "max_tokens",
            "supports_streaming",
            "price_per_mtok",
            "environments",
        ];
        decode::object(path, value, &names, &mut |name, value, at| {
            match name {
                "provider" => provider = Some(string(at, value)?),
                "max_tokens" => max_tokens = Some(number(at, value)?),
                "supports_streaming" => supports_streaming = Some(boolean(at, value)?),
                "price_per_mtok" => price_per_mtok = optional(value, |v| RawPrice::read(at, v))?,
                "environments" => environments = optional(value, |v| strings(at, v))?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(RawModel {
            provider: required(path, "provider", provider)?,
            max_tokens: required(path, "max_tokens", max_tokens)?,
            supports_streaming: required(path, "supports_streaming", supports_streaming)?,
            price_per_mtok,
            environments,
        })
    }
}

impl<'a> RawPrice<'a> {
    fn read(path: &str, value: Value<'a>) -> Result<RawPrice<'a>, ConfigError> {
        let (mut input, mut output) = (None, None);
        decode::object(path, value, &["input", "output"], &mut |name, value, at| {
            let price = Some(number(at, value)?);
            if name == "input" {
                input = price;
            } else {
                output = price;
            }
            Ok(())
        })?;
        Ok(RawPrice {
            input: required(path, "input", input)?,
            output: required(path, "output", output)?,
        })
    }
}
