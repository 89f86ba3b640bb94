//! Arbitrary bytes as a compacted store's generation file (after a valid
//! header): replay, verify, the tracking client's chunk index, history and
//! downsampled history (chunks' and Blocks entries' extremes), and the
//! rebuild of a lost manifest from the generation must never panic; damage
//! is a typed error or a reported range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runlog::layout::{generation_path, manifest_path};
use runlog::log::manifest::{GenerationEntry, Manifest};
use runlog::format::{GenerationHeader, StoreMarker, GENERATION_VERSION, STORE_VERSION_COMPACTED};
use runlog::Client;
use runlog::engine::{Event, Replay};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path();
    std::fs::create_dir_all(store.join("compact")).expect("mkdir");
    std::fs::write(
        store.join("RUNLOG"),
        StoreMarker { version: STORE_VERSION_COMPACTED }.encode(),
    )
    .expect("marker");
    let manifest = Manifest {
        generations: vec![GenerationEntry { number: 1, segments: vec![] }],
        rebuilt: None,
    };
    std::fs::write(manifest_path(store), manifest.encode()).expect("manifest");
    // The first byte chooses: even, a valid header and then the rest;
    // odd, the rest alone (the header's damage is then read past).
    let Some((flag, body)) = data.split_first() else {
        return;
    };
    let mut file = Vec::new();
    if flag & 1 == 0 {
        file.extend_from_slice(
            &GenerationHeader { version: GENERATION_VERSION, generation: 1 }.encode(),
        );
    }
    file.extend_from_slice(body);
    std::fs::write(generation_path(store, 1), &file).expect("generation");

    let mut runs = Vec::new();
    if let Ok(replay) = Replay::open(store) {
        for item in replay.take(100_000) {
            if let Ok(r) = item {
                if let Event::Metric { run_id, key, .. } = r.event {
                    if runs.len() < 4 {
                        runs.push((run_id.to_string(), key.to_string()));
                    }
                }
            }
        }
    }
    let _ = runlog::engine::verify(store);
    if let Ok(client) = Client::builder().store(store).read_only().open() {
        for (run, key) in &runs {
            let _ = client.get_metric_history(run, key);
            // Downsampled: the chunks' and Blocks entries' stored extremes.
            for points in [4, 40] {
                let plot = runlog::HistoryQuery::new().max_points(points);
                let _ = client.metric_history(run, key, &plot);
            }
            if let Ok(stream) = client.metric_history_iter(run, key, &runlog::HistoryQuery::new()) {
                for _ in stream.take(100_000) {}
            }
        }
    }
    // The manifest lost: rebuilt from this generation, or refused.
    std::fs::remove_file(manifest_path(store)).expect("rm manifest");
    let _ = Manifest::load(store);
    let _ = runlog::engine::verify(store);
});
