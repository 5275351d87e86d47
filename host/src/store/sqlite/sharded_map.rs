//! A map from text keys split into many small hash maps, so that growing
//! it never stops the caller for long.
//!
//! A single `HashMap` doubles its table when it fills, moving every entry
//! in one insert: a stall of the store's writer (and of every decision
//! waiting for it) each time the case count doubles, growing with the
//! count (BENCHMARKS.md has the times measured). Split over [`SHARDS`] maps chosen by the key's hash, each
//! doubling moves a 256th of the entries, and the shards double at
//! different times.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// How many maps the entries are split over.
const SHARDS: usize = 256;

/// A map from text keys; see the module's documentation.
#[derive(Debug)]
pub(in crate::store) struct ShardedMap<V> {
    shards: Vec<HashMap<Box<str>, V>>,
    /// Picks the shard; each shard hashes again with its own state.
    chooser: RandomState,
}

impl<V> Default for ShardedMap<V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            chooser: RandomState::new(),
        }
    }
}

impl<V> ShardedMap<V> {
    fn shard(&self, key: &str) -> usize {
        // The high bits: the shard's own table uses the low ones of its hash.
        (self.chooser.hash_one(key) >> 56) as usize % SHARDS
    }

    pub(in crate::store) fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    pub(in crate::store) fn get(&self, key: &str) -> Option<&V> {
        self.shards[self.shard(key)].get(key)
    }

    pub(in crate::store) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let shard = self.shard(key);
        self.shards[shard].get_mut(key)
    }

    /// Runs `update` on the value of `key`, inserting `make()` first if
    /// there is none. Allocates only to insert.
    pub(in crate::store) fn update_or_insert<R>(
        &mut self,
        key: &str,
        make: impl FnOnce() -> V,
        update: impl FnOnce(&mut V) -> R,
    ) -> R {
        let shard = self.shard(key);
        let map = &mut self.shards[shard];
        if let Some(value) = map.get_mut(key) {
            return update(value);
        }
        let mut value = make();
        let result = update(&mut value);
        map.insert(key.into(), value);
        result
    }

    pub(in crate::store) fn insert(&mut self, key: &str, value: V) -> Option<V> {
        let shard = self.shard(key);
        self.shards[shard].insert(key.into(), value)
    }

    pub(in crate::store) fn remove(&mut self, key: &str) -> Option<V> {
        let shard = self.shard(key);
        self.shards[shard].remove(key)
    }

    pub(in crate::store) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.shards.iter_mut().flat_map(HashMap::values_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_one_map() {
        let mut map = ShardedMap::default();
        for i in 0..10_000 {
            assert_eq!(map.insert(&format!("k-{i}"), i), None);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.insert("k-7", 70), Some(7));
        assert_eq!(map.get("k-7"), Some(&70));
        assert_eq!(map.get("absent"), None);
        if let Some(value) = map.get_mut("k-8") {
            *value += 1;
        }
        assert_eq!(map.get("k-8"), Some(&9));
        assert_eq!(map.update_or_insert("k-9", || 0, |v| *v), 9);
        assert_eq!(map.update_or_insert("new", || 5, |v| *v * 2), 10);
        assert_eq!(map.len(), 10_001);
        assert_eq!(map.remove("k-0"), Some(0));
        assert_eq!(map.remove("k-0"), None);
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.values_mut().count(), 10_000);
        let used = map.shards.iter().filter(|shard| !shard.is_empty()).count();
        assert_eq!(used, SHARDS, "the keys spread over every shard");
    }
}
