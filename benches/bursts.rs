//! Log calls timed in bursts, with the writer drained (untimed) between
//! bursts: the figure is the caller's cost, not the writer's throughput.
//! Shared by `tracking.rs` and `remote.rs`.

use std::time::{Duration, Instant};

use runlog::Client;

/// Calls in a burst: they fit the channel.
pub const BURST: u64 = 10_000;

/// Times `iters` calls of `per_call` (given the step) in bursts of
/// `burst`, draining `c`'s writer between them.
pub fn bursts_of(c: &Client, iters: u64, burst: u64, mut per_call: impl FnMut(i64)) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    let mut step = 0i64;
    while done < iters {
        let n = burst.min(iters - done);
        let t = Instant::now();
        for _ in 0..n {
            per_call(step);
            step += 1;
        }
        total += t.elapsed();
        c.store()
            .expect("a client that writes")
            .sync_written()
            .expect("drain");
        done += n;
    }
    total
}
