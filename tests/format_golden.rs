//! FORMAT.md is the contract: every ```hex block in it must equal what the
//! encoder writes for the example the spec describes beside it.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

use runlog::format::{
    codec, encode_chunk_payload, encode_frame, encode_manifest, ChunkHeader, Entry, EntryKind,
    GenerationEntry, GenerationHeader, Record, SegmentHeader, StoreMarker, FORMAT_VERSION,
    GENERATION_VERSION, SEGMENT_VERSION, STORE_VERSION_COMPACTED, STORE_VERSION_PLAIN,
};
use runlog::Metric;

/// The hex blocks of FORMAT.md by name (```hex NAME).
fn spec_blocks() -> Vec<(String, Vec<u8>)> {
    let spec = include_str!("../FORMAT.md");
    let mut blocks = Vec::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("```hex ") else {
            continue;
        };
        let mut bytes = Vec::new();
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            for h in l.split_whitespace() {
                bytes.push(u8::from_str_radix(h, 16).expect("hex byte in FORMAT.md"));
            }
        }
        blocks.push((name.trim().to_owned(), bytes));
    }
    blocks
}

fn encoded(entry: Entry<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    entry.encode(&mut buf).expect("encodes");
    buf
}

fn expected(name: &str) -> Vec<u8> {
    match name {
        "marker" => StoreMarker {
            version: STORE_VERSION_PLAIN,
        }
        .encode()
        .to_vec(),
        "marker-compacted" => StoreMarker {
            version: STORE_VERSION_COMPACTED,
        }
        .encode()
        .to_vec(),
        "segment-header" => SegmentHeader {
            version: SEGMENT_VERSION,
            lane: 1,
            sequence: 1,
        }
        .encode()
        .to_vec(),
        "series" => encoded(Entry::Series {
            id: 0,
            run_id: "r1",
            key: "loss",
        }),
        "metric" => encoded(Entry::Metric {
            series: 0,
            metric: Metric {
                value: 0.5,
                timestamp: 1_700_000_000_000,
                step: 7,
            },
        }),
        "param" => encoded(Entry::Record(Record::Param {
            run_id: "r1",
            key: "lr",
            value: "0.01",
        })),
        "seal" => encoded(Entry::Seal { entries: 3 }),
        "create-logged-model" => encoded(Entry::Record(Record::CreateLoggedModel {
            model_id: "m-1",
            experiment_id: "0",
            name: "rf",
            artifact_location: "artifacts/0/models/m-1/artifacts",
            model_type: None,
            source_run_id: Some("r1"),
            creation_time: 1_700_000_000_000,
            params: vec![("n", "10")],
            tags: vec![],
        })),
        "logged-model-metric" => encoded(Entry::Record(Record::LoggedModelMetric {
            model_id: "m-1",
            run_id: "r1",
            key: "acc",
            value: 0.5,
            timestamp: 1_700_000_000_000,
            step: 7,
            dataset_name: Some("train"),
            dataset_digest: None,
        })),
        "marker-models" => StoreMarker {
            version: runlog::format::STORE_VERSION_MODELS,
        }
        .encode()
        .to_vec(),
        "marker-points" => StoreMarker {
            version: runlog::format::STORE_VERSION_POINTS,
        }
        .encode()
        .to_vec(),
        "points" => {
            let mut payload = Vec::new();
            let t = 1_700_000_000_000;
            let p = |value, timestamp, step| Metric {
                value,
                timestamp,
                step,
            };
            runlog::format::Points::put(&mut payload, 0, &p(0.5, t, 7));
            runlog::format::Points::put(&mut payload, 1, &p(0.25, t + 1_000, 8));
            let points = runlog::format::Points::from_payload(&payload).unwrap();
            assert_eq!(points.len(), 2);
            encoded(Entry::Points(points))
        }
        "segment-written" => written_segment(),
        "replaces" => {
            let mut out = Vec::new();
            runlog::format::encode_replaces(&mut out, &[(1, 1), (1, 2)]).unwrap();
            out
        }
        "generation-header" => GenerationHeader {
            version: GENERATION_VERSION,
            generation: 1,
        }
        .encode()
        .to_vec(),
        "chunk" => chunk_entry(),
        "blocks" => blocks_entry(),
        "generation-written" => written_generation(),
        "manifest" => encode_manifest(&[
            GenerationEntry {
                number: 1,
                segments: vec![(1, 1), (1, 2)],
            },
            GenerationEntry {
                number: 2,
                segments: vec![(1, 3), (2, 1)],
            },
        ]),
        other => panic!("FORMAT.md has a hex block {other:?} this test does not know"),
    }
}

/// The bytes a store writes for FORMAT.md's whole-segment example: the
/// writer itself, not the encoder, so that the twin Series entries are
/// pinned too.
fn written_segment() -> Vec<u8> {
    let dir = store_with_the_metric();
    std::fs::read(dir.path().join("lanes/000001/00000001.seg")).unwrap()
}

/// A store whose writer logged FORMAT.md's metric example (`r1`, `loss`:
/// 0.5 at step 7) and closed.
fn store_with_the_metric() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let options = runlog::Options::default().auto_compact(None);
    let store = runlog::engine::Store::open_with(dir.path(), options).unwrap();
    let loss = store.metric_handle("r1", "loss").unwrap();
    loss.log_at(Metric {
        value: 0.5,
        timestamp: 1_700_000_000_000,
        step: 7,
    })
    .unwrap();
    store.close().unwrap();
    dir
}

/// FORMAT.md's Chunk example: three points of (`r1`, `loss`).
fn chunk_entry() -> Vec<u8> {
    let t = 1_700_000_000_000;
    let points = [
        Metric {
            value: 0.5,
            timestamp: t,
            step: 0,
        },
        Metric {
            value: 0.25,
            timestamp: t + 1_000,
            step: 1,
        },
        Metric {
            value: 0.125,
            timestamp: t + 2_000,
            step: 2,
        },
    ];
    let mut codec_bytes = Vec::new();
    codec::encode(&points, &mut codec_bytes);
    let header = ChunkHeader {
        run_id: "r1".into(),
        key: "loss".into(),
        first_step: 0,
        last_step: 2,
        latest: points[2],
        min: points[2],
        max: points[0],
        count: 3,
    };
    let mut out = Vec::new();
    encode_frame(&mut out, EntryKind::Chunk, |b| {
        encode_chunk_payload(b, &header, &codec_bytes)
    })
    .unwrap();
    out
}

/// FORMAT.md's Blocks example: the chunk example's points in blocks of 2.
fn blocks_entry() -> Vec<u8> {
    let t = 1_700_000_000_000;
    let p = |value, timestamp, step| Metric {
        value,
        timestamp,
        step,
    };
    let blocks = [
        (p(0.25, t + 1_000, 1), p(0.5, t, 0)),
        (p(0.125, t + 2_000, 2), p(0.125, t + 2_000, 2)),
    ];
    let points = [p(0.5, t, 0), p(0.25, t + 1_000, 1), p(0.125, t + 2_000, 2)];
    assert_eq!(runlog::format::block_extremes(&points, 2), blocks);
    let mut out = Vec::new();
    encode_frame(&mut out, EntryKind::Blocks, |b| {
        runlog::format::encode_blocks_payload(b, 2, &blocks)
    })
    .unwrap();
    out
}

/// The generation compaction writes for the `segment-written` example:
/// the compactor itself, not the encoders.
fn written_generation() -> Vec<u8> {
    let dir = store_with_the_metric();
    runlog::compact::compact(dir.path()).unwrap();
    std::fs::read(runlog::layout::generation_path(dir.path(), 1)).unwrap()
}

/// A block as FORMAT.md writes it, for a drifted block's message.
fn hex_block(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_hex_block_of_the_spec_matches_the_encoder() {
    let blocks = spec_blocks();
    let names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "marker",
            "marker-compacted",
            "marker-models",
            "marker-points",
            "segment-header",
            "create-logged-model",
            "logged-model-metric",
            "series",
            "metric",
            "points",
            "param",
            "seal",
            "segment-written",
            "generation-header",
            "replaces",
            "chunk",
            "blocks",
            "generation-written",
            "manifest"
        ]
    );
    for (name, bytes) in &blocks {
        let want = expected(name);
        assert!(
            *bytes == want,
            "FORMAT.md block {name:?} drifted; the encoder writes:\n{}",
            hex_block(&want)
        );
    }
}

#[test]
fn spec_sizes_match_the_constants() {
    assert_eq!(runlog::format::SEGMENT_HEADER_LEN, 32);
    assert_eq!(runlog::format::STORE_MARKER_LEN, 16);
    assert_eq!(runlog::format::FRAME_HEADER_LEN, 9);
    assert_eq!(runlog::format::METRIC_FRAME_LEN, 37);
    assert_eq!(runlog::format::MAX_PAYLOAD_LEN, 4 * 1024 * 1024);
    assert_eq!(runlog::format::MAX_RECORD_PAYLOAD_LEN, 64 * 1024);
    assert_eq!(runlog::format::MAX_SERIES_PAYLOAD_LEN, 4 * 1024);
    let spec = include_str!("../FORMAT.md");
    assert!(spec.starts_with(&format!(
        "# runlog on-disk format, version {FORMAT_VERSION}"
    )));
    assert!(spec.contains("A Metric entry is 37 bytes with its frame."));
}

#[test]
fn every_kind_is_in_the_spec_table() {
    let spec = include_str!("../FORMAT.md");
    for kind in runlog::format::EntryKind::ALL {
        let row = format!("| {} | {:?} |", *kind as u8, kind);
        assert!(spec.contains(&row), "FORMAT.md lacks the row {row}");
    }
}
