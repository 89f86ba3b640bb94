//! `runlog server`: the store behind MLflow's REST API (and the dashboard)
//! until a signal; `runlog ui`: the same on loopback, for a browser.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use runlog_server::{AuthOptions, BrowserSecurity, Limits, Server, ServerOptions, TlsFiles};

use super::CliError;
use crate::args::{SafetyArgs, ServerArgs, WebhookArgs};
use crate::Outcome;

pub(crate) fn run(store: &Path, args: &ServerArgs) -> Result<Outcome, CliError> {
    let uri = match &args.backend_store_uri {
        Some(uri) => runlog::uri::store_path(uri)?.display().to_string(),
        None => store.display().to_string(),
    };
    let mut options = ServerOptions::new(uri.clone());
    options.host = args.host.clone();
    options.port = args.port;
    options.serve_artifacts = !args.no_serve_artifacts;
    options.artifacts_destination = args.artifacts_destination.clone();
    options.workers = args.workers;
    options.max_request_bytes = args.max_request_bytes;
    apply_safety(&mut options, &args.safety);
    apply_webhooks(&mut options, &args.webhooks);
    if args.app_name.is_some() {
        options.auth = Some(AuthOptions::from_env()?);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        options.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if let Some(dir) = &args.mlflow_ui {
        options.mlflow_ui = Some(runlog_server::locate_mlflow_ui(dir.as_deref(), None)?);
    }
    let exposure = exposure_note(&options);
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let ui = options.mlflow_ui.clone();
    let server = Server::bind(options)?;
    let addr = server.local_addr();
    if let Some(note) = exposure {
        eprintln!("{note}");
    }
    // The one line scripts wait for: the address, once it takes connections.
    println!("runlog server: listening on {scheme}://{addr} (store {uri})");
    if let Some(dir) = &ui {
        eprintln!(
            "runlog server: MLflow's UI (from {}) at {scheme}://{addr}/, runlog's dashboard at \
             {scheme}://{addr}/runlog/",
            dir.display()
        );
    }
    std::io::stdout().flush()?;
    server.run_until_signal()?;
    eprintln!("runlog server: stopped; everything acknowledged is on disk");
    Ok(Outcome::Ok)
}

/// The webhook settings of the command line.
fn apply_webhooks(options: &mut ServerOptions, args: &WebhookArgs) {
    let w = &mut options.webhooks;
    w.allowed_schemes = args
        .webhook_allowed_schemes
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    w.allow_private_ips = args.webhook_allow_private_ips;
    w.timeout = Duration::from_secs(args.webhook_timeout);
    w.max_retries = args.webhook_max_retries;
    w.workers = args.webhook_workers as usize;
    w.cache_ttl = Duration::from_secs(args.webhook_cache_ttl);
}

/// The browser-safety settings and limits of the command line.
fn apply_safety(options: &mut ServerOptions, args: &SafetyArgs) {
    let list = |items: &[String]| -> Vec<String> {
        items
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    options.security = BrowserSecurity {
        allowed_hosts: list(&args.allowed_hosts),
        cors_allowed_origins: list(&args.cors_allowed_origins),
        x_frame_options: args.x_frame_options.clone(),
        disabled: args.disable_security_middleware,
    };
    options.limits = Limits {
        max_connections: args.max_connections,
        max_streams: args.max_streams,
        header_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
    };
}

/// What a server listening beyond loopback exposes, and how to narrow it.
fn exposure_note(options: &ServerOptions) -> Option<String> {
    let loopback = match options.host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => options.host == "localhost",
    };
    if loopback {
        return None;
    }
    let who = match options.auth {
        Some(_) => "signed-in users (--app-name basic-auth), by their permissions",
        None => "ANYONE who can reach this address, without signing in",
    };
    let wire = match options.tls {
        Some(_) => "over TLS",
        None => "in clear text (no --tls-cert)",
    };
    Some(format!(
        "runlog server: listening on {} beyond loopback: every experiment, run and artifact can \
         be read and changed by {who}, {wire}. Requests must name this machine by a loopback or \
         private address or by --host; add names with --allowed-hosts. To restrict: --host \
         127.0.0.1, --app-name basic-auth, --tls-cert/--tls-key.",
        options.host
    ))
}

/// `runlog ui`: the server on 127.0.0.1, and the address to open.
pub(crate) fn ui(store: &Path, port: u16, safety: &SafetyArgs) -> Result<Outcome, CliError> {
    let uri = store.display().to_string();
    let mut options = ServerOptions::new(uri.clone());
    options.host = "127.0.0.1".into();
    options.port = port;
    apply_safety(&mut options, safety);
    let server = Server::bind(options)?;
    let addr = server.local_addr();
    println!("runlog ui: open http://{addr}/ in a browser (store {uri}; Ctrl-C stops)");
    if !runlog_server::has_charts() {
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
