//! The index of metric histories and its one query plan: the chunk index
//! of each generation ([`chunks`]), the live tail of points not compacted
//! yet ([`tail`]), the query ([`query`]), the plan that picks the pieces of
//! a (runs, key, step range, time range, point budget) query and builds
//! the series from them ([`plan`]), the decoder that lays chunks down
//! straight into the result ([`decode`]: its `unsafe` writes a vector's
//! spare capacity from several threads), and the streamed history
//! ([`stream`]).
//!
//! The tracking client gathers the inputs from its view of the store and
//! calls [`plan`]; `get_metric_history`, `metric_history_iter`, the
//! downsampled series for plots and the server all go through it.

pub mod chunks;
pub(crate) mod decode;
pub(crate) mod plan;
pub mod query;
pub mod stream;
pub(crate) mod tail;

pub use chunks::{ChunkIndex, ChunkRef};
pub use plan::downsample;
pub use query::HistoryQuery;
pub use stream::MetricHistoryIter;
