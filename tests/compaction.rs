#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Compaction: the same data before and after (replay, runs, history,
//! verify), writers appending meanwhile, readers opened before it, a
//! second compaction refused, and SIGKILL at any moment of it.

mod common;

use runlog::Metric;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::snapshot;
use runlog::compact::compact;
use runlog::engine::{Event, Replay, Store};
use runlog::log::manifest::Manifest;
use runlog::{Client, HistoryQuery, Options, ViewType};

/// Small segments, compacted only when a test says so.
fn small() -> Options {
    Options::default().segment_size(8 << 10).auto_compact(None)
}

/// The store's writer statistics once its background compactor has run a
/// compaction (it works on its own thread), or after 20 s.
fn first_compaction(store: &Store) -> runlog::engine::WriterStats {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.stats().compactions == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    store.stats()
}

/// The metric points a replay of the store yields.
fn metric_points(store: &Path) -> usize {
    Replay::open(store)
        .unwrap()
        .filter(|r| matches!(r.as_ref().unwrap().event, Event::Metric { .. }))
        .count()
}

/// A store with three runs logged through the client, in small segments.
fn populate(path: &Path) -> Vec<String> {
    let c = Client::builder()
        .store(path)
        .options(small())
        .open()
        .unwrap();
    let exp = c.create_experiment("e").unwrap();
    let mut ids = Vec::new();
    for r in 0..3 {
        let id = c.create_run(&exp).unwrap().info.run_id;
        c.log_param(&id, "r", r).unwrap();
        let loss = c.metric_handle(&id, "loss").unwrap();
        let acc = c.metric_handle(&id, "acc").unwrap();
        for step in 0..3_000 {
            loss.log_at(Metric {
                value: (step as f64 * 0.01).cos() + r as f64,
                timestamp: 1_700_000_000_000 + step,
                step,
            })
            .unwrap();
            if step % 7 == 0 {
                acc.log_at(Metric {
                    value: (step / 7) as f64 / 1000.0,
                    timestamp: 1_700_000_000_000 + step,
                    step,
                })
                .unwrap();
            }
        }
        loss.log_at(Metric {
            value: f64::NAN,
            timestamp: 5,
            step: 10,
        })
        .unwrap(); // a repeated step, out of order
        c.set_tag(&id, "phase", "done").unwrap();
        ids.push(id);
    }
    c.flush().unwrap();
    ids
}

#[test]
fn compaction_keeps_every_record_and_point() {
    let dir = tempfile::tempdir().unwrap();
    let ids = populate(dir.path());
    let before = snapshot(dir.path());
    let c = Client::builder().store(dir.path()).open().unwrap();
    let runs_before: Vec<_> = ids.iter().map(|id| c.get_run(id).unwrap()).collect();
    let history_before = c.get_metric_history(&ids[1], "loss").unwrap();
    drop(c);
    let segments_before = runlog::engine::verify(dir.path()).unwrap().segments;

    let report = compact(dir.path()).unwrap();
    assert!(report.segments > 10, "{report:?}");
    // All but the lane's last segment (the writer's, never compacted).
    assert!(
        report.points > 10_000 && report.points <= 3 * (3_001 + 429),
        "{report:?}"
    );
    assert!(report.bytes_out * 3 < report.bytes_in, "{report:?}");
    assert_eq!(snapshot(dir.path()), before);

    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
    assert_eq!(summary.generations, 1);
    assert!(summary.segments < segments_before);
    assert_eq!(summary.metric_points, 3 * (3_001 + 429));

    let c = Client::builder().store(dir.path()).open().unwrap();
    for (id, run) in ids.iter().zip(&runs_before) {
        assert_eq!(&c.get_run(id).unwrap(), run);
    }
    let history = c.get_metric_history(&ids[1], "loss").unwrap();
    let bits = |h: &[runlog::Metric]| {
        h.iter()
            .map(|m| (m.step, m.timestamp, m.value.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&history), bits(&history_before));
    let part = c
        .metric_history(&ids[0], "loss", &HistoryQuery::new().steps(100..=109))
        .unwrap();
    assert_eq!(part.len(), 10);
    // Downsampled from the chunks' stored extremes: the global extremes
    // (NaN ranks highest), the first and the last point survive.
    let plot = c
        .metric_history(&ids[1], "loss", &HistoryQuery::new().max_points(40))
        .unwrap();
    assert!(plot.len() <= 40 && plot.len() > 10, "{}", plot.len());
    assert!(plot
        .windows(2)
        .all(|w| (w[0].step, w[0].timestamp) <= (w[1].step, w[1].timestamp)));
    assert_eq!(plot[0].step, history[0].step);
    assert_eq!(plot.last().unwrap().step, history.last().unwrap().step);
    let by_value = |a: &&runlog::Metric, b: &&runlog::Metric| a.value.total_cmp(&b.value);
    let lowest = history.iter().min_by(by_value).unwrap().value.to_bits();
    assert!(plot.iter().any(|m| m.value.is_nan()), "NaN kept");
    assert!(
        plot.iter().any(|m| m.value.to_bits() == lowest),
        "minimum kept"
    );
    // Opening the client sealed the lane's old last segment (a new one
    // takes the writes): that one is compacted next, then nothing is left.
    assert!(compact(dir.path()).unwrap().segments <= 1);
    assert_eq!(compact(dir.path()).unwrap().segments, 0);
    assert_eq!(snapshot(dir.path()), before);
    c.log_metric(&ids[0], "loss", 9.0, 5_000).unwrap();
    assert_eq!(c.get_run(&ids[0]).unwrap().data.metrics["loss"].step, 5_000);
    let marker = std::fs::read(dir.path().join("RUNLOG")).unwrap();
    assert_eq!(
        runlog::format::StoreMarker::decode(&marker)
            .unwrap()
            .version,
        runlog::format::STORE_VERSION_POINTS,
        "compaction leaves the marker a writer of version 6 set"
    );
}

#[test]
fn writers_and_readers_carry_on_across_compactions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let reader = Client::builder().store(&path).open().unwrap();
    let run = reader.create_run("0").unwrap().info.run_id;
    let store = Store::open_with(&path, small()).unwrap();
    let h = store.metric_handle(&run, "loss").unwrap();
    let mut generations = 0;
    for round in 0..5 {
        for step in round * 2_000..(round + 1) * 2_000 {
            h.log_at(Metric {
                value: step as f64,
                timestamp: 1_700_000_000_000,
                step,
            })
            .unwrap();
        }
        store.flush().unwrap();
        generations += compact(&path).unwrap().generations;
        // A client opened before the compaction reads on.
        let latest = reader.get_run(&run).unwrap().data.metrics["loss"];
        assert_eq!(latest.step, (round + 1) * 2_000 - 1);
        assert_eq!(
            reader.get_metric_history(&run, "loss").unwrap().len() as i64,
            (round + 1) * 2_000
        );
    }
    assert!(generations >= 4);
    store.close().unwrap();
    let history = reader.get_metric_history(&run, "loss").unwrap();
    assert!(history.iter().enumerate().all(|(i, m)| m.step == i as i64));
    // A range across chunks and generations.
    let part = reader
        .metric_history(&run, "loss", &HistoryQuery::new().steps(3_000..=7_000))
        .unwrap();
    assert_eq!(part.len(), 4_001);
    assert!(part
        .iter()
        .enumerate()
        .all(|(i, m)| m.step == 3_000 + i as i64));
    let plot = reader
        .metric_history(&run, "loss", &HistoryQuery::new().max_points(100))
        .unwrap();
    assert!(plot.len() <= 100);
    assert_eq!((plot[0].step, plot.last().unwrap().step), (0, 9_999));
    assert_eq!(
        Manifest::load(&path).unwrap().generations.len() as u64,
        generations
    );
    assert_eq!(reader.list_runs("0", ViewType::All).unwrap().len(), 1);
}

#[test]
fn a_second_compaction_at_once_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path());
    std::fs::create_dir_all(dir.path().join("compact")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join("compact/LOCK"))
        .unwrap();
    lock.lock().unwrap();
    let err = compact(dir.path()).unwrap_err();
    match &err {
        runlog::compact::CompactError::Running { store } => assert_eq!(store, dir.path()),
        other => panic!("not Running: {other}"),
    }
    assert!(err.to_string().contains("another compaction"), "{err}");
    // As the crate's error, with `?`: the same refusal, MLflow's INVALID_STATE.
    let err = runlog::Error::from(err);
    assert!(
        matches!(&err, runlog::Error::CompactionRunning { store } if store == dir.path()),
        "{err}"
    );
    assert_eq!(err.mlflow_code(), Some("INVALID_STATE"));
    drop(lock);
    assert!(compact(dir.path()).unwrap().segments > 0);
}

const CHILD_ENV: &str = "RUNLOG_COMPACT_CHILD";

/// Set in the child when each round closes its store before compacting:
/// compaction then takes the closed lane whole (its last segment too),
/// and recovers a lane a kill left before it compacts it.
const CLOSING_ENV: &str = "RUNLOG_COMPACT_CLOSING";

/// The child: logs points and compacts in a loop, printing each flushed
/// step; the parent kills it at a random moment. Run only by the parent,
/// with `--ignored`.
#[test]
#[ignore = "child process: run by the SIGKILL trials of compaction"]
fn compaction_child() {
    let dir = std::env::var(CHILD_ENV).expect("run by the SIGKILL trials, which set the store");
    let start: i64 = std::env::var("RUNLOG_COMPACT_FROM")
        .unwrap()
        .parse()
        .unwrap();
    let mut step = start;
    if std::env::var(CLOSING_ENV).is_ok_and(|v| v == "1") {
        // Compact (a dead lane first recovered, then taken whole), open
        // (numbering after the manifest), log, close (sealing), again.
        if !Path::new(&dir).join(runlog::layout::MARKER_FILE).exists() {
            Store::open_with(&dir, small()).unwrap().close().unwrap();
        }
        loop {
            compact(Path::new(&dir)).unwrap();
            let store = Store::open_with(&dir, small()).unwrap();
            let h = store
                .metric_handle("00000000000000000000000000000001", "loss")
                .unwrap();
            for _ in 0..3_000 {
                h.log_at(Metric {
                    value: step as f64,
                    timestamp: 1_700_000_000_000,
                    step,
                })
                .unwrap();
                step += 1;
            }
            store.flush().unwrap();
            println!("ACK {}", step - 1);
            store.close().unwrap();
        }
    }
    let store = Store::open_with(&dir, small()).unwrap();
    let h = store
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    loop {
        for _ in 0..3_000 {
            h.log_at(Metric {
                value: step as f64,
                timestamp: 1_700_000_000_000,
                step,
            })
            .unwrap();
            step += 1;
        }
        store.flush().unwrap();
        println!("ACK {}", step - 1);
        compact(Path::new(&dir)).unwrap();
    }
}

#[test]
fn sigkill_during_compaction_loses_and_duplicates_nothing() {
    sigkill_trials(false);
}

#[test]
fn sigkill_while_closed_lanes_are_compacted_whole_loses_and_duplicates_nothing() {
    sigkill_trials(true);
}

/// Kills a child that logs and compacts (`closing`: closing its store
/// before each compaction) at random moments; after each kill every
/// acknowledged point is there exactly once.
fn sigkill_trials(closing: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let trials: u64 = std::env::var("RUNLOG_COMPACT_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut acked = -1i64;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut mid_compaction = 0;
    // At least `trials` kills, and on until three landed inside a compaction.
    for trial in 0..trials.max(100) {
        if trial >= trials && mid_compaction >= 3 {
            break;
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "compaction_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, path)
            .env("RUNLOG_COMPACT_FROM", (acked + 1).to_string())
            .env(CLOSING_ENV, if closing { "1" } else { "" })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(out).lines() {
                let line = line.unwrap();
                if let Some(i) = line.find("ACK ") {
                    last = line[i + 4..].trim().parse::<i64>().ok();
                }
            }
            last
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(30 + seed % 250));
        child.kill().unwrap();
        child.wait().unwrap();
        if let Some(last) = reader.join().unwrap() {
            acked = acked.max(last);
        }
        // Was the kill inside a compaction? (a generation not yet published,
        // or replaced segments not yet deleted)
        let manifest = Manifest::load(path).unwrap();
        let replaced = manifest.replaced();
        let unpublished = std::fs::read_dir(path.join("compact"))
            .map(|d| {
                d.filter_map(|e| e.ok()).any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.ends_with(".tmp")
                        || name
                            .strip_suffix(".gen")
                            .and_then(|n| n.parse::<u64>().ok())
                            .is_some_and(|n| !manifest.generations.iter().any(|g| g.number == n))
                })
            })
            .unwrap_or(false);
        let undeleted = runlog::log::list_lanes(path).unwrap().iter().any(|l| {
            runlog::log::list_segments(&l.path)
                .unwrap()
                .iter()
                .any(|s| replaced.contains(&(l.id, s.sequence)))
        });
        if unpublished || undeleted {
            mid_compaction += 1;
        }
        // The store opens, verifies, and holds every acknowledged point
        // once (points after the last ack may be there too, once each).
        let summary = runlog::engine::verify(path).unwrap();
        assert!(
            summary.corrupt.is_empty(),
            "trial {trial}: {:?}",
            summary.corrupt
        );
        let mut steps: Vec<i64> = Replay::open(path)
            .unwrap()
            .map(|r| match r.unwrap().event {
                Event::Metric { step, .. } => step,
                Event::Record(_) => -1,
            })
            .collect();
        steps.sort_unstable();
        let n = steps.len();
        steps.dedup();
        assert_eq!(steps.len(), n, "trial {trial}: a point came back twice");
        assert!(
            steps.len() as i64 > acked,
            "trial {trial}: acknowledged points lost"
        );
        assert!(
            steps.iter().enumerate().all(|(i, s)| *s == i as i64),
            "trial {trial}: a gap"
        );
        acked = acked.max(steps.len() as i64 - 1);
    }
    assert!(acked > 0);
    assert!(mid_compaction >= 1, "no kill landed inside a compaction");
    println!("{mid_compaction} kills inside a compaction");
}

#[test]
fn stores_compact_themselves_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .segment_size(8 << 10)
        .auto_compact(Some(2));
    let store = Store::open_with(dir.path(), options).unwrap();
    log_flushed(&store, 20_000);
    let stats = first_compaction(&store);
    store.close().unwrap();
    assert!(stats.compactions > 0, "{stats:?}");
    assert_eq!(stats.compaction_errors, 0);
    assert!(!Manifest::load(dir.path()).unwrap().generations.is_empty());
    let mut steps: Vec<i64> = Replay::open(dir.path())
        .unwrap()
        .filter_map(|r| match r.unwrap().event {
            Event::Metric { step, .. } => Some(step),
            Event::Record(_) => None,
        })
        .collect();
    steps.sort_unstable();
    assert!(steps.iter().enumerate().all(|(i, s)| *s == i as i64) && steps.len() == 20_000);
}

#[test]
fn the_next_opener_compacts_what_exited_writers_left() {
    // What a compaction after exit did not take (turned off, killed, no
    // fork): the next store opened with background compaction takes it
    // at once, if it is worth a generation (4 MiB of raw segments).
    let dir = tempfile::tempdir().unwrap();
    let points = |store: &Store, run: &str, n: i64| {
        let h = store.metric_handle(run, "loss").unwrap();
        for step in 0..n {
            h.log(step as f64, step).unwrap();
        }
    };
    let unattended = Options::default().auto_compact(None);
    let store = Store::open_with(dir.path(), unattended.clone()).unwrap();
    points(&store, "00000000000000000000000000000001", 50_000); // 1.3 MiB
    store.close().unwrap();
    let store = Store::open(dir.path()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(store.stats().compactions, 0, "1.7 MiB is not worth it");
    points(&store, "00000000000000000000000000000002", 130_000); // 3.5 MiB more
    store.close().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let stats = first_compaction(&store);
    store.close().unwrap();
    assert_eq!(stats.compactions, 1, "{stats:?}");
    assert_eq!(stats.compaction_errors, 0);
    let manifest = Manifest::load(dir.path()).unwrap();
    assert_eq!(manifest.generations.len(), 1);
    // Both closed writers' segments: everything but the opener's own.
    assert_eq!(manifest.generations[0].segments.len(), 2, "{manifest:?}");
    assert_eq!(metric_points(dir.path()), 180_000);
}

#[test]
fn a_long_lived_store_takes_what_writers_that_exited_beside_it_left() {
    // A server's store, open for days: a process that logged beside it
    // and exited without compacting (too large to fork, killed) leaves
    // raw segments; the server's compactor takes them once it looks.
    let dir = tempfile::tempdir().unwrap();
    let server = Store::open_with(
        dir.path(),
        Options::default().compact_look_around(Duration::from_millis(50)),
    )
    .unwrap();
    let other = Store::open_with(dir.path(), Options::default().auto_compact(None)).unwrap();
    assert_ne!(other.lane(), server.lane());
    let h = other
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    for step in 0..80_000 {
        h.log(step as f64, step).unwrap(); // 2.1 MiB: not worth it yet
    }
    other.close().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.stats().compactions, 0);
    let other = Store::open_with(dir.path(), Options::default().auto_compact(None)).unwrap();
    let h = other
        .metric_handle("00000000000000000000000000000002", "loss")
        .unwrap();
    for step in 0..80_000 {
        h.log(step as f64, step).unwrap(); // 4.3 MiB in all
    }
    other.close().unwrap();
    let stats = first_compaction(&server);
    let lane = server.lane();
    server.close().unwrap();
    assert_eq!(stats.compactions, 1, "{stats:?}");
    let manifest = Manifest::load(dir.path()).unwrap();
    assert_eq!(manifest.generations.len(), 1);
    // The exited writers' two segments; the server's own lane waits.
    let segments = &manifest.generations[0].segments;
    assert_eq!(segments.len(), 2, "{manifest:?}");
    assert!(segments.iter().all(|(l, _)| *l != lane));
}

#[test]
fn a_compaction_told_to_stop_ends_after_the_generation_it_writes() {
    // How a closing store's compactor ends: its close waits for one
    // generation, not for the backlog an opener found.
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().segment_size(4096).auto_compact(None);
    let store = Store::open_with(dir.path(), options).unwrap();
    let h = store
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    for step in 0..5_000 {
        h.log(1.0, step).unwrap();
    }
    store.close().unwrap();
    // One segment a generation: many generations to write.
    let one_by_one = runlog::compact::CompactOptions {
        max_input_bytes: 1,
        ..Default::default()
    };
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 2
    };
    let steering = runlog::compact::Steering {
        stop: &stop,
        give_way: &|| {},
    };
    let report = runlog::compact::compact_steered(dir.path(), &one_by_one, &steering).unwrap();
    assert_eq!(report.generations, 2);
    // What it left, the next compaction takes.
    let rest = runlog::compact::compact_with(dir.path(), &one_by_one).unwrap();
    assert!(rest.generations > 2, "{rest:?}");
    assert_eq!(metric_points(dir.path()), 5_000);
}

#[test]
fn compactable_bytes_count_free_lanes_whole_and_live_ones_but_their_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().segment_size(4096).auto_compact(None);
    let store = Store::open_with(dir.path(), options).unwrap();
    let lane = store.lane();
    let h = store
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    for step in 0..2_000 {
        h.log(1.0, step).unwrap();
    }
    store.sync_written().unwrap();
    let lane_dir = runlog::layout::lane_path(dir.path(), lane);
    let segments = runlog::log::list_segments(&lane_dir).unwrap();
    let size = |i: usize| std::fs::metadata(&segments[i].path).unwrap().len();
    let all: u64 = (0..segments.len()).map(size).sum();
    assert!(segments.len() > 2);
    // Its own lane counts whole (about to be released); seen from
    // another lane, the live writer's last segment does not count.
    let compactable = runlog::compact::compactable_bytes;
    assert_eq!(compactable(dir.path(), lane).unwrap(), all);
    let last = size(segments.len() - 1);
    assert_eq!(compactable(dir.path(), u64::MAX).unwrap(), all - last);
    store.close().unwrap();
    // Once compacted, nothing is left to count.
    runlog::compact::compact(dir.path()).unwrap();
    assert_eq!(compactable(dir.path(), u64::MAX).unwrap(), 0);
}

#[test]
fn a_follower_reads_on_across_background_compactions() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .segment_size(8 << 10)
        .auto_compact(Some(1));
    let store = Store::open_with(dir.path(), options).unwrap();
    let h = store
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    let mut replay = Replay::open(dir.path()).unwrap();
    let mut seen = Vec::new();
    let mut step = 0i64;
    for _ in 0..100 {
        for _ in 0..200 {
            h.log_at(Metric {
                value: step as f64,
                timestamp: 1_700_000_000_000,
                step,
            })
            .unwrap();
            step += 1;
        }
        store.flush().unwrap();
        replay.refresh().unwrap(); // caught up: compactions behind it are harmless
        for item in replay.by_ref() {
            if let Event::Metric { step, .. } = item.unwrap().event {
                seen.push(step);
            }
        }
    }
    assert!(
        !Manifest::load(dir.path()).unwrap().generations.is_empty(),
        "compactions ran while the replay followed"
    );
    store.close().unwrap();
    assert_eq!(
        seen,
        (0..step).collect::<Vec<_>>(),
        "every point once, in order"
    );
}

#[test]
fn damage_in_a_generation_costs_only_its_own_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let ids = populate(dir.path());
    compact(dir.path()).unwrap();
    let before = snapshot(dir.path());
    let total: usize = before.0.values().map(Vec::len).sum();
    // Flip a byte in the middle of the generation file (inside a chunk).
    let file = dir.path().join("compact/00000001.gen");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() * 2 / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();

    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    assert_eq!(
        (summary.corrupt[0].lane, summary.corrupt[0].segment),
        (0, 1)
    );
    let mut points = 0;
    let mut errors = 0;
    for item in Replay::open(dir.path()).unwrap() {
        match item {
            Ok(r) if matches!(r.event, Event::Metric { .. }) => points += 1,
            Ok(_) => {}
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        runlog::engine::StorageError::Corrupt(runlog::Damage {
                            lane: 0,
                            segment: 1,
                            ..
                        })
                    ),
                    "{e}"
                );
                errors += 1;
            }
        }
    }
    assert_eq!(errors, 1);
    // (The byte may fall in a chunk's Blocks entry, which costs no point.)
    assert!(
        points <= total && points + 4_096 >= total,
        "one chunk lost at most: {points} of {total}"
    );
    // The client still opens, and reads the rest.
    let c = Client::builder().store(dir.path()).open().unwrap();
    assert_eq!(c.damaged_entries().unwrap(), 1);
    assert!(c.get_run(&ids[0]).is_ok());
}

/// Seals that come faster than compactions (a writer logging flat out) do
/// not leave sealed segments uncompacted once the writer is idle: a seal
/// during a round leaves a signal for one more round.
#[test]
fn background_compaction_drains_its_backlog_when_the_writer_goes_idle() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .segment_size(8 << 20)
        .auto_compact(Some(1));
    let store = Store::open_with(dir.path(), options).unwrap();
    let h = store
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    for step in 0..5_000_000i64 {
        h.log_at(Metric {
            value: 1.0,
            timestamp: 1_700_000_000_000,
            step,
        })
        .unwrap();
    }
    store.flush().unwrap();
    // Segments no generation replaces (replaced ones stay on disk 30 s
    // for lagging readers).
    let raw = || {
        let replaced = Manifest::load(dir.path()).unwrap().replaced();
        runlog::log::list_lanes(dir.path())
            .unwrap()
            .iter()
            .flat_map(|lane| {
                runlog::log::list_segments(&lane.path)
                    .unwrap()
                    .into_iter()
                    .map(move |seg| (lane.id, seg.sequence))
            })
            .filter(|s| !replaced.contains(s))
            .count()
    };
    // Idle now: within a while, only the live segment (and at most the
    // one sealed last, if its round is running) stays uncompacted.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while raw() > 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = raw();
    let stats = store.stats();
    store.close().unwrap();
    assert!(
        left <= 2,
        "{left} segments left uncompacted by the background compactor: {stats:?}"
    );
}

/// Logs `points` points of one series through a handle, flushing every
/// 1,000 so that rotations, and compactions, happen along the way.
fn log_flushed(store: &Store, points: i64) {
    let h = store
        .metric_handle("00000000000000000000000000000001", "loss")
        .unwrap();
    for step in 0..points {
        h.log_at(Metric {
            value: step as f64,
            timestamp: 1_700_000_000_000,
            step,
        })
        .unwrap();
        if step % 1_000 == 999 {
            store.flush().unwrap();
        }
    }
    store.flush().unwrap();
}

/// A server's requests in progress hold the background compactor back
/// (it pauses between steps of its work); once they end, it compacts.
#[test]
fn a_background_compaction_gives_way_to_foreground_work_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let requests = runlog::Foreground::new();
    let options = Options::default()
        .segment_size(8 << 10)
        .auto_compact(Some(1))
        .give_way_to(requests.clone());
    let store = Store::open_with(dir.path(), options).unwrap();
    let serving = requests.begin();
    log_flushed(&store, 20_000);
    std::thread::sleep(Duration::from_millis(300));
    let held = store.stats();
    assert_eq!(held.compactions, 0, "compacted during the work: {held:?}");
    assert!(Manifest::load(dir.path()).unwrap().generations.is_empty());
    drop(serving);
    let stats = first_compaction(&store);
    assert!(stats.compactions > 0, "{stats:?}");
    assert!(stats.compaction_paused_ms >= 300, "{stats:?}");
    store.close().unwrap();
    assert!(!Manifest::load(dir.path()).unwrap().generations.is_empty());
    assert_eq!(metric_points(dir.path()), 20_000);
}

/// Work that never ends does not hold a compaction back without bound:
/// once the writer sealed `GIVE_WAY_MAX_BACKLOG` since the compaction
/// began, it goes on. And a store closed meanwhile closes.
#[test]
fn a_compaction_gives_way_only_up_to_its_backlog_bound_and_not_past_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let requests = runlog::Foreground::new();
    let segment = 8 << 20;
    let options = Options::default()
        .segment_size(segment)
        .auto_compact(Some(1))
        .give_way_to(requests.clone());
    let store = Store::open_with(dir.path(), options).unwrap();
    let _serving = requests.begin();
    // 28 bytes a point in full Points entries: the bound's worth of
    // segments and two more.
    let points = ((runlog::compact::GIVE_WAY_MAX_BACKLOG + 2 * segment) / 28) as i64;
    log_flushed(&store, points);
    let stats = first_compaction(&store);
    assert!(stats.compactions > 0, "held past the bound: {stats:?}");

    // Another store, its compactor paused (the work goes on): the close
    // does not wait for the work to end.
    let other = tempfile::tempdir().unwrap();
    let options = Options::default()
        .segment_size(8 << 10)
        .auto_compact(Some(1))
        .give_way_to(requests.clone());
    let paused = Store::open_with(other.path(), options).unwrap();
    log_flushed(&paused, 20_000);
    std::thread::sleep(Duration::from_millis(100));
    let closing = std::time::Instant::now();
    paused.close().unwrap();
    assert!(
        closing.elapsed() < Duration::from_secs(5),
        "{:?}",
        closing.elapsed()
    );
    assert_eq!(metric_points(other.path()), 20_000);
    store.close().unwrap();
    assert_eq!(metric_points(dir.path()), points as usize);
}
