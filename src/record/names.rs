//! A set of names in shared data: the stat names of models some VM has flushed usage for, so
//! the status endpoint knows which usage metrics exist.

use std::collections::BTreeSet;

use super::{put_str, put_u64, Reader, Record};

const VERSION: u8 = 1;

impl Record for BTreeSet<String> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        put_u64(out, self.len() as u64);
        for name in self {
            put_str(out, name);
        }
    }

    fn decode(bytes: &[u8]) -> Option<BTreeSet<String>> {
        let mut r = Reader::new(bytes, VERSION)?;
        let count = r.u64()?;
        let mut names = BTreeSet::new();
        for _ in 0..count {
            names.insert(r.str()?.to_string());
        }
        r.finish(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::check_codec;

    #[test]
    fn round_trip_and_garbage() {
        let names: BTreeSet<String> = ["gpt-4_1", "other", "", "ünï"]
            .into_iter()
            .map(String::from)
            .collect();
        check_codec(&names);
    }
}
