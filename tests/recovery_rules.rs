//! One test per recovery rule of FORMAT.md: torn tails are cut and
//! reported, corruption is reported and never cut, damaged or foreign files
//! are refused with a typed error, and nothing valid is ever lost.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use runlog::Metric;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use common::*;
use runlog::engine::StorageError;
use runlog::engine::{Replay, Replayed, Store};
use runlog::log::{ScanItem, SegmentScan};
use runlog::Options;

/// (offset, end) of every entry of a segment file.
fn entry_spans(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut scan = SegmentScan::new(bytes);
    let mut spans = Vec::new();
    while let Some(item) = scan.next() {
        match item {
            ScanItem::Entry { offset, .. } => spans.push((offset, scan.position() as u64)),
            other => panic!("sample segment is damaged: {other:?}"),
        }
    }
    spans
}

/// How many events each entry of a well-formed segment replays as, in
/// the order of [`entry_spans`]: a Points entry its points, a Metric entry
/// or a record one, a Series entry or a seal none.
fn entry_events(bytes: &[u8]) -> Vec<i64> {
    SegmentScan::new(bytes)
        .map(|item| match item {
            ScanItem::Entry { entry, .. } => match entry {
                runlog::format::Entry::Points(points) => points.len() as i64,
                runlog::format::Entry::Metric { .. } | runlog::format::Entry::Record(_) => 1,
                runlog::format::Entry::Series { .. } | runlog::format::Entry::Seal { .. } => 0,
            },
            other => panic!("sample segment is damaged: {other:?}"),
        })
        .collect()
}

fn replayed(path: &Path) -> Vec<Replayed> {
    Replay::open(path)
        .expect("replay")
        .map(|r| r.expect("clean"))
        .collect()
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .expect("truncate");
}

/// Cuts the seal off a segment: the state a writer that died leaves.
fn unseal(path: &Path) {
    let len = fs::metadata(path).unwrap().len();
    truncate(path, len - runlog::format::SEAL_FRAME_LEN as u64);
}

fn flip_bit(path: &Path, offset: u64, bit: u8) {
    let mut bytes = fs::read(path).expect("read");
    bytes[offset as usize] ^= 1 << bit;
    fs::write(path, bytes).expect("write");
}

#[test]
fn torn_tail_is_cut_at_every_offset_of_the_last_entries() {
    let base = tempfile::tempdir().unwrap();
    let original = base.path().join("store");
    write_sample(&original, 40);
    let all = replayed(&original);
    let seg = segments(&original).pop().unwrap();
    let bytes = fs::read(&seg).unwrap();
    let spans = entry_spans(&bytes);
    let first_cut = spans[spans.len() - 4].1;
    for cut in first_cut..bytes.len() as u64 {
        let dir = base.path().join(format!("cut{cut}"));
        copy_dir(&original, &dir);
        let seg = segments(&dir).pop().unwrap();
        truncate(&seg, cut);
        let boundary = spans
            .iter()
            .map(|s| s.1)
            .filter(|&e| e <= cut)
            .max()
            .unwrap();

        let store = Store::open(&dir).unwrap();
        let report = store.recovery_report().clone();
        store.close().unwrap();
        assert!(report.corrupt.is_empty(), "cut {cut}: {report:?}");
        if cut == boundary {
            assert!(
                report.torn.is_empty(),
                "cut {cut} on a boundary: {report:?}"
            );
        } else {
            assert_eq!(report.torn.len(), 1, "cut {cut}");
            assert_eq!(report.torn[0].offset, boundary);
            assert_eq!(report.torn[0].bytes, cut - boundary);
            assert!(report.torn[0].entries >= 1);
        }
        let expected: Vec<_> = all
            .iter()
            .filter(|r| spans.iter().any(|s| s.0 == r.position.offset && s.1 <= cut))
            .map(|r| r.event.clone())
            .collect();
        let summary = runlog::engine::verify(&dir).unwrap();
        assert!(
            summary.corrupt.is_empty() && summary.torn.is_empty(),
            "cut {cut}: {summary:?}"
        );
        assert_eq!(replay_all(&dir), expected, "cut {cut}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn random_bit_flips_are_detected_and_never_yield_altered_entries() {
    let base = tempfile::tempdir().unwrap();
    let original = base.path().join("store");
    write_sample(&original, 60);
    let all = replayed(&original);
    let seg_len = fs::metadata(segments(&original).pop().unwrap())
        .unwrap()
        .len();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for trial in 0..150 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let offset = state % seg_len;
        let bit = (state >> 40) as u8 % 8;
        let dir = base.path().join(format!("flip{trial}"));
        copy_dir(&original, &dir);
        flip_bit(&segments(&dir).pop().unwrap(), offset, bit);

        let mut errors = 0;
        for r in Replay::open(&dir).unwrap() {
            match r {
                Ok(r) => assert!(
                    all.contains(&r),
                    "flip at {offset} bit {bit} yielded an entry never written: {r:?}"
                ),
                Err(StorageError::Corrupt(_)) => errors += 1,
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        let summary = runlog::engine::verify(&dir).unwrap();
        assert!(
            errors > 0 || !summary.torn.is_empty(),
            "flip at {offset} bit {bit} went unnoticed"
        );
        // The parallel verify and a full replay agree on every count and fault.
        let mut replay = Replay::open(&dir).unwrap();
        for _ in replay.by_ref() {}
        let mut from_replay = replay.summary().clone();
        from_replay
            .corrupt
            .sort_by_key(|d| (d.lane, d.segment, d.offset));
        assert_eq!(from_replay, summary, "flip at {offset} bit {bit}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn corruption_with_valid_entries_after_it_is_reported_and_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path(), 50);
    let seg = segments(dir.path()).pop().unwrap();
    // Without its seal, as a writer that died leaves it.
    unseal(&seg);
    let bytes = fs::read(&seg).unwrap();
    let spans = entry_spans(&bytes);
    let (victim, victim_end) = spans[spans.len() / 2];
    let victim_events = entry_events(&bytes)[spans.len() / 2];
    assert!(victim_events > 0, "the victim holds something");
    flip_bit(&seg, victim + 12, 3);

    let store = Store::open(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    store.close().unwrap();
    assert!(report.torn.is_empty(), "{report:?}");
    assert_eq!(report.corrupt.len(), 1);
    assert_eq!(report.corrupt[0].offset, victim);
    assert_eq!(report.corrupt[0].len, victim_end - victim);
    // Nothing after the damage was cut: the file keeps its length plus the seal.
    assert!(fs::metadata(&seg).unwrap().len() > bytes.len() as u64);

    let (events, errors) = replay_lenient(dir.path());
    assert_eq!(errors, 1);
    assert_eq!(events.len() as i64, all.len() as i64 - victim_events);
    assert!(events.iter().all(|e| all.contains(e)));
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1);
}

/// A store whose one segment holds `points` points of one series, left
/// without its seal as a writer that died leaves it; its path.
fn dead_writers_segment(dir: &Path, points: i64) -> std::path::PathBuf {
    let options = Options::default().segment_size(64 << 20).auto_compact(None);
    let store = Store::open_with(dir, options).unwrap();
    let h = store.metric_handle("r", "loss").unwrap();
    for step in 0..points {
        h.log(step as f64, step).unwrap();
    }
    store.close().unwrap();
    let seg = segments(dir).pop().unwrap();
    unseal(&seg);
    seg
}

#[test]
fn a_dead_writers_segment_longer_than_a_reader_window_is_recovered_whole() {
    // 15 MiB of points (566,000 in Points entries): recovery reads the
    // segment 8 MiB at a time. One flipped bit just before the first
    // window's end, one just after it, and a torn entry at the end.
    let dir = tempfile::tempdir().unwrap();
    let points = 566_000i64;
    let seg = dead_writers_segment(dir.path(), points);
    let bytes = fs::read(&seg).unwrap();
    let spans = entry_spans(&bytes);
    let window = 8u64 << 20;
    let before = spans
        .iter()
        .rposition(|&(_, end)| end < window - 100)
        .unwrap();
    let after = spans
        .iter()
        .position(|&(offset, _)| offset > window + 100)
        .unwrap();
    for &i in &[before, after] {
        flip_bit(&seg, spans[i].0 + 20, 1);
    }
    let len = bytes.len() as u64;
    OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&bytes[spans[5].0 as usize..spans[5].1 as usize - 3])
        .unwrap();

    let store = Store::open(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    store.close().unwrap();
    let corrupt: Vec<u64> = report.corrupt.iter().map(|d| d.offset).collect();
    assert_eq!(corrupt, [spans[before].0, spans[after].0], "{report:?}");
    assert_eq!(report.torn.len(), 1);
    assert_eq!(report.torn[0].offset, len);
    let (events, errors) = replay_lenient(dir.path());
    assert_eq!(errors, 2);
    let events_of = entry_events(&bytes);
    assert_eq!(
        events.len() as i64,
        points - events_of[before] - events_of[after]
    );
}

#[test]
fn a_window_of_garbage_inside_a_dead_writers_segment_is_damage_not_a_torn_tail() {
    // 15 MiB of points with 9 MiB of zeros from 6 MiB on: the reader's
    // 8 MiB windows find no valid entry in one whole window. Recovery must
    // report damage and keep the entries after it, not cut the file there.
    let dir = tempfile::tempdir().unwrap();
    let points = 566_000i64;
    let seg = dead_writers_segment(dir.path(), points);
    let mut bytes = fs::read(&seg).unwrap();
    let spans = entry_spans(&bytes);
    let events_of = entry_events(&bytes);
    let (from, to) = (6usize << 20, 15usize << 20);
    let original = bytes.clone();
    bytes[from..to].fill(0);
    fs::write(&seg, &bytes).unwrap();
    // An entry is lost when a byte of it changed: one that only reaches
    // into the region with bytes that were zero already (a small step's
    // high bytes end every point) is still whole.
    let lost: i64 = spans
        .iter()
        .zip(events_of)
        .filter(|&(&(o, e), _)| original[o as usize..e as usize] != bytes[o as usize..e as usize])
        .map(|(_, events)| events)
        .sum();

    let store = Store::open(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    store.close().unwrap();
    assert!(report.torn.is_empty(), "{report:?}");
    assert!(!report.corrupt.is_empty());
    assert!(
        fs::metadata(&seg).unwrap().len() > bytes.len() as u64,
        "sealed, not cut"
    );
    let (events, _) = replay_lenient(dir.path());
    assert_eq!(events.len() as i64, points - lost);
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.torn.is_empty() && !summary.corrupt.is_empty());
    assert_eq!(summary.metric_points as i64, points - lost);
}

#[test]
fn zero_filled_tail_is_torn_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path(), 20);
    let seg = segments(dir.path()).pop().unwrap();
    let len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&[0u8; 4096])
        .unwrap();
    let store = Store::open(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    store.close().unwrap();
    assert_eq!(report.torn.len(), 1);
    assert_eq!(report.torn[0].offset, len);
    assert_eq!(report.torn[0].bytes, 4096);
    assert_eq!(replay_all(dir.path()), all);
}

#[test]
fn segment_shorter_than_its_header_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_sample(dir.path(), 5);
    let seg = segments(dir.path()).pop().unwrap();
    let stub = seg.with_file_name("00000002.seg");
    fs::write(&stub, b"RUNLOG").unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovery_report().torn[0].bytes, 6);
    store.close().unwrap();
    assert_eq!(replay_all(dir.path()), all);
    assert!(runlog::engine::verify(dir.path())
        .unwrap()
        .corrupt
        .is_empty());
}

#[test]
fn closed_lanes_need_no_recovery_and_dead_ones_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(dir.path()).unwrap();
    let b = Store::open(dir.path()).unwrap();
    assert_ne!(a.lane(), b.lane(), "two open writers share no lane");
    a.log_metric(
        "r",
        "m",
        Metric {
            value: 1.0,
            timestamp: 1,
            step: 1,
        },
    )
    .unwrap();
    b.log_metric(
        "r",
        "m",
        Metric {
            value: 2.0,
            timestamp: 2,
            step: 2,
        },
    )
    .unwrap();
    drop(a);
    drop(b);
    // Both closed cleanly: sealed, nothing to recover; the opener adopts
    // lane 1 and begins its segment 2.
    let c = Store::open(dir.path()).unwrap();
    assert_eq!(c.lane(), 1);
    assert!(c.recovery_report().lanes_recovered.is_empty());
    c.log_metric(
        "r",
        "m",
        Metric {
            value: 3.0,
            timestamp: 3,
            step: 3,
        },
    )
    .unwrap();
    c.close().unwrap();
    let lane1: Vec<u64> = runlog::log::list_segments(&dir.path().join("lanes/000001"))
        .unwrap()
        .iter()
        .map(|s| s.sequence)
        .collect();
    assert_eq!(lane1, [1, 2]);

    // Writers that died leave unsealed segments: recovered and sealed.
    for lane in runlog::log::list_lanes(dir.path()).unwrap() {
        let last = runlog::log::list_segments(&lane.path)
            .unwrap()
            .pop()
            .unwrap();
        unseal(&last.path);
    }
    let d = Store::open(dir.path()).unwrap();
    assert_eq!(d.recovery_report().lanes_recovered, vec![1, 2]);
    drop(d);
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(
        summary.corrupt.is_empty() && summary.torn.is_empty(),
        "{summary:?}"
    );
    let values: Vec<f64> = points(&replay_all(dir.path()), "r", "m")
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);
}

#[test]
fn a_store_closed_without_logging_leaves_no_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap().close().unwrap();
    Store::open(dir.path()).unwrap().close().unwrap();
    assert!(segments(dir.path()).is_empty());
    assert!(runlog::engine::verify(dir.path())
        .unwrap()
        .corrupt
        .is_empty());
}

#[test]
fn segments_rotate_and_a_missing_seal_in_the_middle_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().segment_size(4096).auto_compact(None);
    let store = Store::open_with(dir.path(), options).unwrap();
    let h = store.metric_handle("r", "m").unwrap();
    for step in 0..1000 {
        h.log_at(Metric {
            value: step as f64,
            timestamp: step,
            step,
        })
        .unwrap();
    }
    store.close().unwrap();
    let segs = segments(dir.path());
    assert!(
        segs.len() >= 6,
        "1000 points of 28 bytes make 6+ segments of 4 KiB"
    );
    assert_eq!(points(&replay_all(dir.path()), "r", "m").len(), 1000);

    // Cut the seal off the first segment: replay reports it.
    let len = fs::metadata(&segs[0]).unwrap().len();
    truncate(&segs[0], len - runlog::format::SEAL_FRAME_LEN as u64);
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{summary:?}");
    assert!(summary.corrupt[0].reason.contains("not sealed"));
    assert_eq!(
        summary.metric_points, 1000,
        "no point is lost to the missing seal"
    );
}

#[test]
fn a_flipped_bit_in_a_segment_header_costs_no_entry() {
    let dir = tempfile::tempdir().unwrap();
    small_segment_store(dir.path(), 300);
    let segs = segments(dir.path());
    // Every byte of the header: magic, version, lane, sequence, CRC.
    for offset in 0..32 {
        flip_bit(&segs[0], offset, (offset % 8) as u8);
        let (events, errors) = replay_lenient(dir.path());
        assert_eq!(errors, 1, "flip at {offset}");
        assert_eq!(
            events.len(),
            300,
            "flip at {offset}: the path names the segment"
        );
        let summary = runlog::engine::verify(dir.path()).unwrap();
        assert_eq!(summary.corrupt.len(), 1, "{summary:?}");
        assert_eq!(summary.corrupt[0].segment, 1);
        assert_eq!(summary.corrupt[0].len, 32);
        assert!(summary.corrupt[0].reason.contains("header"));
        assert_eq!(summary.metric_points, 300);
        flip_bit(&segs[0], offset, (offset % 8) as u8);
    }
    assert_eq!(replay_all(dir.path()).len(), 300);
}

#[test]
fn a_dead_writers_segment_with_a_damaged_header_is_recovered_and_sealed() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 200);
    let seg = segments(dir.path()).pop().unwrap();
    unseal(&seg);
    flip_bit(&seg, 20, 1); // the sequence number
    let store = Store::open(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
    assert!(report.corrupt[0].reason.contains("header"));
    store.close().unwrap();
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "only the header: {summary:?}");
    assert_eq!(summary.metric_points, 200, "sealed, every point kept");
    assert!(summary.torn.is_empty());
}

#[test]
fn a_misfiled_segment_is_reported_and_not_read_twice() {
    let dir = tempfile::tempdir().unwrap();
    small_segment_store(dir.path(), 300);
    let segs = segments(dir.path());
    // A copy of segment 1 filed as segment 2: its valid header says 1.
    fs::copy(&segs[0], &segs[1]).unwrap();
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary
        .corrupt
        .iter()
        .any(|d| d.segment == 2 && d.reason.contains("names lane")));
    let (events, _) = replay_lenient(dir.path());
    let mut steps: Vec<i64> = points(&events, "r", "m").iter().map(|p| p.0).collect();
    let n = steps.len();
    steps.dedup();
    assert_eq!(steps.len(), n, "no point read twice");
}

#[test]
fn newer_format_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 3);
    // A segment header of version 2.
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let header = runlog::format::SegmentHeader {
        version: 2,
        lane: 1,
        sequence: 1,
    };
    bytes[..32].copy_from_slice(&header.encode());
    fs::write(&seg, &bytes).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    let replay_err = Replay::open(dir.path()).unwrap().find_map(|r| r.err());
    assert!(matches!(
        replay_err,
        Some(StorageError::UnsupportedVersion { .. })
    ));

    // A store marker of version 9.
    let marker = runlog::format::StoreMarker { version: 9 }.encode();
    fs::write(dir.path().join("RUNLOG"), marker).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StorageError::UnsupportedVersion { found: 9, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("version 9"));
    assert!(matches!(
        Replay::open(dir.path()).err(),
        Some(StorageError::UnsupportedVersion { found: 9, .. })
    ));
}

#[test]
fn directories_that_are_not_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StorageError::NotAStore { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"));
    assert!(fs::read(dir.path().join("notes.txt")).unwrap() == b"mine");

    let mlflow = tempfile::tempdir().unwrap();
    fs::create_dir_all(mlflow.path().join("0")).unwrap();
    fs::write(mlflow.path().join("0/meta.yaml"), "name: Default").unwrap();
    let err = Store::open(mlflow.path()).unwrap_err();
    assert!(err.to_string().contains("MLflow"), "{err}");

    let damaged = tempfile::tempdir().unwrap();
    fs::write(damaged.path().join("RUNLOG"), b"RUNLOGST\x01").unwrap();
    let err = Store::open(damaged.path()).unwrap_err();
    assert!(matches!(err, StorageError::NotAStore { .. }), "{err}");

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Replay::open(empty.path()).err(),
        Some(StorageError::NotAStore { .. })
    ));
}

mod damaged_tails {
    //! Property: whatever damage a crashed writer's last segment holds,
    //! recovery keeps every entry replay could read before it, and leaves no
    //! torn tail behind.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Damage {
        Flip { at: usize, bit: u8 },
        Truncate { keep: usize },
        Garbage { at: usize, bytes: Vec<u8> },
        Zeros { len: usize },
    }

    fn damage() -> impl Strategy<Value = Damage> {
        prop_oneof![
            (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
            any::<usize>().prop_map(|keep| Damage::Truncate { keep }),
            (
                any::<usize>(),
                proptest::collection::vec(any::<u8>(), 1..64)
            )
                .prop_map(|(at, bytes)| Damage::Garbage { at, bytes }),
            (1usize..200).prop_map(|len| Damage::Zeros { len }),
        ]
    }

    fn events(dir: &Path) -> Vec<runlog::engine::Event> {
        Replay::open(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|r| r.event)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn recovery_never_drops_a_readable_entry(points in 1i64..80, damages in proptest::collection::vec(damage(), 1..4)) {
            let dir = tempfile::tempdir().unwrap();
            write_sample(dir.path(), points);
            let seg = segments(dir.path()).pop().unwrap();
            let mut bytes = fs::read(&seg).unwrap();
            let body = runlog::format::SEGMENT_HEADER_LEN;
            for d in damages {
                let span = bytes.len() - body;
                match d {
                    Damage::Flip { at, bit } if span > 0 => bytes[body + at % span] ^= 1 << bit,
                    Damage::Truncate { keep } => bytes.truncate(body + keep % (span + 1)),
                    Damage::Garbage { at, bytes: g } => {
                        let at = body + at % (span + 1);
                        bytes.splice(at..at, g);
                    }
                    Damage::Zeros { len } => bytes.extend(std::iter::repeat_n(0u8, len)),
                    Damage::Flip { .. } => {}
                }
            }
            fs::write(&seg, &bytes).unwrap();
            let before = events(dir.path());
            let store = Store::open(dir.path()).unwrap();
            store.close().unwrap();
            prop_assert_eq!(events(dir.path()), before);
            prop_assert!(runlog::engine::verify(dir.path()).unwrap().torn.is_empty());
        }
    }
}
