//! "Most recent earlier value at least as large": the monotone stack behind "highest since",
//! "lowest since" and "biggest move since".
//!
//! Values are kept non-increasing from bottom to top. Pushing pops every value smaller than the
//! newcomer, which can never again be the answer for any later query, so each push is amortised
//! O(1); a query that does not push is a binary search.

/// Answers, for each new value, which earlier value was most recently at least as large.
/// `T` is what identifies an entry (usually its session date).
#[derive(Debug, Clone)]
pub struct PrevAtLeast<T> {
    items: Vec<(f64, T)>,
}

impl<T> Default for PrevAtLeast<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<T: Copy> PrevAtLeast<T> {
    /// The most recent pushed value `>= value`, without recording `value`.
    pub fn query(&self, value: f64) -> Option<(f64, T)> {
        let k = self.items.partition_point(|(v, _)| *v >= value);
        k.checked_sub(1).map(|i| self.items[i])
    }

    /// Records `n` values at once, `value(i)` being the i-th and `tag(i)` its tag: the same
    /// stack as `n` pushes. A value survives a push sequence exactly when it is at least as
    /// large as every later value, so a backward scan with a running maximum finds the
    /// survivors without popping; only the survivors' tags are made (a tag may cost more than
    /// a value to work out, and few values survive).
    pub fn extend_with(
        &mut self,
        n: usize,
        value: impl Fn(usize) -> f64,
        tag: impl Fn(usize) -> T,
    ) {
        let mut later_max = f64::NEG_INFINITY;
        let mut survivors: Vec<(f64, T)> = Vec::new();
        for i in (0..n).rev() {
            let v = value(i);
            if v >= later_max {
                survivors.push((v, tag(i)));
                later_max = v;
            }
        }
        while self.items.last().is_some_and(|(v, _)| *v < later_max) {
            self.items.pop();
        }
        self.items.extend(survivors.into_iter().rev());
    }

    /// Records `value` and returns what [`query`](Self::query) would have returned for it.
    pub fn push(&mut self, value: f64, tag: T) -> Option<(f64, T)> {
        while self.items.last().is_some_and(|(v, _)| *v < value) {
            self.items.pop();
        }
        let found = self.items.last().copied();
        self.items.push((value, tag));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_most_recent_value_at_least_as_large() {
        let mut stack = PrevAtLeast::default();
        assert_eq!(stack.push(5.0, 0), None);
        assert_eq!(stack.push(3.0, 1), Some((5.0, 0)));
        assert_eq!(stack.push(4.0, 2), Some((5.0, 0)));
        assert_eq!(
            stack.query(4.0),
            Some((4.0, 2)),
            "equal counts as at least as large"
        );
        assert_eq!(stack.query(3.5), Some((4.0, 2)));
        assert_eq!(stack.query(6.0), None);
        assert_eq!(stack.push(6.0, 3), None);
        assert_eq!(stack.push(1.0, 4), Some((6.0, 3)));
    }

    #[test]
    fn extending_at_once_leaves_the_same_stack_as_pushing() {
        let values = [3.0, 5.0, 5.0, 1.0, 4.0, 2.0, 2.0, 0.5];
        let mut pushed = PrevAtLeast::default();
        pushed.push(4.5, 100);
        let mut extended = pushed.clone();
        for (i, v) in values.iter().enumerate() {
            pushed.push(*v, i);
        }
        extended.extend_with(values.len(), |i| values[i], |i| i);
        assert_eq!(pushed.items, extended.items);
    }
}
