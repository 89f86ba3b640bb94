//! MLflow's registry webhooks: `POST /mlflow/webhooks` (create), `GET`
//! (list), `GET|PATCH|DELETE /mlflow/webhooks/{id}`, `POST
//! /mlflow/webhooks/{id}/test`, and the deliveries the registry's changes
//! send (`registered_model.created`, `model_version.created`,
//! `model_version_tag.set|deleted`, `model_version_alias.created|deleted`,
//! and the same for prompts, the registered models tagged
//! `mlflow.prompt.is_prompt`).
//!
//! Webhooks are kept in their own database ([`store`]); URLs must be
//! public unless [`WebhookOptions::allow_private_ips`] says otherwise
//! ([`address`]); deliveries are signed and retried ([`delivery`]) by a
//! pool of threads, never on the request's path. Under sign-in, every
//! webhook endpoint is for admins only (as MLflow's).

mod address;
mod api;
mod change;
mod delivery;
mod event;
mod store;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use runlog::api::error::ApiError;
use runlog::tracking::Client;

pub use api::{create, delete, get, list, test, update};
use change::Delivered;
use delivery::Outcome;
use event::Event;
pub(crate) use runlog::api::Change;
use store::{Webhook, WebhookStore};

/// How webhooks are checked and delivered: MLflow's settings
/// (`MLFLOW_WEBHOOK_*`) where it has them.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// URL schemes a webhook may use (default `https` only; MLflow's
    /// `MLFLOW_WEBHOOK_ALLOWED_SCHEMES`).
    pub allowed_schemes: Vec<String>,
    /// Let webhooks reach loopback, private and link-local addresses
    /// (default false: only public ones; MLflow's
    /// `MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS`). For a receiver on the same
    /// machine or network, in development.
    pub allow_private_ips: bool,
    /// How long one POST may take, connection included (default 30 s).
    pub timeout: Duration,
    /// How many times a 429, a 5xx or a failed connection is tried again
    /// (default 3).
    pub max_retries: u32,
    /// The first wait before trying again, doubled each time (default
    /// 1 s).
    pub backoff: Duration,
    /// Threads that deliver (default 10).
    pub workers: usize,
    /// Deliveries waiting at most; past it an event is dropped, logged
    /// (default 10,000).
    pub queue: usize,
    /// How long the list of webhooks is kept in memory before it is read
    /// again, for changes another server made (default 60 s; changes made
    /// through this server apply at once).
    pub cache_ttl: Duration,
}

impl Default for WebhookOptions {
    fn default() -> WebhookOptions {
        WebhookOptions {
            allowed_schemes: vec!["https".into()],
            allow_private_ips: false,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff: Duration::from_secs(1),
            workers: 10,
            queue: 10_000,
            cache_ttl: Duration::from_secs(60),
        }
    }
}

/// The server's webhooks: their database, a copy of the list, and the
/// delivery pool (started by the first delivery).
pub(crate) struct Webhooks {
    store: WebhookStore,
    options: WebhookOptions,
    sender: Arc<delivery::Sender>,
    listed: Mutex<Option<(Instant, Arc<Vec<Webhook>>)>>,
    queue: OnceLock<crossbeam_channel::Sender<delivery::Job>>,
    /// Deliveries queued or being sent.
    pending: Arc<AtomicUsize>,
}

impl Webhooks {
    /// The webhooks of the store in `dir` (`dir/webhooks.db`).
    pub fn new(dir: &std::path::Path, options: WebhookOptions) -> Webhooks {
        Webhooks {
            store: WebhookStore::new(&dir.join("webhooks.db")),
            sender: Arc::new(delivery::Sender::new(&options)),
            options,
            listed: Mutex::new(None),
            queue: OnceLock::new(),
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Waits until every queued delivery is sent (retries included), or
    /// `deadline` passes; how many were left.
    pub fn finish(&self, deadline: Instant) -> usize {
        loop {
            let left = self.pending.load(Ordering::Acquire);
            if left == 0 || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The active webhooks, from the copy when it is fresh.
    fn active(&self) -> Result<Arc<Vec<Webhook>>, ApiError> {
        let mut listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((when, list)) = listed.as_ref() {
            if when.elapsed() < self.options.cache_ttl {
                return Ok(Arc::clone(list));
            }
        }
        let list: Vec<Webhook> = self
            .store
            .list()?
            .into_iter()
            .filter(|w| w.active)
            .collect();
        let list = Arc::new(list);
        *listed = Some((Instant::now(), Arc::clone(&list)));
        Ok(list)
    }

    /// Forgets the copy of the list (after a change).
    fn changed(&self) {
        *self.listed.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Queues a delivery; a full queue drops it, logged.
    fn enqueue(&self, job: delivery::Job) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = crossbeam_channel::bounded::<delivery::Job>(self.options.queue.max(1));
            for i in 0..self.options.workers.max(1) {
                let rx = rx.clone();
                let sender = Arc::clone(&self.sender);
                let pending = Arc::clone(&self.pending);
                let spawned = std::thread::Builder::new()
                    .name(format!("runlog-webhook-{i}"))
                    .spawn(move || {
                        for job in rx {
                            if let Outcome::Failed(why) = sender.send(&job) {
                                eprintln!(
                                    "runlog server: webhook delivery of {} to {} failed: {why}",
                                    job.event, job.url
                                );
                            }
                            pending.fetch_sub(1, Ordering::AcqRel);
                        }
                    });
                if let Err(e) = spawned {
                    eprintln!("runlog server: cannot start a webhook delivery thread: {e}");
                }
            }
            tx
        });
        self.pending.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = queue.try_send(job) {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            let job = e.into_inner();
            eprintln!(
                "runlog server: {} webhook deliveries are waiting; {} to {} is dropped",
                self.options.queue, job.event, job.url
            );
        }
    }

    /// Sends what `change` means to every active webhook listening to it.
    /// Never fails the request: a database error is logged.
    pub fn notify(&self, client: &Client, change: &Change<'_>) {
        let hooks = match self.active() {
            Ok(h) => h,
            Err(e) => {
                eprintln!("runlog server: webhooks not delivered: {}", e.message);
                return;
            }
        };
        let (plain, prompt) = change.events();
        let listens = |e: Event| hooks.iter().any(|w| w.events.contains(&e));
        if !plain.is_some_and(listens) && !listens(prompt) {
            return;
        }
        // Sent only once the change is on disk: a receiver that reads it
        // back finds it, and a crash cannot take back what it was told.
        if let Err(e) = client.flush() {
            eprintln!("runlog server: webhooks not delivered: {e}");
            return;
        }
        let is_prompt = change.is_prompt(client);
        let event = if is_prompt { Some(prompt) } else { plain };
        let Some(event) = event else { return };
        let data = change.data(is_prompt);
        for w in hooks.iter().filter(|w| w.events.contains(&event)) {
            self.enqueue(delivery::Job {
                url: w.url.clone(),
                secret: w.secret.clone(),
                event,
                data: data.clone(),
            });
        }
    }
}

impl runlog::api::Observer for Webhooks {
    fn registry_changed(&self, client: &Client, change: &Change<'_>) {
        self.notify(client, change);
    }
}
