//! No log call fails because of a concurrent compaction: two writers (each
//! its own client and lane) log params, tags and metrics by key, and read
//! their runs, while compactions run back to back and delete the segments
//! they replace at once.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use runlog::compact::{compact_with, CompactOptions};
use runlog::{Client, Options};

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn log_calls_never_fail_under_a_compaction_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    // Small segments: many are sealed, so every compaction has work.
    let options = || Options::default().segment_size(8 << 10).auto_compact(None);
    drop(
        Client::builder()
            .store(&path)
            .options(options())
            .open()
            .unwrap(),
    ); // the default experiment
    let stop = AtomicBool::new(false);
    let run_for = Duration::from_secs(4);
    let (logged, compactions) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (path, stop) = (&path, &stop);
                s.spawn(move || {
                    let client = Client::builder()
                        .store(path)
                        .options(options())
                        .open()
                        .unwrap();
                    let run = client.create_run("0").unwrap().info.run_id;
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let what = |e: runlog::Error| format!("writer {w}, call {i}: {e}");
                        client
                            .log_param(&run, &format!("p{i}"), i)
                            .map_err(what)
                            .unwrap();
                        client
                            .set_tag(&run, &format!("t{}", i % 50), "x")
                            .map_err(what)
                            .unwrap();
                        for k in 0..20 {
                            client
                                .log_metric(&run, &format!("m{}", k % 3), k as f64, i as i64)
                                .map_err(what)
                                .unwrap();
                        }
                        if i.is_multiple_of(16) {
                            client.get_run(&run).map_err(what).unwrap();
                        }
                        i += 1;
                    }
                    client.flush().unwrap();
                    (run, i)
                })
            })
            .collect();
        let compactor = s.spawn(|| {
            // The writers stop when this thread ends, even by a panic.
            let _stop = StopOnDrop(&stop);
            let started = Instant::now();
            let mut n = 0u64;
            while started.elapsed() < run_for {
                match compact_with(&path, &CompactOptions::default()) {
                    Ok(report) => n += report.generations,
                    // A reader holding compactions off for a moment.
                    Err(runlog::compact::CompactError::Running { .. }) => {}
                    Err(e) => panic!("compaction failed: {e}"),
                }
            }
            n
        });
        let logged: Vec<(String, u64)> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        (logged, compactor.join().unwrap())
    });
    assert!(compactions >= 5, "only {compactions} compactions ran");
    let reader = Client::builder().store(&path).read_only().open().unwrap();
    for (run, calls) in logged {
        assert!(calls > 50, "only {calls} rounds");
        let r = reader.get_run(&run).unwrap();
        assert_eq!(r.data.params.len() as u64, calls);
        assert_eq!(
            r.data.tags.keys().filter(|k| k.starts_with('t')).count() as u64,
            calls.min(50)
        );
        let points = reader.get_metric_history(&run, "m0").unwrap();
        assert_eq!(
            points.len() as u64,
            7 * calls,
            "m0 is logged 7 times a round"
        );
    }
    assert!(runlog::engine::verify(&path).unwrap().corrupt.is_empty());
}
