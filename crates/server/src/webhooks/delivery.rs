//! Sending an event to a webhook, as MLflow's server sends it: a POST of
//! `{"entity", "action", "timestamp", "data"}` with a delivery id, a Unix
//! timestamp and, when the webhook has a secret, an HMAC-SHA256 signature
//! of `"{delivery id}.{timestamp}.{body}"` (`X-MLflow-Signature:
//! v1,<base64>`), so that a receiver can check who sent it and refuse a
//! replay. A 429 or 5xx answer, or a failed connection, is tried again
//! after 1 s, 2 s, 4 s ... (or the `Retry-After` it asks for, at most a
//! minute), up to `max_retries` times, with the same delivery id.
//!
//! Events are delivered by a pool of threads fed by a bounded queue: a
//! registry request never waits on a receiver, and a slow receiver costs
//! at most the queue's memory (a full queue drops the event, logged).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::webhooks::address::PublicOnly;
use crate::webhooks::event::Event;
use crate::webhooks::WebhookOptions;

/// What one delivery is: where, signed with what, which event, its data.
#[derive(Debug, Clone)]
pub struct Job {
    /// The webhook's URL.
    pub url: String,
    /// Its secret, if any.
    pub secret: Option<String>,
    /// The event.
    pub event: Event,
    /// The event's data.
    pub data: Value,
}

/// How a delivery ended: the receiver's last answer, or why there was
/// none.
#[derive(Debug)]
pub enum Outcome {
    /// The receiver answered (after any retries).
    Answered {
        /// Its HTTP status.
        status: u16,
        /// Its body (at most [`MAX_ANSWER_BYTES`], as text).
        body: String,
    },
    /// No answer: the connection was refused, blocked or timed out.
    Failed(String),
}

/// The most of a receiver's answer that is read (`webhooks/{id}/test`
/// shows it).
pub const MAX_ANSWER_BYTES: u64 = 64 << 10;

/// What sends: an HTTP agent that connects only to public addresses
/// (unless allowed otherwise) and follows no redirect.
pub struct Sender {
    agent: ureq::Agent,
    options: WebhookOptions,
}

impl Sender {
    /// A sender with `options`' timeout, retries and address rule.
    pub fn new(options: &WebhookOptions) -> Sender {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .max_redirects(0)
            // A proxy from the environment would be the peer checked, not
            // the receiver: none.
            .proxy(None)
            .user_agent(concat!("runlog/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = if options.allow_private_ips {
            ureq::Agent::new_with_config(config)
        } else {
            ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                PublicOnly::default(),
            )
        };
        Sender {
            agent,
            options: options.clone(),
        }
    }

    /// Sends `job`, retrying as the module says.
    pub fn send(&self, job: &Job) -> Outcome {
        let body = json!({
            "entity": job.event.entity.name(),
            "action": job.event.action.name(),
            "timestamp": iso_utc(SystemTime::now()),
            "data": job.data,
        })
        .to_string();
        let delivery_id = uuid4();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let signature = job
            .secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|secret| sign(secret, &delivery_id, &unix, &body));
        let mut attempt = 0u32;
        loop {
            let mut request = self
                .agent
                .post(&job.url)
                .header("Content-Type", "application/json")
                .header("X-MLflow-Delivery-Id", &delivery_id)
                .header("X-MLflow-Timestamp", &unix);
            if let Some(sig) = &signature {
                request = request.header("X-MLflow-Signature", sig);
            }
            let (outcome, retry_after) = match request.send(body.as_bytes()) {
                Ok(mut answer) => {
                    let status = answer.status().as_u16();
                    let wait = answer
                        .headers()
                        .get("Retry-After")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = answer
                        .body_mut()
                        .with_config()
                        .limit(MAX_ANSWER_BYTES)
                        .read_to_string()
                        .unwrap_or_default();
                    let again = matches!(status, 429 | 500 | 502 | 503 | 504);
                    (
                        Outcome::Answered { status, body: text },
                        again.then_some(wait),
                    )
                }
                Err(e) => {
                    let blocked = matches!(&e, ureq::Error::Io(io)
                        if io.kind() == std::io::ErrorKind::PermissionDenied);
                    let failed = Outcome::Failed(format!("{e}"));
                    (failed, (!blocked).then_some(None))
                }
            };
            match retry_after {
                Some(asked) if attempt < self.options.max_retries => {
                    std::thread::sleep(self.backoff(attempt, asked));
                    attempt += 1;
                }
                _ => return outcome,
            }
        }
    }

    /// The wait before retry `attempt` (0: the first): what the receiver
    /// asked, else the base doubled each time, at most a minute.
    fn backoff(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        const MAX: Duration = Duration::from_secs(60);
        asked
            .unwrap_or_else(|| self.options.backoff.saturating_mul(1 << attempt.min(16)))
            .min(MAX)
    }
}

/// `v1,<base64 of HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.
pub fn sign(secret: &str, delivery_id: &str, timestamp: &str, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes a key of any length.
        Err(_) => return String::new(),
    };
    mac.update(delivery_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A random (version 4) UUID, as text.
pub fn uuid4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No system randomness: unique enough from the clock and a count.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b[..8].copy_from_slice(&nanos.to_le_bytes());
        b[8..].copy_from_slice(&COUNT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A time as ISO 8601 in UTC with microseconds
/// (`2026-12-06T15:39:19.546330+00:00`, as MLflow writes it).
pub fn iso_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = runlog::calendar::civil_date(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_id_timestamp_and_body() {
        // Python: base64(hmac.new(b"key", b"The quick brown fox.jumps
        // over.the lazy dog", sha256).digest()).
        assert_eq!(
            sign("key", "The quick brown fox", "jumps over", "the lazy dog"),
            "v1,zqZ4BHIaZqLRQV6djjE8NInd5Cji4Xmc/TDceY6qA0Y="
        );
        assert_ne!(
            sign("other", "The quick brown fox", "jumps over", "the lazy dog"),
            sign("key", "The quick brown fox", "jumps over", "the lazy dog")
        );
    }

    #[test]
    fn times_and_ids_are_formatted_as_mlflow_formats_them() {
        let t = UNIX_EPOCH + Duration::from_micros(1_796_571_559_546_330);
        assert_eq!(iso_utc(t), "2026-12-06T15:39:19.546330+00:00");
        assert_eq!(iso_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000000+00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(iso_utc(leap).starts_with("2000-02-29T00:00:00"));
        let id = uuid4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid4());
    }
}
