//! Reference curves for the codec's size targets (BENCHMARKS.md): what a
//! training loop logs, generated reproducibly.

use crate::format::Metric;

/// xorshift64* with Box-Muller: reproducible noise without a dependency
/// (seed it with any odd number).
pub struct Noise(pub u64);

impl Noise {
    /// A uniform number in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal number.
    pub fn gaussian(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The curves measured, by name.
pub const CURVES: [&str; 4] = [
    "noisy_loss_f64",
    "loss_f32",
    "accuracy_quantized",
    "lr_schedule",
];

/// `n` points of a named curve: steps 0..n, timestamps of a loop logging
/// 40 steps per millisecond with jitter.
///
/// - `noisy_loss_f64`: `2.5 exp(-s/(n/5)) + 0.05 + N(0, 0.02)` in full f64;
/// - `loss_f32`: the same, rounded to f32 as GPU frameworks report it;
/// - `accuracy_quantized`: a rising accuracy on a 1,000-example evaluation
///   set (multiples of 1/1000), re-measured every step;
/// - `lr_schedule`: a step learning-rate schedule (0.1, halved every n/10).
pub fn curve(name: &str, n: usize) -> Vec<Metric> {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let decay = n as f64 / 5.0;
    let mut ts = 1_700_000_000_000i64;
    (0..n)
        .map(|i| {
            let s = i as f64;
            if noise.uniform() < 1.0 / 40.0 {
                ts += 1;
            }
            let clean = 2.5 * (-s / decay).exp() + 0.05;
            let value = match name {
                "noisy_loss_f64" => clean + 0.02 * noise.gaussian(),
                "loss_f32" => f64::from((clean + 0.02 * noise.gaussian()) as f32),
                "accuracy_quantized" => {
                    let p = 0.95 - 0.85 * (-s / decay).exp();
                    (p * 1000.0 + noise.gaussian() * 3.0)
                        .round()
                        .clamp(0.0, 1000.0)
                        / 1000.0
                }
                _ => 0.1 / f64::from(1u32 << ((i * 10 / n.max(1)) as u32).min(31)),
            };
            Metric {
                value,
                timestamp: ts,
                step: i as i64,
            }
        })
        .collect()
}
