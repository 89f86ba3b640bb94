//! The index of metric histories and its one query plan: the chunk index
//! of each generation (`chunks.rs`), the live tail of points not compacted
//! yet (`tail.rs`), the query (`query.rs`), the plan that picks the pieces of
//! a (runs, key, step range, time range, point budget) query and builds
//! the series from them (`plan.rs`), the decoder that lays chunks down
//! straight into the result (`decode.rs`: its `unsafe` writes a vector's
//! spare capacity from several threads), and the streamed history
//! (`stream.rs`).
//!
//! The tracking client gathers the inputs from its view of the store and
//! calls `plan.rs`; `get_metric_history`, `metric_history_iter`, the
//! downsampled series for plots and the server all go through it.

pub mod chunks;
pub(crate) mod decode;
mod extremes;
pub(crate) mod plan;
pub mod query;
pub mod stream;
pub(crate) mod tail;

pub use chunks::{ChunkIndex, ChunkRef};
pub use plan::downsample;
pub use query::HistoryQuery;
pub use stream::MetricHistoryIter;
