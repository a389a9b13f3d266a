//! The scan positions already decided by an earlier run of the same scan (`--resume`): kept as
//! coalesced intervals, because lanes decide their slices nearly in order (a window of hosts
//! at a time), so a /8 done so far is a few intervals per lane, not millions of positions.

use std::collections::BTreeMap;

/// A set of scan positions, as disjoint, non-adjacent half-open intervals `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoneSet {
    /// start → end; no two touch or overlap.
    spans: BTreeMap<u128, u128>,
}

impl DoneSet {
    pub fn new() -> DoneSet {
        DoneSet::default()
    }

    /// The set of these intervals (`[start, end)`, in any order, overlapping or not).
    pub fn from_intervals(spans: impl IntoIterator<Item = (u128, u128)>) -> DoneSet {
        let mut set = DoneSet::new();
        for (start, end) in spans {
            set.insert_range(start, end);
        }
        set
    }

    /// The intervals, in order.
    pub fn intervals(&self) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.spans.iter().map(|(s, e)| (*s, *e))
    }

    /// How many positions.
    pub fn len(&self) -> u128 {
        self.spans.iter().map(|(s, e)| e - s).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn contains(&self, position: u128) -> bool {
        self.end_of(position).is_some()
    }

    /// The end of the interval holding `position`, if one does: where the next position not in
    /// the set may be, so a walk passes a done stretch in one step.
    pub fn end_of(&self, position: u128) -> Option<u128> {
        self.spans
            .range(..=position)
            .next_back()
            .map(|(_, end)| *end)
            .filter(|end| position < *end)
    }

    pub fn insert(&mut self, position: u128) {
        self.insert_range(position, position.saturating_add(1));
    }

    fn insert_range(&mut self, mut start: u128, mut end: u128) {
        if start >= end {
            return;
        }
        // Swallow every interval that overlaps or touches [start, end).
        if let Some((&s, &e)) = self.spans.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
                self.spans.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.spans.range(start..=end).next() {
            end = end.max(e);
            self.spans.remove(&s);
        }
        self.spans.insert(start, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_coalesce_into_intervals() {
        let mut d = DoneSet::new();
        for p in [5, 3, 4, 10, 0, 1, 2, 11] {
            d.insert(p);
        }
        assert_eq!(d.intervals().collect::<Vec<_>>(), [(0, 6), (10, 12)]);
        assert_eq!(d.len(), 8);
        assert!(d.contains(0) && d.contains(5) && d.contains(11));
        assert!(!d.contains(6) && !d.contains(9) && !d.contains(12));
        assert_eq!(
            (d.end_of(2), d.end_of(6), d.end_of(10)),
            (Some(6), None, Some(12))
        );
        d.insert(4);
        assert_eq!(d.len(), 8, "a position twice is one");
        for p in 6..10 {
            d.insert(p);
        }
        assert_eq!(d.intervals().collect::<Vec<_>>(), [(0, 12)]);
    }

    #[test]
    fn intervals_read_back_merge_overlaps() {
        let d = DoneSet::from_intervals([(10, 20), (0, 5), (4, 11), (30, 31), (25, 25)]);
        assert_eq!(d.intervals().collect::<Vec<_>>(), [(0, 20), (30, 31)]);
        assert_eq!(DoneSet::from_intervals(d.intervals()), d);
    }
}
