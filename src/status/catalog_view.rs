//! The status endpoint's model-catalog part: what each environment lists, and for the candidate
//! what it lacks of the active environment's list, with each missing model's share of the live
//! requests of the last ten minutes (when usage is metered).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ai::catalog::Catalog;
use crate::status::number;

/// What the host read from shared data for both environments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogInput {
    pub catalogs: [Catalog; 2],
    /// Answered completions in the window, all environments.
    pub traffic_total: u64,
    /// Share of that traffic per catalog model name.
    pub traffic_shares: BTreeMap<String, f64>,
}

#[derive(Serialize)]
pub struct ModelsView<'a> {
    count: usize,
    ids: &'a [String],
    truncated: bool,
    /// Why the last `/v1/models` answer was not an OpenAI model list.
    not_a_list: Option<&'a str>,
    read_at: String,
}

#[derive(Serialize)]
pub struct MissingView<'a> {
    id: &'a str,
    /// `null` when the model's traffic is not counted (outside the catalog, or no traffic).
    share: Option<f64>,
}

/// `None` before the environment's list was first read.
pub fn models(catalog: &Catalog) -> Option<ModelsView<'_>> {
    (catalog.at_ms > 0).then(|| ModelsView {
        count: catalog.ids.len(),
        ids: &catalog.ids,
        truncated: catalog.truncated,
        not_a_list: catalog.not_a_list.as_deref(),
        read_at: super::rfc3339_utc(catalog.at_ms),
    })
}

/// The ids the active environment lists and the candidate does not.
pub fn missing<'a>(
    input: &'a CatalogInput,
    candidate: usize,
    active: usize,
) -> Vec<MissingView<'a>> {
    let (Some(candidate), Some(active)) =
        (input.catalogs.get(candidate), input.catalogs.get(active))
    else {
        return Vec::new();
    };
    candidate
        .missing_from(active)
        .into_iter()
        .map(|id| MissingView {
            id,
            share: (input.traffic_total > 0)
                .then(|| input.traffic_shares.get(id).copied())
                .flatten()
                .map(|share| number::rounded(share, 4)),
        })
        .collect()
}
