//! Every record kind survives encode -> frame -> decode unchanged (property
//! tests), and a random mix of records and metric points written through a
//! store replays identically, NaN payloads and infinities included.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use proptest::prelude::*;
use runlog::engine::{Event, Record, Store};
use runlog::format::{decode_frame, Entry, FrameCheck};
use runlog::Metric;
use runlog::{DatasetInput, RunStatus};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_./: -]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(60).collect()),
    ]
}

fn status() -> impl Strategy<Value = RunStatus> {
    prop_oneof![
        Just(RunStatus::Running),
        Just(RunStatus::Scheduled),
        Just(RunStatus::Finished),
        Just(RunStatus::Failed),
        Just(RunStatus::Killed),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    let t = any::<i64>;
    prop_oneof![
        (text(), text(), text()).prop_map(|(run_id, key, value)| Record::Param {
            run_id,
            key,
            value
        }),
        (text(), text(), text()).prop_map(|(run_id, key, value)| Record::SetTag {
            run_id,
            key,
            value
        }),
        (text(), text()).prop_map(|(run_id, key)| Record::DeleteTag { run_id, key }),
        (text(), text(), text(), text(), t()).prop_map(
            |(run_id, experiment_id, run_name, user_id, start_time)| {
                Record::CreateRun {
                    run_id,
                    experiment_id,
                    run_name,
                    user_id,
                    start_time,
                }
            }
        ),
        (text(), status(), t()).prop_map(|(run_id, status, time)| Record::UpdateRunStatus {
            run_id,
            status,
            time
        }),
        (text(), status(), t()).prop_map(|(run_id, status, end_time)| Record::EndRun {
            run_id,
            status,
            end_time
        }),
        (text(), text()).prop_map(|(run_id, run_name)| Record::RenameRun { run_id, run_name }),
        (text(), t()).prop_map(|(run_id, time)| Record::DeleteRun { run_id, time }),
        (text(), t()).prop_map(|(run_id, time)| Record::RestoreRun { run_id, time }),
        (text(), text(), text(), t()).prop_map(
            |(experiment_id, name, artifact_location, creation_time)| {
                Record::CreateExperiment {
                    experiment_id,
                    name,
                    artifact_location,
                    creation_time,
                }
            }
        ),
        (text(), text(), t()).prop_map(|(experiment_id, name, time)| Record::RenameExperiment {
            experiment_id,
            name,
            time
        }),
        (text(), t()).prop_map(|(experiment_id, time)| Record::DeleteExperiment {
            experiment_id,
            time
        }),
        (text(), t()).prop_map(|(experiment_id, time)| Record::RestoreExperiment {
            experiment_id,
            time
        }),
        (text(), text(), text()).prop_map(|(experiment_id, key, value)| Record::SetExperimentTag {
            experiment_id,
            key,
            value
        }),
        (text(), text())
            .prop_map(|(experiment_id, key)| Record::DeleteExperimentTag { experiment_id, key }),
        (
            text(),
            (text(), text(), text(), text()),
            (proptest::option::of(text()), proptest::option::of(text())),
            proptest::collection::vec((text(), text()), 0..4)
        )
            .prop_map(
                |(run_id, (name, digest, source_type, source), (schema, profile), tags)| {
                    Record::LogInput {
                        run_id,
                        input: Box::new(DatasetInput {
                            name,
                            digest,
                            source_type,
                            source,
                            schema,
                            profile,
                            tags,
                        }),
                    }
                }
            ),
    ]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        any::<f64>(),
    ]
}

/// Frames one entry, checks the frame, decodes it, and returns the bytes.
fn through_frame(entry: &Entry<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    entry.encode(&mut buf).unwrap();
    buf
}

proptest! {
    #[test]
    fn every_record_kind_round_trips(rec in record()) {
        let borrowed = Entry::Record(rec.as_borrowed());
        let buf = through_frame(&borrowed);
        let FrameCheck::Valid { kind, payload, end } = decode_frame(&buf, 0) else {
            panic!("frame invalid");
        };
        prop_assert_eq!(end, buf.len());
        let Entry::Record(back) = Entry::decode(kind, payload).unwrap() else { panic!("not a record") };
        prop_assert_eq!(back.to_owned_record(), rec);
    }

    #[test]
    fn metric_points_round_trip_bit_for_bit(series in any::<u32>(), value in any_f64(), timestamp in any::<i64>(), step in any::<i64>()) {
        let buf = through_frame(&Entry::Metric { series, metric: Metric { value, timestamp, step } });
        prop_assert_eq!(buf.len(), runlog::format::METRIC_FRAME_LEN);
        let FrameCheck::Valid { kind, payload, .. } = decode_frame(&buf, 0) else { panic!("invalid") };
        let Entry::Metric { series: s, metric: q } = Entry::decode(kind, payload).unwrap() else { panic!("not a metric") };
        prop_assert_eq!(q.value.to_bits(), value.to_bits());
        prop_assert_eq!((s, q.timestamp, q.step), (series, timestamp, step));
    }

    #[test]
    fn truncated_or_extended_frames_never_decode(rec in record(), cut in 1usize..64) {
        let buf = through_frame(&Entry::Record(rec.as_borrowed()));
        let short = &buf[..buf.len().saturating_sub(cut)];
        let valid = matches!(decode_frame(short, 0), FrameCheck::Valid { .. });
        prop_assert!(!valid);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Point {
        run: u8,
        key: u8,
        value: f64,
        step: i64,
        timestamp: i64,
    },
    Rec(Record),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, 0u8..4, any_f64(), any::<i64>(), any::<i64>())
            .prop_map(|(run, key, value, step, timestamp)| Op::Point { run, key, value, step, timestamp }),
        1 => record().prop_map(Op::Rec),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_random_mix_written_through_a_store_replays_identically(ops in proptest::collection::vec(op(), 1..300), small in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let mut options = runlog::Options::default();
        if small {
            // Many rotations; no compaction, which regroups points by series.
            options = options.segment_size(4096).auto_compact(None);
        }
        let store = Store::open_with(dir.path(), options).unwrap();
        for op in &ops {
            match op {
                Op::Point { run, key, value, step, timestamp } => store
                    .log_metric(&format!("run{run}"), &format!("key{key}"), Metric { value: *value, timestamp: *timestamp, step: *step })
                    .unwrap(),
                Op::Rec(r) => store.append(r).unwrap(),
            }
        }
        store.close().unwrap();
        let mut replay = runlog::engine::Replay::open(dir.path()).unwrap();
        for op in &ops {
            let got = replay.next().expect("an event per op").unwrap().event;
            match (op, got) {
                (Op::Point { run, key, value, step, timestamp }, Event::Metric { run_id, key: k, value: v, timestamp: t, step: s }) => {
                    prop_assert_eq!(&*run_id, format!("run{run}"));
                    prop_assert_eq!(&*k, format!("key{key}"));
                    prop_assert_eq!(v.to_bits(), value.to_bits());
                    prop_assert_eq!((s, t), (*step, *timestamp));
                }
                (Op::Rec(r), Event::Record(back)) => prop_assert_eq!(&back, r),
                (op, got) => panic!("expected {op:?}, replayed {got:?}"),
            }
        }
        prop_assert!(replay.next().is_none());
    }
}

#[test]
fn oversized_records_are_refused_before_they_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Over the bound of a tag entry (64 KiB), though under the largest bound.
    let huge = "x".repeat(runlog::format::MAX_RECORD_PAYLOAD_LEN);
    let err = store
        .append(&Record::SetTag {
            run_id: "r",
            key: "k",
            value: huge.as_str(),
        })
        .unwrap_err();
    assert!(
        matches!(err, runlog::engine::LogError::InvalidRecord(_)),
        "{err}"
    );
    store
        .append(&Record::SetTag {
            run_id: "r",
            key: "k",
            value: "ok",
        })
        .unwrap();
    // A run id and key too long for a series entry: refused at the call,
    // never a failure of the writer.
    let long_key = "k".repeat(5000);
    let err = store.metric_handle("r", &long_key).err().unwrap();
    assert!(
        matches!(err, runlog::engine::LogError::InvalidRecord(_)),
        "{err}"
    );
    assert!(store
        .log_metric(
            "r",
            &long_key,
            Metric {
                value: 1.0,
                timestamp: 0,
                step: 0
            }
        )
        .is_err());
    store
        .log_metric(
            "r",
            "fine",
            Metric {
                value: 1.0,
                timestamp: 0,
                step: 0,
            },
        )
        .unwrap();
    store.close().unwrap();
    assert_eq!(common::replay_all(dir.path()).len(), 2);
}
