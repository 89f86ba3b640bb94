//! The fluent API across `fork()`: a child has none of its parent's
//! threads, so it must not use the parent's clients (their writer threads,
//! background syncs and locks are the parent's). Python's `os.register_at_fork`
//! calls these hooks (the `python/` package); a Rust program that forks
//! and goes on logging in the child may call them the same way.

use std::cell::RefCell;
use std::path::PathBuf;

use crate::tracking::client::Client;
use crate::uri::is_server_uri;

use super::{fluent, Fluent, HANDLES, STACK};

thread_local! {
    /// The fluent state's lock, held by the thread that forks across
    /// `fork()` ([`before_fork`]), so that no other thread holds it then.
    static FORK_GUARD: RefCell<Option<std::sync::MutexGuard<'static, Fluent>>> =
        const { RefCell::new(None) };
}

/// Before `fork()` (Python's `os.register_at_fork(before=...)`): takes the
/// fluent API's lock, so that the child does not inherit it held by a
/// thread it does not have. Then [`after_fork_in_parent`] or
/// [`after_fork_in_child`], on the same thread.
pub fn before_fork() {
    let guard = fluent();
    FORK_GUARD.with(|g| *g.borrow_mut() = Some(guard));
}

/// In the parent after `fork()`: releases the lock [`before_fork`] took.
pub fn after_fork_in_parent() {
    FORK_GUARD.with(|g| drop(g.borrow_mut().take()));
}

/// In the child after `fork()`: the parent's clients and their writer
/// threads are not in this process. They are forgotten, not closed (their
/// threads cannot be joined), and each store is opened again on first use,
/// in a lane of the child's own; this thread's active runs stay active, on
/// the reopened clients.
pub fn after_fork_in_child() {
    let mut state = match FORK_GUARD.with(|g| g.borrow_mut().take()) {
        Some(guard) => guard,
        None => fluent(),
    };
    std::mem::forget(std::mem::take(&mut state.clients));
    std::mem::forget(state.last_active.take());
    let open = std::mem::take(&mut state.open_runs);
    drop(state);
    HANDLES.with(|h| std::mem::forget(std::mem::take(&mut *h.borrow_mut())));
    let mut reopened: Vec<(String, Client)> = Vec::new();
    let mut mine: Vec<(Client, String)> = Vec::new();
    STACK.with(|s| {
        for entry in s.borrow_mut().iter_mut() {
            // The parent's sampling thread is not in the child.
            super::system::abandon_monitor(&mut entry.monitor);
            let uri = entry.client.tracking_uri().to_owned();
            let fresh = match reopened.iter().find(|(u, _)| *u == uri) {
                Some((_, c)) => Some(c.clone()),
                None => crate::tracking::Client::new(&uri).ok(),
            };
            if let Some(c) = fresh {
                reopened.push((uri, c.clone()));
                mine.push((c.clone(), entry.run_id.clone()));
                std::mem::forget(std::mem::replace(&mut entry.client, c));
            }
        }
    });
    let mut state = fluent();
    for (uri, c) in reopened {
        let key = match is_server_uri(&uri) {
            true => PathBuf::from(uri.trim_end_matches('/')),
            false => c.store_dir().to_owned(),
        };
        if !state.clients.iter().any(|(k, _)| *k == key) {
            state.clients.push((key, c));
        }
    }
    // This thread's open runs, on their new clients; those of the
    // parent's other threads are the parent's to end.
    for (client, id) in open {
        if let Some(found) = mine.iter().find(|(_, m)| *m == id) {
            state.open_runs.push(found.clone());
        }
        std::mem::forget(client);
    }
}
