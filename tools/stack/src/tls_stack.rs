//! Envoy from `envoy/templates/tls.yaml` in front of mock relays that serve HTTPS: relay
//! clusters with SNI, CA and SAN checks, a listener on every interface that takes plain HTTP,
//! h2c and TLS with ALPN. Blue and green may also be one relay reached by two clusters (the
//! same host with two keys, as in production with two accounts).

use std::time::Duration;

use serde_json::Value;

use crate::certs::TestCerts;
use crate::envoy::{Envoy, EnvoyExit};
use crate::http::Http;
use crate::mock::MockRelay;
use crate::paths::template;
use crate::poll::poll_until;
use crate::running::RunningStack;
use crate::stack::bootstrap_vars;

/// Two workers, as the static stack.
const CONCURRENCY: u32 = 2;

/// What to start.
#[derive(Default)]
pub struct TlsSpec<'a> {
    pub filter_config: &'a str,
    /// Exactly the key and token variables Envoy sees.
    pub env: &'a [(&'a str, &'a str)],
    /// Extra `mock-relay` arguments (a failure in place before the first probe).
    pub blue_args: &'a [&'a str],
    pub green_args: &'a [&'a str],
    /// Green's cluster trusts only an unrelated CA: its relay's certificate does not validate.
    pub green_distrusted: bool,
    /// One relay (blue's) behind both clusters; `green_args` are not used.
    pub one_relay: bool,
}

pub struct TlsStack {
    pub certs: TestCerts,
    pub blue: MockRelay,
    /// `None` when blue's relay serves both clusters.
    green: Option<MockRelay>,
    pub envoy: Envoy,
    client: Http,
}

impl TlsStack {
    /// Starts everything; panics with Envoy's log if it will not start.
    pub fn start(spec: &TlsSpec<'_>) -> TlsStack {
        TlsStack::try_start(spec).unwrap_or_else(|exit| panic!("Envoy did not start: {exit:?}"))
    }

    pub fn try_start(spec: &TlsSpec<'_>) -> Result<TlsStack, EnvoyExit> {
        let certs = TestCerts::new();
        if spec.green_distrusted {
            certs.trust_other_ca("green");
        }
        let relay = |name: &str, extra: &[&str]| {
            let (cert, key) = (certs.server_cert(), certs.server_key());
            let mut args = vec![
                "--tls-cert".to_string(),
                cert.display().to_string(),
                "--tls-key".to_string(),
                key.display().to_string(),
            ];
            args.extend(extra.iter().map(|a| a.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            MockRelay::start(name, &args)
        };
        let blue = relay("blue", spec.blue_args);
        let green = (!spec.one_relay).then(|| relay("green", spec.green_args));
        let mut vars = bootstrap_vars(&blue, green.as_ref().unwrap_or(&blue), spec.filter_config);
        vars.push(("FILTER_CONFIG", Value::from(spec.filter_config).to_string()));
        vars.push(("CERT_DIR", certs.dir().display().to_string()));
        let envoy = Envoy::start(&template("tls.yaml"), &vars, spec.env, CONCURRENCY)?;
        let client = envoy.client();
        Ok(TlsStack {
            certs,
            blue,
            green,
            envoy,
            client,
        })
    }

    /// Green's relay (blue's when one relay serves both clusters).
    pub fn green(&self) -> &MockRelay {
        self.green.as_ref().unwrap_or(&self.blue)
    }

    /// The listener's port (it binds every interface).
    pub fn port(&self) -> u16 {
        self.envoy
            .listen
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("bad listener address {}", self.envoy.listen))
    }

    /// Polls the status until `settled` holds; panics with the last status seen.
    pub fn status_when(
        &self,
        what: &str,
        timeout: Duration,
        settled: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        poll_until(timeout, || {
            last = self.status();
            settled(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| panic!("status never showed {what}; last:\n{last:#}"))
    }
}

impl RunningStack for TlsStack {
    fn relays(&self) -> [&MockRelay; 2] {
        [&self.blue, self.green()]
    }

    fn client(&self) -> &Http {
        &self.client
    }
}
