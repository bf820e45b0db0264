//! `RollbackRecord` in shared data: the candidate's sliding window and its trip, which every
//! worker adds to on the timer.

use super::{put_bool, put_u64, Reader, Record};
use crate::health::rollback::{RollbackRecord, Slice, Trip};

const VERSION: u8 = 1;

impl Record for RollbackRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        put_u64(out, self.slices.len() as u64);
        for slice in &self.slices {
            put_u64(out, slice.start_ms);
            put_u64(out, slice.requests);
            put_u64(out, slice.errors);
        }
        put_bool(out, self.trip.is_some());
        if let Some(trip) = &self.trip {
            put_u64(out, trip.at_ms);
            put_u64(out, trip.until_ms);
            // The exact bits: the rate is compared again, never printed from here.
            put_u64(out, trip.error_rate.to_bits());
            put_u64(out, trip.requests);
        }
    }

    fn decode(bytes: &[u8]) -> Option<RollbackRecord> {
        let mut r = Reader::new(bytes, VERSION)?;
        let count = r.u64()?;
        // No capacity from the count: each slice must be read before it takes memory.
        let mut slices = Vec::new();
        for _ in 0..count {
            slices.push(Slice {
                start_ms: r.u64()?,
                requests: r.u64()?,
                errors: r.u64()?,
            });
        }
        let trip = match r.bool()? {
            true => Some(Trip {
                at_ms: r.u64()?,
                until_ms: r.u64()?,
                error_rate: f64::from_bits(r.u64()?),
                requests: r.u64()?,
            }),
            false => None,
        };
        r.finish(RollbackRecord { slices, trip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::check_codec;

    #[test]
    fn round_trip_and_garbage() {
        let slice = |start_ms, requests, errors| Slice {
            start_ms,
            requests,
            errors,
        };
        check_codec(&RollbackRecord {
            slices: vec![
                slice(1_000, 10, 2),
                slice(2_000, 0, 0),
                slice(u64::MAX, 1, 1),
            ],
            trip: None,
        });
        check_codec(&RollbackRecord {
            slices: Vec::new(),
            trip: Some(Trip {
                at_ms: 5,
                until_ms: 300_005,
                error_rate: 0.123456,
                requests: 40,
            }),
        });
    }

    #[test]
    fn a_huge_count_without_slices_fails_fast() {
        let mut bytes = vec![VERSION];
        put_u64(&mut bytes, u64::MAX);
        assert_eq!(RollbackRecord::decode(&bytes), None);
    }
}
