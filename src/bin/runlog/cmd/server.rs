//! `runlog server`: the store behind MLflow's REST API (and the dashboard)
//! until a signal; `runlog ui`: the same on loopback, for a browser.

use std::io::Write;
use std::path::Path;

use runlog::server::{Server, ServerOptions};

use super::CliError;
use crate::args::ServerArgs;
use crate::Outcome;

pub(crate) fn run(store: &Path, args: &ServerArgs) -> Result<Outcome, CliError> {
    let uri = match &args.backend_store_uri {
        Some(uri) => runlog::store_path(uri)?.display().to_string(),
        None => store.display().to_string(),
    };
    let mut options = ServerOptions::new(uri.clone());
    options.host = args.host.clone();
    options.port = args.port;
    options.serve_artifacts = !args.no_serve_artifacts;
    options.artifacts_destination = args.artifacts_destination.clone();
    options.workers = args.workers;
    options.max_request_bytes = args.max_request_bytes;
    let server = Server::bind(options)?;
    let addr = server.local_addr();
    // The one line scripts wait for: the address, once it takes connections.
    println!("runlog server: listening on http://{addr} (store {uri})");
    std::io::stdout().flush()?;
    server.run_until_signal()?;
    eprintln!("runlog server: stopped; everything acknowledged is on disk");
    Ok(Outcome::Ok)
}

/// `runlog ui`: the server on 127.0.0.1, and the address to open.
pub(crate) fn ui(store: &Path, port: u16) -> Result<Outcome, CliError> {
    let uri = store.display().to_string();
    let mut options = ServerOptions::new(uri.clone());
    options.host = "127.0.0.1".into();
    options.port = port;
    let server = Server::bind(options)?;
    let addr = server.local_addr();
    println!("runlog ui: open http://{addr}/ in a browser (store {uri}; Ctrl-C stops)");
    if !runlog::server::has_charts() {
        eprintln!(
            "runlog ui: this build has no charting library (npm was missing when it was built): \
             tables only"
        );
    }
    std::io::stdout().flush()?;
    server.run_until_signal()?;
    eprintln!("runlog ui: stopped");
    Ok(Outcome::Ok)
}
