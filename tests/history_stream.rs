#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Streamed metric histories (`Client::metric_history_iter`) give exactly
//! what `metric_history` gives: over compacted chunks of several
//! generations whose step ranges overlap, live points in and out of step
//! order, repeated steps and timestamps, and step and time ranges.

use proptest::prelude::*;
use runlog::compact::compact;
use runlog::{Client, HistoryQuery, Metric, Options};

fn bits(points: &[Metric]) -> Vec<(i64, i64, u64)> {
    points
        .iter()
        .map(|m| (m.step, m.timestamp, m.value.to_bits()))
        .collect()
}

fn streamed(c: &Client, run: &str, key: &str, q: &HistoryQuery) -> Vec<Metric> {
    c.metric_history_iter(run, key, q)
        .unwrap()
        .collect::<runlog::Result<Vec<_>>>()
        .unwrap()
}

fn check_queries(c: &Client, run: &str, key: &str) {
    let queries = [
        HistoryQuery::new(),
        HistoryQuery::new().steps(-5..=40),
        HistoryQuery::new().steps(100..=150),
        HistoryQuery::new().timestamps(10..=20),
        HistoryQuery::new().steps(0..=60).timestamps(5..=30),
    ];
    for q in &queries {
        let whole = c.metric_history(run, key, q).unwrap();
        assert_eq!(bits(&streamed(c, run, key, q)), bits(&whole), "{q:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn streamed_history_equals_the_whole_read(
        phases in prop::collection::vec(
            prop::collection::vec((-10i64..200, 0i64..40, -3i8..3), 0..400),
            1..4,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = Options::default().segment_size(8 << 10).auto_compact(None);
        let c = Client::builder().store(dir.path()).options(options.clone()).open().unwrap();
        let run = c.create_run("0").unwrap().info.run_id;
        let other = c.create_run("0").unwrap().info.run_id;
        for phase in &phases {
            for (i, (step, ts, v)) in phase.iter().enumerate() {
                let value = match v {
                    -3 => f64::NAN,
                    -2 => f64::NEG_INFINITY,
                    _ => *v as f64 + i as f64 / 8.0,
                };
                c.log_metric_at(&run, "m", Metric { value, timestamp: *ts, step: *step }).unwrap();
                c.log_metric_at(&other, "m", Metric { value: 1.0, timestamp: *ts, step: *step }).unwrap();
            }
            c.flush().unwrap();
            // Each phase's sealed segments become a generation; the lanes'
            // last segments stay live.
            compact(dir.path()).unwrap();
        }
        check_queries(&c, &run, "m");
        check_queries(&c, &other, "m");
        assert_eq!(streamed(&c, &run, "absent", &HistoryQuery::new()).len(), 0);
    }
}

#[test]
fn an_unknown_run_and_a_downsampled_stream_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    assert!(matches!(
        c.metric_history_iter(
            "0123456789abcdef0123456789abcdef",
            "m",
            &HistoryQuery::new()
        ),
        Err(runlog::Error::NotFound(_))
    ));
    let run = c.create_run("0").unwrap().info.run_id;
    assert!(matches!(
        c.metric_history_iter(&run, "m", &HistoryQuery::new().max_points(10)),
        Err(runlog::Error::InvalidArgument(_))
    ));
}

/// More live points than the stream keeps from its first pass: read again
/// from the lanes (in step order), or read whole and sorted (out of order).
#[test]
fn long_live_histories_are_read_again_from_the_lanes() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path())
        .options(Options::default().auto_compact(None))
        .open()
        .unwrap();
    let run = c.create_run("0").unwrap().info.run_id;
    let n = 1_200_000i64;
    let forward = c.metric_handle(&run, "forward").unwrap();
    let backward = c.metric_handle(&run, "backward").unwrap();
    for step in 0..n {
        forward
            .log_at(Metric {
                value: step as f64,
                timestamp: 7,
                step,
            })
            .unwrap();
        backward
            .log_at(Metric {
                value: step as f64,
                timestamp: 7,
                step: n - 1 - step,
            })
            .unwrap();
    }
    for key in ["forward", "backward"] {
        let mut expected = 0i64;
        for m in c
            .metric_history_iter(&run, key, &HistoryQuery::new())
            .unwrap()
        {
            assert_eq!(m.unwrap().step, expected, "{key}");
            expected += 1;
        }
        assert_eq!(expected, n, "{key}");
        let q = HistoryQuery::new().steps(n - 10..=n + 10);
        assert_eq!(streamed(&c, &run, key, &q).len(), 10, "{key}");
    }
}

/// Points logged while a stream reads the lanes a second time are left
/// out: the stream stays in order and holds what was there when it began.
#[test]
fn points_logged_during_a_stream_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path())
        .options(Options::default().auto_compact(None))
        .open()
        .unwrap();
    let run = c.create_run("0").unwrap().info.run_id;
    let h = c.metric_handle(&run, "loss").unwrap();
    let n = 1_100_000i64; // more than the stream keeps from its first pass
    for step in 0..n {
        h.log_at(Metric {
            value: 1.0,
            timestamp: 7,
            step,
        })
        .unwrap();
    }
    let stream = c
        .metric_history_iter(&run, "loss", &HistoryQuery::new())
        .unwrap();
    for step in (0..1_000).chain(n..n + 1_000) {
        h.log_at(Metric {
            value: 2.0,
            timestamp: 7,
            step,
        })
        .unwrap(); // repeats and later steps
    }
    c.flush().unwrap();
    let mut expected = 0i64;
    for m in stream {
        let m = m.unwrap();
        assert_eq!((m.step, m.value), (expected, 1.0));
        expected += 1;
    }
    assert_eq!(expected, n);
    assert_eq!(
        c.get_metric_history(&run, "loss").unwrap().len() as i64,
        n + 2_000
    );
}
