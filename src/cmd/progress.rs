//! Progress bars on standard error for long store work (`indicatif`):
//! drawn only when standard error is a terminal, so pipes, files and tests
//! see nothing of them.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `total` bytes (`bytes`) or files.
pub(crate) fn bar(message: &'static str, total: u64, bytes: bool) -> ProgressBar {
    let template = if bytes {
        "{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({elapsed}, {eta} left)"
    } else {
        "{msg:>10} [{bar:40}] {pos}/{len} files ({elapsed}, {eta} left)"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        .with_style(style)
        .with_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A spinner counting `unit`s, for work whose size is not known up front.
pub(crate) fn counter(message: &'static str, unit: &'static str) -> ProgressBar {
    let template = format!("{{spinner}} {{msg}} {{human_pos}} {unit} ({{elapsed}}, {{per_sec}})");
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_style(style)
        .with_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `runlog::engine::verify` with a bar over the files it checks.
pub(crate) fn verified(
    store: &std::path::Path,
) -> Result<runlog::engine::ReplayReport, runlog::engine::StorageError> {
    let bar = bar("verifying", 0, false);
    let result = runlog::engine::verify_with_progress(store, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    result
}
