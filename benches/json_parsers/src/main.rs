//! How long reading one `runs/log-batch` body of 1,000 points takes, into
//! runlog's own message type (`runlog::api::runs::LogBatch`, the same
//! serde impls the server runs), with serde_json (what the server uses),
//! sonic-rs and simd-json. The body is the load generator's
//! (benches/loadgen.rs): MLflow's client's shape. Prints the median and
//! the fastest of `ROUNDS` rounds of `REPEATS` parses, per parser, the
//! parsers alternating within each round.
//!
//! ```text
//! benches/json_parsers.sh
//! ```

use std::time::Instant;

use runlog::api::runs::LogBatch;

const ROUNDS: usize = 21;
const REPEATS: usize = 200;

/// The load generator's body: 1,000 points of one key, 17-digit values,
/// millisecond timestamps.
fn body() -> Vec<u8> {
    let ts = 1_765_000_000_000u64;
    let metrics: Vec<String> = (0..1000u64)
        .map(|s| {
            format!(
                r#"{{"key": "loss", "value": {}, "timestamp": {ts}, "step": {s}}}"#,
                1.0 / (s + 1) as f64
            )
        })
        .collect();
    format!(
        r#"{{"run_id": "0123456789abcdef0123456789abcdef", "metrics": [{}]}}"#,
        metrics.join(",")
    )
    .into_bytes()
}

type Parse = fn(&[u8], &mut Vec<u8>) -> usize;

fn with_serde_json(body: &[u8], _: &mut Vec<u8>) -> usize {
    serde_json::from_slice::<LogBatch>(body).map_or(0, |m| m.metric_count())
}

fn with_sonic_rs(body: &[u8], _: &mut Vec<u8>) -> usize {
    sonic_rs::from_slice::<LogBatch>(body).map_or(0, |m| m.metric_count())
}

/// simd-json parses in place: the copy it needs is counted.
fn with_simd_json(body: &[u8], scratch: &mut Vec<u8>) -> usize {
    scratch.clear();
    scratch.extend_from_slice(body);
    simd_json::serde::from_slice::<LogBatch>(scratch).map_or(0, |m| m.metric_count())
}

fn main() {
    let body = body();
    let parsers: [(&str, Parse); 3] = [
        ("serde_json", with_serde_json),
        ("sonic-rs", with_sonic_rs),
        ("simd-json", with_simd_json),
    ];
    let mut scratch = Vec::new();
    for (name, parse) in parsers {
        assert_eq!(
            parse(&body, &mut scratch),
            1000,
            "{name} did not read the body"
        );
    }
    let mut times = vec![Vec::new(); parsers.len()];
    for _ in 0..ROUNDS {
        for ((_, parse), times) in parsers.iter().zip(&mut times) {
            let started = Instant::now();
            let mut read = 0;
            for _ in 0..REPEATS {
                read += parse(std::hint::black_box(&body), &mut scratch);
            }
            std::hint::black_box(read);
            times.push(started.elapsed().as_secs_f64() * 1e6 / REPEATS as f64);
        }
    }
    println!(
        "one runs/log-batch body of 1,000 points ({} bytes):",
        body.len()
    );
    for ((name, _), mut t) in parsers.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        println!(
            "  {name:<11} median {:>6.1} us  fastest {:>6.1} us  ({:.0} MB/s)",
            t[t.len() / 2],
            t[0],
            body.len() as f64 / t[t.len() / 2]
        );
    }
}
