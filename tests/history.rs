#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Metric history queries: ranges, several runs, downsampling.

use runlog::{Client, HistoryQuery, Metric};

fn setup() -> (tempfile::TempDir, Client, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let mut ids = Vec::new();
    for r in 0..3 {
        let id = c.create_run("0").unwrap().info.run_id;
        let h = c.metric_handle(&id, "loss").unwrap();
        // Logged out of order, with a repeated step.
        for step in (0..1000).rev() {
            h.log_at(Metric {
                value: step as f64 + r as f64 / 10.0,
                timestamp: 1_000_000 + step,
                step,
            })
            .unwrap();
        }
        h.log_at(Metric {
            value: -1.0,
            timestamp: 5,
            step: 500,
        })
        .unwrap();
        c.log_metric_at(
            &id,
            "other",
            Metric {
                value: 1.0,
                timestamp: 0,
                step: 0,
            },
        )
        .unwrap();
        ids.push(id);
    }
    (dir, c, ids)
}

fn steps(points: &[Metric]) -> Vec<i64> {
    points.iter().map(|m| m.step).collect()
}

#[test]
fn ranges_select_by_step_and_time_in_step_order() {
    let (_d, c, ids) = setup();
    let all = c.get_metric_history(&ids[0], "loss").unwrap();
    assert_eq!(all.len(), 1001);
    assert!(all
        .windows(2)
        .all(|w| (w[0].step, w[0].timestamp) <= (w[1].step, w[1].timestamp)));
    // Step 500 twice: timestamp 5 before 1_000_500.
    let at_500: Vec<&Metric> = all.iter().filter(|m| m.step == 500).collect();
    assert_eq!((at_500[0].value, at_500[1].value), (-1.0, 500.0));

    let q = HistoryQuery::new().steps(100..=199);
    let part = c.metric_history(&ids[0], "loss", &q).unwrap();
    assert_eq!(steps(&part), (100..=199).collect::<Vec<_>>());
    let q = HistoryQuery::new().timestamps(1_000_900..=2_000_000);
    assert_eq!(c.metric_history(&ids[0], "loss", &q).unwrap().len(), 100);
    let q = HistoryQuery::new().steps(400..=600).timestamps(0..=10);
    assert_eq!(
        steps(&c.metric_history(&ids[0], "loss", &q).unwrap()),
        [500]
    );
    assert!(c
        .metric_history(&ids[0], "nope", &HistoryQuery::new())
        .unwrap()
        .is_empty());
    assert!(c
        .metric_history(&ids[0], "loss", &HistoryQuery::new().max_points(0))
        .is_err());
}

#[test]
fn several_runs_in_one_read() {
    let (_d, c, ids) = setup();
    let refs: Vec<&str> = vec![&ids[2], &ids[0], &ids[2]];
    let bulk = c
        .get_metric_history_bulk(&refs, "loss", &HistoryQuery::new().steps(10..=10))
        .unwrap();
    assert_eq!(bulk.len(), 3);
    assert_eq!(bulk[0].0, ids[2]);
    assert_eq!(bulk[0].1[0].value, 10.2);
    assert_eq!(bulk[1].1[0].value, 10.0);
    assert_eq!(bulk[2], bulk[0], "a run asked twice gets its points twice");
    assert!(c
        .get_metric_history_bulk(
            &["ffffffffffffffffffffffffffffffff"],
            "loss",
            &HistoryQuery::new()
        )
        .is_err());
}

#[test]
fn downsampled_series_keep_their_extremes() {
    let (_d, c, ids) = setup();
    let q = HistoryQuery::new().max_points(50);
    let d = c.metric_history(&ids[0], "loss", &q).unwrap();
    assert!(d.len() <= 50);
    assert_eq!(d.first().unwrap().step, 0);
    assert_eq!(d.last().unwrap().step, 999);
    assert!(
        d.iter().any(|m| m.value == -1.0),
        "the dip at step 500 survives"
    );
    let short = c.metric_history(&ids[0], "other", &q).unwrap();
    assert_eq!(short.len(), 1, "exact when shorter");
}

#[test]
fn history_into_a_reused_buffer_is_the_same_history() {
    // Small segments, compacted: the history is chunks and live points.
    let dir = tempfile::tempdir().unwrap();
    let options = runlog::Options::default()
        .segment_size(4096)
        .auto_compact(None);
    let c = Client::builder()
        .store(dir.path())
        .options(options)
        .open()
        .unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    let h = c.metric_handle(&id, "loss").unwrap();
    for step in 0..20_000 {
        h.log_at(Metric {
            value: (step % 97) as f64,
            timestamp: 1_000 + step,
            step,
        })
        .unwrap();
    }
    c.flush().unwrap();
    runlog::compact::compact(dir.path()).unwrap();
    let queries = [
        HistoryQuery::new(),
        HistoryQuery::new().steps(5_000..=5_100),
        HistoryQuery::new().timestamps(2_000..=2_500),
        HistoryQuery::new().max_points(300),
        HistoryQuery::new().steps(30_000..=40_000),
    ];
    let mut reused: Vec<Metric> = (0..50_000)
        .map(|i| Metric {
            value: -1.0,
            timestamp: i,
            step: -i,
        })
        .collect();
    for q in queries.iter().chain(queries.iter().rev()) {
        c.metric_history_into(&id, "loss", q, &mut reused).unwrap();
        assert_eq!(reused, c.metric_history(&id, "loss", q).unwrap(), "{q:?}");
    }
    assert!(c
        .metric_history_into(&id, "loss", &HistoryQuery::new().max_points(0), &mut reused)
        .is_err());
}

#[test]
fn downsampling_compacted_chunks_equals_downsampling_every_point() {
    // 100,000 points in chunks of 4,096 with live points after them: for
    // budgets that make buckets narrower and wider than a chunk, the
    // series from the chunks (folded as decoded, or their stored extremes)
    // is the one `downsample` makes of the whole history.
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path())
        .options(runlog::Options::default().auto_compact(None))
        .open()
        .unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    let h = c.metric_handle(&id, "loss").unwrap();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for step in 0..100_000i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        h.log_at(Metric {
            value: (x % 10_000) as f64 / 7.0,
            timestamp: step,
            step,
        })
        .unwrap();
    }
    c.flush().unwrap();
    drop(c);
    runlog::compact::compact(dir.path()).unwrap();
    let c = Client::builder()
        .store(dir.path())
        .options(runlog::Options::default().auto_compact(None))
        .open()
        .unwrap();
    let h = c.metric_handle(&id, "loss").unwrap();
    for step in 100_000..101_000i64 {
        h.log_at(Metric {
            value: step as f64,
            timestamp: step,
            step,
        })
        .unwrap();
    }
    c.flush().unwrap();
    let all = c.get_metric_history(&id, "loss").unwrap();
    assert_eq!(all.len(), 101_000);
    for n in [3, 10, 50, 51, 100, 400, 999, 2_000, 10_000, 60_000] {
        let got = c
            .metric_history(&id, "loss", &HistoryQuery::new().max_points(n))
            .unwrap();
        let key = |m: &Metric| (m.step, m.timestamp, m.value.to_bits());
        assert!(got.len() <= n, "{n}: {}", got.len());
        assert!(
            got.windows(2).all(|w| key(&w[0]) < key(&w[1])),
            "{n}: in order"
        );
        let real: std::collections::HashSet<_> = all.iter().map(key).collect();
        assert!(
            got.iter().all(|m| real.contains(&key(m))),
            "{n}: real points"
        );
        assert_eq!(
            (key(&got[0]), key(got.last().unwrap())),
            (key(&all[0]), key(all.last().unwrap()))
        );
        let buckets = (n - 2) / 2;
        if buckets == 0 {
            assert_eq!(got.len(), 2, "{n}: the first and the last point");
            continue;
        }
        // Each bucket of equal count keeps its least and greatest value,
        // taken from the pieces that count in it: single points where a
        // bucket is narrower than a block (256 points: chunks are
        // decoded), else the chunks' blocks (each counts in the bucket of
        // its middle point; here the chunks hold points 4,096 k on), and
        // where a bucket is wider than a chunk, the chunks' own extremes,
        // so there only the series' own extremes count.
        let width = 101_000 / buckets;
        let pieces: Vec<(usize, usize)> = if width >= 4_096 {
            vec![(0, 101_000)]
        } else if width >= 256 {
            (0..100_000)
                .step_by(256)
                .map(|i| (i, (i + 256).min(100_000)))
                .chain((100_000..101_000).map(|i| (i, i + 1)))
                .collect()
        } else {
            (0..101_000).map(|i| (i, i + 1)).collect()
        };
        let bucket_of = |i: usize| (i * buckets / 101_000).min(buckets - 1);
        // (The first of equal values, as the chunks and blocks store them.)
        let mut want: Vec<Option<(Metric, Metric)>> = vec![None; buckets];
        for (from, to) in pieces {
            let b = if width >= 4_096 {
                0
            } else {
                bucket_of(from + (to - from) / 2)
            };
            for m in &all[from..to] {
                let e = want[b].get_or_insert((*m, *m));
                if m.value < e.0.value {
                    e.0 = *m;
                }
                if m.value > e.1.value {
                    e.1 = *m;
                }
            }
        }
        let kept: std::collections::HashSet<_> = got.iter().map(key).collect();
        for (b, (min, max)) in want
            .into_iter()
            .enumerate()
            .filter_map(|(b, e)| Some((b, e?)))
        {
            assert!(kept.contains(&key(&min)), "{n}: bucket {b} keeps {min:?}");
            assert!(kept.contains(&key(&max)), "{n}: bucket {b} keeps {max:?}");
        }
    }
}
