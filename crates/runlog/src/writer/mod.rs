//! The writer: one thread per open store that drains a bounded channel
//! of records into the store's segmented log.
//!
//! - `message`: what logging threads send ([`Msg`]) and how;
//! - `shared`: the state the store, its handles and the thread share
//!   ([`Shared`]: open, full, closed or failed; the clock; counters);
//! - `thread`: the thread's body ([`run`]).

mod message;
mod shared;
mod thread;

pub(crate) use message::{send, try_send, Msg, SeriesDef};
pub(crate) use shared::Shared;
pub use shared::WriterStats;
pub(crate) use thread::{run, WriterSetup};
