//! Arbitrary text as a search filter and as an order_by item: parsing never
//! panics; a filter that parses is checked and evaluated against a sample
//! run without panicking; errors name a position inside the text (or just
//! past its end).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use runlog::tracking::filter::{parse_filter, parse_order_by, RunFilter};
use runlog::{Error, Run};

fn sample_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let json = r#"{
            "info": {"run_id": "abc", "run_name": "brave-owl-1", "experiment_id": "0",
                     "user_id": "me", "status": "FINISHED", "start_time": 5, "end_time": 9,
                     "artifact_uri": "file:///a", "lifecycle_stage": "active"},
            "data": {"metrics": {"loss": {"value": 0.5, "timestamp": 1, "step": 2}},
                     "params": {"lr": "0.01"}, "tags": {"mlflow.runName": "brave-owl-1"}},
            "inputs": [{"name": "wine", "digest": "d", "source_type": "local", "source": "{}",
                        "schema": null, "profile": null,
                        "tags": [["mlflow.data.context", "train"]]}]
        }"#;
        serde_json::from_str(json).expect("sample run")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let chars = text.chars().count();
    match parse_filter(text) {
        Ok(clauses) => {
            for c in &clauses {
                assert!(c.position >= 1 && c.position <= chars);
            }
        }
        Err(Error::InvalidFilter { position, .. }) => assert!(position >= 1 && position <= chars + 1),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
    if let Ok(filter) = RunFilter::parse(text) {
        let _ = filter.matches(sample_run());
    }
    let _ = parse_order_by(text);
});
