//! `environments.blue` and `environments.green`: each one's own rules, then the rules of the
//! pair (weights sum to 100, distinct clusters, failover clusters that are not an
//! environment's own).

use super::error::Problems;
use super::raw::{RawEnvironment, RawEnvironments};
use super::read_types::Object;
use super::secrets;
use super::{ConfigError, EnvironmentConfig};
use crate::environment::Environment;
use crate::routing::{weight, BUCKETS};

pub fn validate(
    raw: RawEnvironments,
    lookup_env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<[EnvironmentConfig; 2]> {
    let (Object(raw_blue), Object(raw_green)) = (raw.blue, raw.green);
    let blue = environment(Environment::Blue, &raw_blue, lookup_env, problems);
    let green = environment(Environment::Green, &raw_green, lookup_env, problems);
    let mut pair_ok = true;
    if let (Some(blue_bp), Some(green_bp)) = (blue.weight_bp, green.weight_bp) {
        if blue_bp + green_bp != BUCKETS {
            problems.push(
                "environments.green.weight",
                format!(
                    "blue + green must sum to 100 (got {} + {})",
                    raw_blue.weight.text(),
                    raw_green.weight.text()
                ),
            );
            pair_ok = false;
        }
    }
    if let (Some(blue_cluster), Some(green_cluster)) = (&blue.cluster, &green.cluster) {
        if blue_cluster == green_cluster {
            problems.push(
                "environments.green.cluster",
                format!("must differ from blue's cluster (got {green_cluster:?})"),
            );
            pair_ok = false;
        }
    }
    let own = [blue.cluster.as_deref(), green.cluster.as_deref()];
    for (env, fields) in [(Environment::Blue, &blue), (Environment::Green, &green)] {
        let (Some(cluster), Some(route_cluster)) = (&fields.cluster, &fields.route_cluster) else {
            continue;
        };
        if route_cluster != cluster && own.contains(&Some(route_cluster.as_str())) {
            problems.push(
                format!("environments.{}.failover_cluster", env.as_str()),
                format!(
                    "must be an aggregate cluster, not an environment's own cluster (got {route_cluster:?})"
                ),
            );
            pair_ok = false;
        }
    }
    let (blue, green) = (blue.finish(), green.finish());
    pair_ok.then_some([blue?, green?])
}

/// One environment's fields, each `None` when refused (its problem recorded).
struct Fields {
    cluster: Option<String>,
    weight_bp: Option<u32>,
    api_key: Option<crate::secret::ApiKey>,
    authority: Option<String>,
    route_cluster: Option<String>,
}

impl Fields {
    fn finish(self) -> Option<EnvironmentConfig> {
        Some(EnvironmentConfig {
            cluster: self.cluster?,
            weight_bp: self.weight_bp?,
            api_key: self.api_key?,
            route_cluster: self.route_cluster?,
            authority: self.authority?,
        })
    }
}

fn environment(
    env: Environment,
    raw: &RawEnvironment,
    lookup_env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Fields {
    let path = format!("environments.{}", env.as_str());
    let field = |name: &str| format!("{path}.{name}");
    let cluster = problems.check(cluster_name(&field("cluster"), &raw.cluster));
    let weight_bp = problems.check(weight::parse(raw.weight.text()).map_err(|rule| {
        ConfigError::new(
            field("weight"),
            format!("{rule} (got {})", raw.weight.text()),
        )
    }));
    let api_key = problems.check(match (&raw.api_key, &raw.api_key_env) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            &path,
            "set exactly one of api_key or api_key_env (got both)",
        )),
        (None, None) => Err(ConfigError::new(
            &path,
            "set exactly one of api_key or api_key_env (got neither)",
        )),
        (Some(key), None) => secrets::api_key(&field("api_key"), key, "the inline key"),
        (None, Some(var)) => {
            let at = field("api_key_env");
            secrets::from_env(&at, var, lookup_env)
                .and_then(|key| secrets::api_key(&at, &key, &format!("the value of {var}")))
        }
    });
    let authority = match &raw.authority {
        None => cluster.clone(),
        Some(name) if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) => {
            problems.push(
                field("authority"),
                format!("must be a host name (got {name:?})"),
            );
            None
        }
        Some(name) => Some(name.clone()),
    };
    let route_cluster = match &raw.failover_cluster {
        None => cluster.clone(),
        Some(name) => problems.check(cluster_name(&field("failover_cluster"), name)),
    };
    Fields {
        cluster,
        weight_bp,
        api_key,
        authority,
        route_cluster,
    }
}

fn cluster_name(field: &str, name: &str) -> Result<String, ConfigError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            field,
            format!("must be an Envoy cluster name (got {name:?})"),
        ));
    }
    Ok(name.to_string())
}
