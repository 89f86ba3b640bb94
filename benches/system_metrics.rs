//! The cost of system metrics: one reading of the machine
//! (`system_metrics::Sampler::sample`: CPU, memory, the root file system,
//! the network, GPUs), which a run's monitor takes once per interval (10 s
//! by default). Its share of a core at an interval is the median divided by
//! the interval (BENCHMARKS.md).
//!
//!     cargo bench --bench system_metrics

use criterion::{criterion_group, criterion_main, Criterion};

fn sample(c: &mut Criterion) {
    let mut sampler = match runlog::system_metrics::Sampler::new() {
        Ok(s) => s,
        Err(e) => panic!("this machine cannot be sampled: {e}"),
    };
    c.bench_function("system_metrics/sample", |b| b.iter(|| sampler.sample()));
}

criterion_group!(benches, sample);
criterion_main!(benches);
