//! Foreground work in progress (a server's requests), counted so that
//! background work (the store's compactor, see
//! [`Options::give_way_to`](crate::Options::give_way_to)) can give way to
//! it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A count of foreground work in progress, shared by the code doing it
/// (each piece holds a [`ForegroundWork`] while it runs) and the store's
/// background compactor, which gives way while the count is not zero (see
/// [`Options::give_way_to`](crate::Options::give_way_to)).
///
/// ```
/// use runlog::Foreground;
/// let requests = Foreground::new();
/// {
///     let _serving = requests.begin();
///     assert!(requests.is_busy());
/// }
/// assert!(!requests.is_busy());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Foreground {
    active: Arc<AtomicUsize>,
}

impl Foreground {
    /// A count at zero.
    pub fn new() -> Foreground {
        Foreground::default()
    }

    /// Counts one piece of work until the returned guard is dropped.
    pub fn begin(&self) -> ForegroundWork {
        self.active.fetch_add(1, Ordering::Relaxed);
        ForegroundWork {
            active: Arc::clone(&self.active),
        }
    }

    /// Whether any piece of work is in progress.
    pub fn is_busy(&self) -> bool {
        self.active.load(Ordering::Relaxed) > 0
    }
}

/// One piece of foreground work in progress; it ends when dropped.
#[derive(Debug)]
pub struct ForegroundWork {
    active: Arc<AtomicUsize>,
}

impl Drop for ForegroundWork {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_follows_the_guards_across_clones() {
        let requests = Foreground::new();
        let same = requests.clone();
        let a = requests.begin();
        let b = same.begin();
        assert!(requests.is_busy());
        drop(a);
        assert!(same.is_busy());
        drop(b);
        assert!(!requests.is_busy() && !same.is_busy());
    }
}
