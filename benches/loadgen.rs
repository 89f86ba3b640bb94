//! A load generator for MLflow tracking servers (`runlog server` and
//! `mlflow server` alike): prebuilt request bodies sent over many
//! keep-alive connections by plain threads on raw HTTP/1.1, so that the
//! client is not the bottleneck. Prints one line per run: requests/s,
//! points/s, p50/p99 latency.
//!
//! ```text
//! runlog-loadgen --url http://127.0.0.1:5000 --op log-batch --connections 16 --seconds 5
//! runlog-loadgen --url http://127.0.0.1:5000 --op log-batch --connections 16 --rate 1000
//! runlog-loadgen --op null-server --port 5099   # answers {} to everything (the client's ceiling)
//! ```
//! Without `--rate`, each connection sends its next request as soon as the
//! last is answered (a closed loop: the server's capacity; by Little's law
//! the mean latency is then `connections / throughput`). With `--rate R`,
//! the connections together offer `R` requests a second on a fixed
//! schedule (connection `i` sends at `(k * connections + i) / R`), and a
//! request's latency counts from when it was due, not from when it went
//! out, so that a server that falls behind is not excused by the client
//! waiting for it (coordinated omission).
//! Ops: `log-batch` (1,000 points a request), `log-metric`, `get-history`
//! (of 100,000 points), `search` (over 1,000 runs), `null-server`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// One keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Conn {
    fn open(host: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(host)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            host: host.to_owned(),
        })
    }

    /// Sends a request and reads the whole answer: status and body.
    fn call(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        // `$RUNLOG_LOADGEN_AUTH`: an Authorization header value, for a
        // server with sign-in.
        let auth = std::env::var("RUNLOG_LOADGEN_AUTH")
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            self.host,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.writer.write_all(&request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..size]);
            }
        } else {
            out.resize(length, 0);
            self.reader.read_exact(&mut out)?;
        }
        Ok((status, out))
    }

    fn json(&mut self, method: &str, path: &str, body: &str) -> serde_json::Value {
        let (status, answer) = self
            .call(method, path, body.as_bytes())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = String::from_utf8_lossy(&answer);
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

const API: &str = "/api/2.0/mlflow";

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn new_run(c: &mut Conn, experiment: &str) -> String {
    let body = format!(
        r#"{{"experiment_id": "{experiment}", "start_time": {}}}"#,
        now_ms()
    );
    c.json("POST", &format!("{API}/runs/create"), &body)["run"]["info"]["run_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn batch_body(run: &str, first_step: u64, n: u64) -> String {
    let ts = now_ms();
    let metrics: Vec<String> = (first_step..first_step + n)
        .map(|s| {
            format!(
                r#"{{"key": "loss", "value": {}, "timestamp": {ts}, "step": {s}}}"#,
                1.0 / (s + 1) as f64
            )
        })
        .collect();
    format!(
        r#"{{"run_id": "{run}", "metrics": [{}]}}"#,
        metrics.join(",")
    )
}

/// What each connection sends: (method, path, bodies to cycle through),
/// and how many points one request carries.
fn prepare(host: &str, op: &str, connections: usize) -> (String, String, Vec<Vec<String>>, u64) {
    let mut c = Conn::open(host).expect("connect");
    let name = format!("loadgen-{op}-{}", now_ms());
    let experiment = c.json(
        "POST",
        &format!("{API}/experiments/create"),
        &format!(r#"{{"name": "{name}"}}"#),
    )["experiment_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match op {
        "log-batch" | "log-metric" => {
            // One run per connection, as training jobs log.
            let bodies = (0..connections)
                .map(|_| {
                    let run = new_run(&mut c, &experiment);
                    (0..64u64)
                        .map(|i| {
                            if op == "log-batch" {
                                batch_body(&run, i * 1000, 1000)
                            } else {
                                format!(r#"{{"run_id": "{run}", "key": "loss", "value": 0.5, "timestamp": {}, "step": {i}}}"#, now_ms())
                            }
                        })
                        .collect()
                })
                .collect();
            let points = if op == "log-batch" { 1000 } else { 1 };
            let path = if op == "log-batch" {
                "runs/log-batch"
            } else {
                "runs/log-metric"
            };
            ("POST".into(), format!("{API}/{path}"), bodies, points)
        }
        "get-history" => {
            let run = new_run(&mut c, &experiment);
            for i in 0..100 {
                c.json(
                    "POST",
                    &format!("{API}/runs/log-batch"),
                    &batch_body(&run, i * 1000, 1000),
                );
            }
            let path =
                format!("{API}/metrics/get-history?run_id={run}&metric_key=loss&max_results=25000");
            // Pages of 25,000 as MLflow's client asks; a request reads one page.
            let mut tokens = vec![String::new()];
            let mut next = String::new();
            loop {
                let page = c.json("GET", &format!("{path}{next}"), "");
                match page["next_page_token"].as_str() {
                    Some(t) => {
                        next = format!("&page_token={t}");
                        tokens.push(next.clone());
                    }
                    None => break,
                }
            }
            let bodies = (0..connections).map(|_| tokens.to_vec()).collect();
            ("GET".into(), path, bodies, 25_000)
        }
        "search" => {
            for i in 0..1000 {
                let run = new_run(&mut c, &experiment);
                let body = format!(
                    r#"{{"run_id": "{run}", "metrics": [{{"key": "acc", "value": {}, "timestamp": 1, "step": 0}}], "params": [{{"key": "i", "value": "{i}"}}]}}"#,
                    i as f64 / 1000.0
                );
                c.json("POST", &format!("{API}/runs/log-batch"), &body);
            }
            let body = format!(
                r#"{{"experiment_ids": ["{experiment}"], "filter": "metrics.acc > 0.5", "order_by": ["metrics.acc DESC"], "max_results": 100}}"#
            );
            (
                "POST".into(),
                format!("{API}/runs/search"),
                vec![vec![body]; connections],
                0,
            )
        }
        other => panic!("unknown op {other}: log-batch, log-metric, get-history, search"),
    }
}

fn null_server(port: &str) {
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).expect("bind");
    println!("null server: listening on http://127.0.0.1:{port}");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => return,
            });
            let mut writer = stream;
            loop {
                let mut line = String::new();
                let mut length = 0usize;
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let l = line.trim_end().to_ascii_lowercase();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                // Just enough for a client to go on: a run for runs/create.
                let answer = if path.contains("runs/create") {
                    r#"{"run": {"info": {"run_id": "0123456789abcdef0123456789abcdef", "experiment_id": "0", "status": "RUNNING", "lifecycle_stage": "active", "artifact_uri": "file:///tmp/x"}, "data": {}}}"#
                } else if path.contains("experiments/get") {
                    r#"{"experiment": {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active", "artifact_location": "file:///tmp/x"}}"#
                } else {
                    "{}"
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if writer.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = arg(&args, "--op", "log-batch");
    if op == "null-server" {
        return null_server(&arg(&args, "--port", "5099"));
    }
    let url = arg(&args, "--url", "http://127.0.0.1:5000");
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let connections: usize = arg(&args, "--connections", "16").parse().unwrap_or(16);
    let seconds: f64 = arg(&args, "--seconds", "5").parse().unwrap_or(5.0);
    let label = arg(&args, "--label", &host);
    // Requests a second offered by all connections together (0: as fast as
    // answered).
    let rate: f64 = arg(&args, "--rate", "0").parse().unwrap_or(0.0);
    let (method, path, bodies, points) = prepare(&host, &op, connections);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(conn, bodies)| {
            let (host, method, path) = (host.clone(), method.clone(), path.clone());
            std::thread::spawn(move || {
                let mut c = Conn::open(&host).expect("connect");
                let mut latencies = Vec::new();
                let mut i = 0;
                loop {
                    // When this request is due: now in a closed loop; on
                    // the schedule with a rate.
                    let due = if rate > 0.0 {
                        let at = (i * connections + conn) as f64 / rate;
                        started + Duration::from_secs_f64(at)
                    } else {
                        Instant::now()
                    };
                    if due >= deadline {
                        break;
                    }
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let body = &bodies[i % bodies.len()];
                    let (p, b) = if method == "GET" {
                        (format!("{path}{body}"), "")
                    } else {
                        (path.clone(), body.as_str())
                    };
                    let (status, answer) = c.call(&method, &p, b.as_bytes()).expect("request");
                    latencies.push(due.elapsed());
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_default())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(f64::NAN)
    };
    let n = latencies.len() as f64;
    let per_request = if op == "get-history" {
        25_000.0
    } else {
        points as f64
    };
    let offered = if rate > 0.0 {
        format!("offered {rate:>5.0}/s")
    } else {
        "closed loop  ".to_owned()
    };
    println!(
        "{label:<14} {op:<12} conns {connections:>3}  {offered}  {:>9.0} req/s  {:>12.0} points/s  p50 {:>8.2} ms  p99 {:>8.2} ms  p99.9 {:>8.2} ms  ({} requests)",
        n / elapsed,
        n * per_request / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        latencies.len()
    );
}
