#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The chunk codec: lossless for any points, and within the size targets
//! on the reference curves.

use proptest::prelude::*;
use runlog::curves;
use runlog::format::codec;
use runlog::Metric;

fn bytes_per_point(points: &[Metric]) -> f64 {
    let mut buf = Vec::new();
    codec::encode(points, &mut buf);
    let back = codec::decode(&buf).unwrap();
    assert_eq!(back.len(), points.len());
    for (a, b) in points.iter().zip(&back) {
        assert_eq!(a.value.to_bits(), b.value.to_bits());
        assert_eq!((a.step, a.timestamp), (b.step, b.timestamp));
    }
    buf.len() as f64 / points.len() as f64
}

#[test]
fn reference_curves_meet_the_size_targets() {
    let n = 100_000;
    let noisy = bytes_per_point(&curves::curve("noisy_loss_f64", n));
    let f32_loss = bytes_per_point(&curves::curve("loss_f32", n));
    let quantized = bytes_per_point(&curves::curve("accuracy_quantized", n));
    let schedule = bytes_per_point(&curves::curve("lr_schedule", n));
    println!("noisy {noisy:.2} f32 {f32_loss:.2} quantized {quantized:.2} schedule {schedule:.2}");
    assert!(noisy <= 8.0, "noisy f64 loss: {noisy:.2} bytes per point");
    assert!(f32_loss <= 5.0, "f32 loss: {f32_loss:.2} bytes per point");
    assert!(
        quantized <= 2.0,
        "quantized accuracy: {quantized:.2} bytes per point"
    );
    assert!(
        schedule <= 2.0,
        "lr schedule: {schedule:.2} bytes per point"
    );
}

fn point() -> impl Strategy<Value = Metric> {
    let step = prop_oneof![any::<i64>(), -1000i64..1000];
    let ts = prop_oneof![any::<i64>(), 1_700_000_000_000i64..1_700_000_000_100];
    let value = prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (0u32..8).prop_map(|k| f64::from(k) / 8.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
    ];
    (step, ts, value).prop_map(|(step, timestamp, value)| Metric {
        value,
        timestamp,
        step,
    })
}

proptest! {
    #[test]
    fn any_points_round_trip(points in prop::collection::vec(point(), 0..300)) {
        bytes_per_point(&points);
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = codec::decode(&bytes);
    }
}
