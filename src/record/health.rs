//! `HealthRecord` in shared data: written by the prober, read by every worker on each tick.

use super::{put_bool, put_str, put_u64, Reader, Record};
use crate::health::{Health, HealthRecord};

const VERSION: u8 = 1;

impl Record for HealthRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        put_u64(out, self.health.gauge());
        put_u64(out, u64::from(self.consecutive_failures));
        put_u64(out, u64::from(self.consecutive_passes));
        put_u64(out, self.last_probe_ms);
        put_u64(out, self.last_pass_ms);
        put_u64(out, self.latency_ms);
        put_bool(out, self.last_failure.is_some());
        if let Some(failure) = &self.last_failure {
            put_str(out, failure);
        }
    }

    fn decode(bytes: &[u8]) -> Option<HealthRecord> {
        let mut r = Reader::new(bytes, VERSION)?;
        let record = HealthRecord {
            health: Health::from_gauge(r.u64()?)?,
            consecutive_failures: r.u32()?,
            consecutive_passes: r.u32()?,
            last_probe_ms: r.u64()?,
            last_pass_ms: r.u64()?,
            latency_ms: r.u64()?,
            last_failure: match r.bool()? {
                true => Some(r.str()?.to_string()),
                false => None,
            },
        };
        r.finish(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Outcome;
    use crate::record::check_codec;

    #[test]
    fn round_trip_and_garbage() {
        let mut record = HealthRecord::default();
        record.record(
            &Outcome::Unhealthy("timeout on \"/v1\" ✓".into()),
            9,
            3,
            1,
            1,
        );
        record.last_pass_ms = u64::MAX;
        record.consecutive_passes = u32::MAX;
        check_codec(&record);
        check_codec(&HealthRecord {
            health: Health::Healthy,
            latency_ms: 12,
            ..HealthRecord::default()
        });
    }
}
