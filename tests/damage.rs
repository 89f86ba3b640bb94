//! What damage costs: one flipped bit or a cut costs the entry (or chunk)
//! it hits and nothing more, every other metric history stays readable,
//! and a compacted store that lost its manifest is reported, never
//! "repaired" by deleting its generations.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use runlog::Metric;
use runlog::NewRun;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use runlog::layout::{generation_path, manifest_path};
use runlog::log::generation::{Generation, GenerationItem};
use runlog::log::manifest::Manifest;
use runlog::{Client, Options};

const POINTS: i64 = 10_000;

/// A store with runs `a` and `b` compacted (10,000 points of `loss`
/// each: chunks of 4,096, 4,096 and 1,808) and run `c` in raw segments.
struct Sample {
    dir: tempfile::TempDir,
    a: String,
    b: String,
    c: String,
}

impl Sample {
    fn new() -> Sample {
        let dir = tempfile::tempdir().unwrap();
        let options = || Options::default().auto_compact(None);
        let client = Client::builder()
            .store(dir.path())
            .options(options())
            .open()
            .unwrap();
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let id = client
                .create_run(NewRun::new("0").run_name(name))
                .unwrap()
                .info
                .run_id;
            let h = client.metric_handle(&id, "loss").unwrap();
            for step in 0..POINTS {
                h.log_at(Metric {
                    value: 1.0 / (step + 1) as f64,
                    timestamp: 1_700_000_000_000 + step,
                    step,
                })
                .unwrap();
            }
            ids.push(id);
        }
        drop(client);
        let report = compact_closed(dir.path());
        assert_eq!(report.generations, 1);
        let client = Client::builder()
            .store(dir.path())
            .options(options())
            .open()
            .unwrap();
        let c = client
            .create_run(NewRun::new("0").run_name("c"))
            .unwrap()
            .info
            .run_id;
        for step in 0..POINTS {
            client
                .log_metric_at(
                    &c,
                    "loss",
                    Metric {
                        value: step as f64,
                        timestamp: 5,
                        step,
                    },
                )
                .unwrap();
        }
        drop(client);
        let b = ids.pop().unwrap();
        let a = ids.pop().unwrap();
        Sample { dir, a, b, c }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn generation(&self) -> PathBuf {
        generation_path(self.path(), 1)
    }

    /// (offset, length, points) of every chunk of `run`, in file order.
    fn chunks_of(&self, run: &str) -> Vec<(u64, u64, u32)> {
        let g = Generation::open(&self.generation(), 1).unwrap();
        let mut out = Vec::new();
        let items: Vec<_> = g.items().map(|i| i.unwrap()).collect();
        let len = fs::metadata(self.generation()).unwrap().len();
        for (i, (offset, item)) in items.iter().enumerate() {
            if let GenerationItem::Chunk(h, _) = item {
                if &*h.run_id == run {
                    let end = items.get(i + 1).map_or(len - 17, |(o, _)| *o);
                    out.push((*offset, end - offset, h.count));
                }
            }
        }
        out
    }

    /// (offset, length) of the Blocks entry after each chunk of `run`.
    fn blocks_of(&self, run: &str) -> Vec<(u64, u64)> {
        let g = Generation::open(&self.generation(), 1).unwrap();
        let items: Vec<_> = g.items().map(|i| i.unwrap()).collect();
        let mut out = Vec::new();
        for pair in items.windows(2) {
            if let [(_, GenerationItem::Chunk(h, _)), (offset, GenerationItem::Blocks(b))] = pair {
                if &*h.run_id == run {
                    out.push((*offset, b.entry_len() as u64));
                }
            }
        }
        out
    }

    /// The history of `loss` of every run, through a fresh read-only client.
    fn histories(&self) -> [Vec<runlog::Metric>; 3] {
        let c = Client::builder()
            .store(self.path())
            .read_only()
            .open()
            .unwrap();
        [&self.a, &self.b, &self.c].map(|id| c.get_metric_history(id, "loss").unwrap())
    }
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_bit_in_a_chunk_costs_that_chunk_only() {
    let s = Sample::new();
    let chunks = s.chunks_of(&s.a);
    assert_eq!(chunks.len(), 3);
    let (offset, len, count) = chunks[1];
    // In the chunk's points.
    flip(&s.generation(), offset + len / 2);
    let [a, b, c] = s.histories();
    assert_eq!(a.len() as i64, POINTS - i64::from(count));
    assert!(a.iter().all(|m| m.step < 4096 || m.step >= 8192));
    assert_eq!(b.len() as i64, POINTS);
    assert_eq!(
        c.len() as i64,
        POINTS,
        "raw segments are not behind the chunk"
    );
    let summary = runlog::engine::verify(s.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    assert_eq!(
        (summary.corrupt[0].lane, summary.corrupt[0].segment),
        (0, 1)
    );
    assert_eq!(summary.corrupt[0].offset, offset);

    // The command line: history answers with what is left, and says so.
    let out = runlog_at(
        s.path(),
        &["metrics", "history", "--run-id", &s.b, "--key", "loss"],
    );
    let csv = ok(&out);
    assert_eq!(csv.lines().count() as i64, POINTS + 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    let out = runlog_at(
        s.path(),
        &["metrics", "history", "--run-id", &s.a, "--key", "loss"],
    );
    assert_eq!(
        ok(&out).lines().count() as i64,
        POINTS - i64::from(count) + 1
    );
    assert!(!runlog_at(s.path(), &["verify"]).status.success());
}

/// `loss` of `run` drawn at 20 points: buckets of 1,111 points, so the
/// chunks' Blocks entries (256 points a block) stand for their points.
fn plot(s: &Sample, run: &str) -> Vec<Metric> {
    let c = Client::builder()
        .store(s.path())
        .read_only()
        .open()
        .unwrap();
    let query = runlog::HistoryQuery::new().max_points(20);
    c.metric_history(run, "loss", &query).unwrap()
}

#[test]
fn a_flipped_bit_in_a_blocks_entry_costs_no_point() {
    let s = Sample::new();
    let blocks = s.blocks_of(&s.a);
    assert_eq!(blocks.len(), 3, "one per chunk of more than 256 points");
    let clean = plot(&s, &s.a);
    let (offset, len) = blocks[1];
    flip(&s.generation(), offset + len / 2);
    let [a, b, c] = s.histories();
    assert_eq!([a.len(), b.len(), c.len()], [POINTS as usize; 3]);
    // The chunk is decoded instead: the plot keeps its ends and the
    // series' extremes, at most 20 points.
    let damaged = plot(&s, &s.a);
    assert!(damaged.len() <= 20 && damaged.len() >= clean.len() - 2);
    assert_eq!(damaged.first(), clean.first());
    assert_eq!(damaged.last(), clean.last());
    assert_eq!(damaged[0].value, 1.0, "the greatest value, at step 0");
    let summary = runlog::engine::verify(s.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    assert_eq!(summary.corrupt[0].offset, offset);
    assert_eq!(summary.metric_points, 3 * POINTS as u64);
}

#[test]
fn blocks_that_do_not_hold_their_chunks_extremes_are_reported() {
    // A Blocks entry with a valid CRC but a wrong extreme (a writer's bug,
    // not a flipped bit): `verify` compares it with its chunk's points.
    let s = Sample::new();
    let (offset, len) = s.blocks_of(&s.b)[0];
    let mut bytes = fs::read(s.generation()).unwrap();
    let at = offset as usize;
    let payload = &bytes[at + 9..at + len as usize];
    let blocks = runlog::format::decode_blocks_payload(payload).unwrap();
    let mut extremes: Vec<_> = blocks.extremes().collect();
    extremes[3].1.value = 99.0;
    let mut entry = Vec::new();
    runlog::format::encode_frame(&mut entry, runlog::format::EntryKind::Blocks, |b| {
        runlog::format::encode_blocks_payload(b, blocks.size, &extremes)
    })
    .unwrap();
    assert_eq!(entry.len() as u64, len);
    bytes.splice(at..at + entry.len(), entry);
    fs::write(s.generation(), bytes).unwrap();
    let summary = runlog::engine::verify(s.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    assert_eq!(summary.corrupt[0].offset, offset);
    assert!(summary.corrupt[0].reason.contains("extremes of the chunk"));
}

#[test]
fn a_flipped_bit_in_a_chunks_header_fields_costs_that_chunk_only() {
    let s = Sample::new();
    let (offset, _, count) = s.chunks_of(&s.b)[0];
    // The first byte of the run id, then of the step bounds and the
    // latest point: the fields an index is built from.
    for field in [13, 13 + 4 + 32 + 4 + 4, 13 + 4 + 32 + 4 + 4 + 16] {
        flip(&s.generation(), offset + field);
        let [a, b, c] = s.histories();
        assert_eq!(a.len() as i64, POINTS, "field at {field}");
        assert_eq!(
            b.len() as i64,
            POINTS - i64::from(count),
            "field at {field}"
        );
        assert_eq!(c.len() as i64, POINTS);
        flip(&s.generation(), offset + field);
    }
    let [a, b, _] = s.histories();
    assert_eq!((a.len() as i64, b.len() as i64), (POINTS, POINTS));
}

#[test]
fn a_truncated_generation_costs_what_follows_the_cut() {
    let s = Sample::new();
    // Runs a and b in file order ((run id) order): cut the later one's
    // last chunk in half.
    let (first, second) = if s.a < s.b { (0, 1) } else { (1, 0) };
    let (offset, len, count) = s.chunks_of([&s.a, &s.b][second])[2];
    let file = fs::OpenOptions::new()
        .write(true)
        .open(s.generation())
        .unwrap();
    file.set_len(offset + len / 2).unwrap();
    drop(file);
    let histories = s.histories();
    assert_eq!(histories[first].len() as i64, POINTS);
    assert_eq!(
        histories[second].len() as i64,
        POINTS - i64::from(count),
        "the cut chunk only"
    );
    assert_eq!(histories[2].len() as i64, POINTS);
    let summary = runlog::engine::verify(s.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    assert_eq!(summary.corrupt[0].offset, offset);
}

#[test]
fn a_flipped_bit_in_a_generation_header_costs_nothing() {
    let s = Sample::new();
    let before = s.histories();
    for offset in [0, 9, 13, 21, 29] {
        flip(&s.generation(), offset);
        assert_eq!(s.histories(), before, "flip at {offset}");
        let summary = runlog::engine::verify(s.path()).unwrap();
        assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
        assert!(summary.corrupt[0].reason.contains("header"));
        assert_eq!(summary.metric_points as i64, 3 * POINTS);
        flip(&s.generation(), offset);
    }
    // The runs of the generation are all there too (their records).
    let c = Client::builder()
        .store(s.path())
        .read_only()
        .open()
        .unwrap();
    flip(&s.generation(), 13);
    assert_eq!(c.get_run(&s.a).unwrap().info.run_name, "a");
    let c = Client::builder()
        .store(s.path())
        .read_only()
        .open()
        .unwrap();
    assert_eq!(c.get_run(&s.b).unwrap().info.run_name, "b");
}

#[test]
fn a_flipped_bit_in_the_store_marker_costs_nothing_and_is_mended() {
    let s = Sample::new();
    let before = s.histories();
    let marker = s.path().join(runlog::layout::MARKER_FILE);
    let intact = fs::read(&marker).unwrap();
    // The magic, the version, the CRC.
    for offset in [3, 8, 14] {
        flip(&marker, offset);
        assert_eq!(s.histories(), before, "flip at {offset}");
        let out = runlog_at(s.path(), &["verify"]);
        assert_eq!(out.status.code(), Some(1), "flip at {offset}: reported");
        assert!(String::from_utf8_lossy(&out.stdout).contains("RUNLOG"));
        // A process that writes mends it.
        let store = runlog::engine::Store::open(s.path()).unwrap();
        assert_eq!(store.recovery_report().corrupt.len(), 1);
        store.close().unwrap();
        assert_eq!(
            fs::read(&marker).unwrap(),
            intact,
            "flip at {offset}: mended"
        );
        assert!(runlog::engine::verify(s.path()).unwrap().corrupt.is_empty());
    }
    // So does a compaction.
    flip(&marker, 5);
    let report = runlog::compact::compact(s.path()).unwrap();
    assert_eq!(report.recovery.corrupt.len(), 1);
    assert_eq!(fs::read(&marker).unwrap(), intact);
    // Two flipped bits are more than can be read past: refused, not guessed.
    flip(&marker, 2);
    flip(&marker, 9);
    let err = Client::builder()
        .store(s.path())
        .read_only()
        .open()
        .unwrap_err();
    assert!(err.to_string().contains("RUNLOG"), "{err}");
}

#[test]
fn a_flipped_bit_in_a_series_binding_costs_no_point() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 5_000);
    let seg = segments(dir.path()).pop().unwrap();
    // The first entry after the header is the series' first binding.
    for offset in [32 + 2, 32 + 30] {
        flip(&seg, offset);
        let (events, errors) = replay_lenient(dir.path());
        assert_eq!(errors, 1, "flip at {offset}");
        assert_eq!(points(&events, &run_id(1), "loss").len(), 5_000);
        let summary = runlog::engine::verify(dir.path()).unwrap();
        assert_eq!(summary.corrupt.len(), 1);
        assert_eq!(summary.metric_points, 5_000);
        flip(&seg, offset);
    }
}

#[test]
fn a_damaged_or_missing_manifest_is_rebuilt_from_the_generations() {
    for damage in ["flip", "delete"] {
        let s = Sample::new();
        let before = s.histories();
        let manifest = manifest_path(s.path());
        match damage {
            "flip" => flip(&manifest, 20),
            _ => fs::remove_file(&manifest).unwrap(),
        }
        assert_eq!(s.histories(), before, "{damage}: nothing lost");
        let out = runlog_at(s.path(), &["verify"]);
        assert_eq!(out.status.code(), Some(1), "{damage}: reported");
        assert!(String::from_utf8_lossy(&out.stdout).contains("MANIFEST"));
        let loaded = Manifest::load(s.path()).unwrap();
        assert!(loaded.rebuilt.is_some());
        assert_eq!(loaded.generations.len(), 1);
        // The next compaction mends it.
        let out = ok(&runlog_at(s.path(), &["compact"]));
        assert!(out.contains("manifest rebuilt"), "{out}");
        assert!(s.generation().exists());
        assert!(runlog::engine::verify(s.path()).unwrap().corrupt.is_empty());
        assert!(Manifest::load(s.path()).unwrap().rebuilt.is_none());
        assert_eq!(s.histories(), before);
    }
}

#[test]
fn a_store_marked_6_without_a_generation_needs_no_manifest() {
    // Every store this build writes is marked 6, compacted or not: without
    // a generation file, a missing manifest is no damage (with one, the
    // test above shows it is).
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 100);
    assert_eq!(
        u32::from(fs::read(dir.path().join("RUNLOG")).unwrap()[8]),
        runlog::format::STORE_VERSION_POINTS
    );
    assert!(!manifest_path(dir.path()).exists());
    let loaded = Manifest::load(dir.path()).unwrap();
    assert!(loaded.rebuilt.is_none() && loaded.generations.is_empty());
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.corrupt.is_empty(), "{:?}", summary.corrupt);
}

/// Makes generation 1 what a version 2 build wrote: no Replaces entry.
fn as_version_2(s: &Sample) {
    let path = s.generation();
    let bytes = fs::read(&path).unwrap();
    let g = Generation::open(&path, 1).unwrap();
    assert!(g.replaced_segments().is_some());
    // The Replaces entry is the first after the 32-byte header.
    let first_len = 9 + u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
    let seal_at = bytes.len() - 17;
    let entries = u64::from_le_bytes(bytes[seal_at + 9..].try_into().unwrap());
    let mut out = runlog::format::GenerationHeader {
        version: 2,
        generation: 1,
    }
    .encode()
    .to_vec();
    out.extend_from_slice(&bytes[32 + first_len..seal_at]);
    runlog::format::Entry::Seal {
        entries: entries - 1,
    }
    .encode(&mut out)
    .unwrap();
    fs::write(&path, out).unwrap();
    drop(g);
}

#[test]
fn a_lost_manifest_that_cannot_be_rebuilt_is_damage_and_no_generation_is_deleted() {
    let s = Sample::new();
    as_version_2(&s);
    let before = s.histories();
    assert!(
        runlog::engine::verify(s.path()).unwrap().corrupt.is_empty(),
        "v2 files read"
    );
    assert_eq!(s.histories(), before);
    fs::remove_file(manifest_path(s.path())).unwrap();
    let out = runlog_at(s.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MANIFEST"));
    let out = runlog_at(s.path(), &["compact"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MANIFEST") && err.lines().count() == 1,
        "{err}"
    );
    assert!(s.generation().exists(), "the generation was kept");
    let err = Client::builder()
        .store(s.path())
        .read_only()
        .open()
        .unwrap_err();
    assert!(err.to_string().contains("MANIFEST"), "{err}");
    assert!(runlog::compact::compact(s.path()).is_err());
    assert!(s.generation().exists());
}

#[test]
fn compaction_removes_what_a_killed_one_left_and_keeps_unlisted_generations() {
    let s = Sample::new();
    let compact_dir = s.path().join("compact");
    // A temporary manifest of a killed compaction, and a generation
    // written but never published (numbered at the manifest's next).
    fs::write(compact_dir.join(".MANIFEST.tmp.4242"), b"half").unwrap();
    fs::copy(s.generation(), generation_path(s.path(), 2)).unwrap();
    let report = compact_closed(s.path());
    assert_eq!(report.generations, 1, "run c");
    assert!(!compact_dir.join(".MANIFEST.tmp.4242").exists());
    assert!(report.unlisted_generations.is_empty());
    let manifest = Manifest::load(s.path()).unwrap();
    assert_eq!(manifest.generations.len(), 2);
    let [a, b, c] = s.histories();
    assert_eq!((a.len(), b.len(), c.len()), (10_000, 10_000, 10_000));

    // A manifest that lists generation 2 only: generation 1 is no
    // compaction's leftover (its number is below the next), so it stays.
    let only_second = Manifest {
        generations: manifest.generations[1..].to_vec(),
        rebuilt: None,
    };
    fs::write(manifest_path(s.path()), only_second.encode()).unwrap();
    let out = runlog_at(s.path(), &["compact"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("generations 1"));
    assert!(s.generation().exists());
    let summary = runlog::engine::verify(s.path()).unwrap();
    assert!(summary
        .corrupt
        .iter()
        .any(|d| d.segment == 1 && d.reason.contains("no manifest lists")));
}

#[test]
fn a_segment_entry_inside_a_generation_is_damage_and_costs_no_chunk() {
    // A valid Metric frame (a segment's kind) between two chunks of a
    // generation: corruption, which the reader skips to the next chunk.
    let s = Sample::new();
    let chunks = s.chunks_of(&s.a);
    let at = chunks[1].0 as usize;
    let mut frame = Vec::new();
    runlog::format::encode_frame(&mut frame, runlog::format::EntryKind::Metric, |b| {
        b.extend_from_slice(&[0u8; 28]);
    })
    .unwrap();
    let mut bytes = fs::read(s.generation()).unwrap();
    bytes.splice(at..at, frame.iter().copied());
    fs::write(s.generation(), bytes).unwrap();

    let [a, b, c] = s.histories();
    assert_eq!([a.len(), b.len(), c.len()], [POINTS as usize; 3]);
    let summary = runlog::engine::verify(s.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    let d = &summary.corrupt[0];
    assert_eq!((d.lane, d.segment, d.offset, d.len), (0, 1, at as u64, 37));
}

/// The Points entries of a segment: (offset, length, the points' steps).
fn points_entries(seg: &Path) -> Vec<(u64, u64, Vec<i64>)> {
    let bytes = fs::read(seg).unwrap();
    let mut scan = runlog::log::SegmentScan::new(&bytes);
    let mut out = Vec::new();
    while let Some(item) = scan.next() {
        if let runlog::log::ScanItem::Entry {
            offset,
            entry: runlog::format::Entry::Points(points),
        } = item
        {
            let steps = points.iter().map(|(_, m)| m.step).collect();
            out.push((offset, scan.position() as u64 - offset, steps));
        }
    }
    out
}

#[test]
fn a_flipped_bit_in_a_points_entry_costs_that_entry_only() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 5_000);
    let seg = segments(dir.path()).pop().unwrap();
    let entries = points_entries(&seg);
    // Between params (one per 10 points), the writer's entries hold the
    // points logged in a row: take the fullest.
    let (offset, len, lost) = entries.iter().max_by_key(|e| e.2.len()).unwrap().clone();
    assert!(lost.len() >= 2, "an entry of several points: {lost:?}");
    // The CRC, the length, the kind, the first and the last payload byte.
    for at in [offset, offset + 5, offset + 8, offset + 9, offset + len - 1] {
        flip(&seg, at);
        let (events, errors) = replay_lenient(dir.path());
        assert_eq!(errors, 1, "flip at {at}");
        let steps: Vec<i64> = points(&events, &run_id(1), "loss")
            .iter()
            .map(|p| p.0)
            .collect();
        let kept: Vec<i64> = (0..5_000).filter(|s| !lost.contains(s)).collect();
        assert_eq!(steps, kept, "flip at {at}: that entry's points only");
        let summary = runlog::engine::verify(dir.path()).unwrap();
        assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
        let d = &summary.corrupt[0];
        assert_eq!((d.offset, d.len), (offset, len), "flip at {at}");
        assert_eq!(summary.metric_points as usize, 5_000 - lost.len());
        // The replay's point sink (the tracking API's path) agrees.
        let (sunk, errors) = sink_steps(dir.path(), &run_id(1), "loss");
        assert_eq!((sunk, errors), (kept, 1), "flip at {at}");
        flip(&seg, at);
    }
    assert!(runlog::engine::verify(dir.path())
        .unwrap()
        .corrupt
        .is_empty());
}

#[test]
fn a_point_of_a_series_the_segment_never_bound_is_damage_of_its_entry_alone() {
    // A Points entry whose CRC holds but whose third point names series
    // 999, which no Series entry binds: that point is damage, reported
    // once for the entry; the entry's other points are read.
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 5_000);
    let seg = segments(dir.path()).pop().unwrap();
    let (offset, len, steps) = points_entries(&seg)
        .into_iter()
        .max_by_key(|e| e.2.len())
        .unwrap();
    assert!(steps.len() >= 3);
    let mut bytes = fs::read(&seg).unwrap();
    let (start, end) = (offset as usize, (offset + len) as usize);
    let old = runlog::format::Points::from_payload(&bytes[start + 9..end]).unwrap();
    let mut payload = Vec::new();
    for (i, (series, m)) in old.iter().enumerate() {
        let series = if i == 2 { 999 } else { series };
        runlog::format::Points::put(&mut payload, series, &m);
    }
    let mut frame = Vec::new();
    runlog::format::encode_frame(&mut frame, runlog::format::EntryKind::Points, |b| {
        b.extend_from_slice(&payload)
    })
    .unwrap();
    assert_eq!(frame.len(), end - start);
    bytes[start..end].copy_from_slice(&frame);
    fs::write(&seg, &bytes).unwrap();

    let (events, errors) = replay_lenient(dir.path());
    assert_eq!(errors, 1);
    let got: Vec<i64> = points(&events, &run_id(1), "loss")
        .iter()
        .map(|p| p.0)
        .collect();
    let kept: Vec<i64> = (0..5_000).filter(|&s| s != steps[2]).collect();
    assert_eq!(got, kept);
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    let d = &summary.corrupt[0];
    assert_eq!((d.offset, d.len), (offset, len));
    assert!(d.reason.contains("series 999"), "{}", d.reason);
    assert_eq!(summary.metric_points, 4_999);
    let (sunk, errors) = sink_steps(dir.path(), &run_id(1), "loss");
    assert_eq!((sunk, errors), (kept, 1), "the point sink agrees");
}

#[test]
fn a_points_entry_of_a_partial_point_is_invalid_though_its_crc_holds() {
    // 29 bytes of payload: a whole point and one byte. The CRC matches,
    // but the payload does not decode (FORMAT.md, "Validity"): corruption
    // of the entry, and the next entry is read.
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 100);
    let seg = segments(dir.path()).pop().unwrap();
    let (offset, _, steps) = points_entries(&seg).into_iter().next().unwrap();
    let mut frame = Vec::new();
    runlog::format::encode_frame(&mut frame, runlog::format::EntryKind::Points, |b| {
        b.extend_from_slice(&[0u8; 29])
    })
    .unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    bytes.splice(offset as usize..offset as usize, frame.iter().copied());
    fs::write(&seg, &bytes).unwrap();
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(summary.corrupt.len(), 1, "{:?}", summary.corrupt);
    assert_eq!(
        (summary.corrupt[0].offset, summary.corrupt[0].len),
        (offset, frame.len() as u64)
    );
    assert_eq!(summary.metric_points, 100);
    let (events, errors) = replay_lenient(dir.path());
    assert_eq!(errors, 1);
    assert_eq!(points(&events, &run_id(1), "loss").len(), 100);
    assert!(!steps.is_empty());
}
