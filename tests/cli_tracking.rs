#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The `runlog` experiments, runs, metrics and compact commands, through the
//! built binary: text and JSON output, bad input, exit codes.

mod common;

use runlog::Metric;
use runlog::NewRun;
use std::process::Output;

use common::{ok, runlog_at as runlog};

use runlog::{Client, RunStatus};

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// The list under `field` of MLflow's JSON (left out when empty).
fn list(v: &serde_json::Value, field: &str) -> Vec<serde_json::Value> {
    v.get(field)
        .map(|l| l.as_array().unwrap().clone())
        .unwrap_or_default()
}

/// The item with `"key": key` of an MLflow key-value list.
fn keyed<'a>(items: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap()
}

#[test]
fn experiments_are_created_listed_renamed_deleted_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let id = ok(&runlog(
        s,
        &[
            "experiments",
            "create",
            "--experiment-name",
            "fraud-detection",
        ],
    ));
    let id = id.trim();
    assert_eq!(id.len(), 18);
    let again = runlog(s, &["experiments", "create", "-n", "fraud-detection"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let table = ok(&runlog(s, &["experiments", "search"]));
    assert!(table.lines().next().unwrap().starts_with("experiment_id"));
    assert!(table.contains("fraud-detection") && table.contains("Default"));
    let list = json(&runlog(
        s,
        &[
            "experiments",
            "search",
            "--json",
            "--filter",
            "name LIKE 'fraud%'",
        ],
    ));
    let found = self::list(&list, "experiments");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["experiment_id"], id);
    assert!(list.get("next_page_token").is_none(), "{list}");

    ok(&runlog(
        s,
        &["experiments", "rename", "-x", id, "--new-name", "fraud"],
    ));
    ok(&runlog(s, &["experiments", "delete", "-x", id]));
    let deleted = json(&runlog(
        s,
        &["experiments", "search", "--view", "deleted", "--json"],
    ));
    let deleted = self::list(&deleted, "experiments");
    assert_eq!(deleted[0]["name"], "fraud");
    assert_eq!(deleted[0]["lifecycle_stage"], "deleted");
    ok(&runlog(s, &["experiments", "restore", "-x", id]));
    assert_eq!(
        self::list(
            &json(&runlog(s, &["experiments", "search", "--json"])),
            "experiments"
        )
        .len(),
        2
    );

    let bad = runlog(s, &["experiments", "search", "--filter", "name ~ 'x'"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("character 6"));
    assert_eq!(
        runlog(s, &["experiments", "create"]).status.code(),
        Some(2),
        "usage"
    );
}

#[test]
fn runs_are_listed_described_searched_deleted_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let ids: Vec<String> = {
        let c = Client::builder().store(s).open().unwrap();
        let e = c.create_experiment("e").unwrap();
        (0..3)
            .map(|i| {
                let id = c
                    .create_run(NewRun::new(&e).run_name(format!("r{i}")))
                    .unwrap()
                    .info
                    .run_id;
                c.log_param(&id, "lr", i).unwrap();
                for step in 0..10 {
                    c.log_metric(&id, "loss", f64::from(i) + step as f64 / 10.0, step)
                        .unwrap();
                }
                c.set_terminated(&id, RunStatus::Finished).unwrap();
                id
            })
            .collect()
    };
    let table = ok(&runlog(s, &["runs", "list", "--experiment-name", "e"]));
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(table.contains("FINISHED") && table.contains("loss=0.9"));
    let exp = json(&runlog(
        s,
        &["runs", "list", "--experiment-name", "e", "--json"],
    ))["runs"][0]["info"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let described = json(&runlog(
        s,
        &["runs", "describe", "--run-id", &ids[1], "--json"],
    ));
    // MLflow's runs/get answer.
    let described = &described["run"];
    assert_eq!(described["info"]["run_name"], "r1");
    assert_eq!(described["info"]["status"], "FINISHED");
    assert_eq!(keyed(&described["data"]["params"], "lr")["value"], "1");
    assert_eq!(keyed(&described["data"]["metrics"], "loss")["step"], 9);
    let text = ok(&runlog(s, &["runs", "describe", "--run-id", &ids[1]]));
    assert!(text.contains("run_name         r1") && text.contains("lr = 1"));

    let found = json(&runlog(
        s,
        &[
            "runs",
            "search",
            "-x",
            &exp,
            "--filter",
            "metrics.loss > 1",
            "--order-by",
            "metrics.loss DESC",
            "--json",
        ],
    ));
    let names: Vec<String> = list(&found, "runs")
        .iter()
        .map(|r| r["info"]["run_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["r2", "r1"]);

    // A page cut at --max-results: the table says so on standard error,
    // the JSON carries the token, and the token brings the rest.
    let search = |extra: &[&str]| {
        let mut args = vec!["runs", "search", "-x", &exp, "--max-results", "2"];
        args.extend_from_slice(extra);
        runlog(s, &args)
    };
    let cut = search(&[]);
    let said = String::from_utf8_lossy(&cut.stderr).into_owned();
    assert!(
        said.contains("showing the first 2 runs; more match"),
        "{said}"
    );
    assert_eq!(ok(&cut).lines().count(), 3);
    let first = json(&search(&["--json"]));
    assert_eq!(list(&first, "runs").len(), 2);
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    assert!(said.contains(&format!("--page-token {token}")), "{said}");
    let rest = json(&search(&["--json", "--page-token", &token]));
    assert_eq!(list(&rest, "runs").len(), 1);
    assert!(rest.get("next_page_token").is_none());
    let last = search(&["--page-token", &token]);
    assert!(last.stderr.is_empty(), "the last page is not cut");

    ok(&runlog(s, &["runs", "delete", "--run-id", &ids[0]]));
    let active = json(&runlog(s, &["runs", "list", "-x", &exp, "--json"]));
    assert_eq!(list(&active, "runs").len(), 2);
    ok(&runlog(s, &["runs", "restore", "--run-id", &ids[0]]));

    let missing = runlog(
        s,
        &[
            "runs",
            "describe",
            "--run-id",
            "ffffffffffffffffffffffffffffffff",
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    let bad = runlog(
        s,
        &[
            "runs",
            "search",
            "-x",
            &exp,
            "--filter",
            "metrics.loss = 'x'",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    // Without an experiment: the default one, as MLflow's clients do.
    assert!(ok(&runlog(s, &["runs", "list"])).starts_with("run_id"));
}

#[test]
fn metric_history_as_csv_and_json_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let id = {
        // Small segments, so that there are sealed ones to compact (a
        // lane's last segment is never compacted).
        let options = runlog::Options::default()
            .segment_size(4096)
            .auto_compact(None);
        let c = Client::builder().store(s).options(options).open().unwrap();
        let id = c.create_run("0").unwrap().info.run_id;
        for step in (0..1000).rev() {
            c.log_metric_at(
                &id,
                "loss",
                Metric {
                    value: step as f64 / 2.0,
                    timestamp: 1_000 + step,
                    step,
                },
            )
            .unwrap();
        }
        c.log_metric_at(
            &id,
            "loss",
            Metric {
                value: f64::NAN,
                timestamp: 5,
                step: 1000,
            },
        )
        .unwrap();
        id
    };
    let csv = ok(&runlog(
        s,
        &["metrics", "history", "--run-id", &id, "--key", "loss"],
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "step,timestamp,value");
    assert_eq!(lines[1], "0,1000,0");
    assert_eq!(lines.len(), 1002);
    assert_eq!(lines[1001], "1000,5,NaN");
    let part = json(&runlog(
        s,
        &[
            "metrics", "history", "--run-id", &id, "--key", "loss", "--steps", "10:12", "--format",
            "json",
        ],
    ));
    // MLflow's get-history answer.
    let part = list(&part, "metrics");
    assert_eq!(part.len(), 3);
    assert_eq!(part[0]["key"], "loss");
    assert_eq!(part[0]["step"], 10);
    assert_eq!(part[0]["value"], 5.0);
    let nan = json(&runlog(
        s,
        &[
            "metrics",
            "history",
            "--run-id",
            &id,
            "--key",
            "loss",
            "--steps",
            "1000:1000",
            "--format",
            "json",
        ],
    ));
    assert_eq!(nan["metrics"][0]["value"], "NaN");
    assert_eq!(
        runlog(
            s,
            &["metrics", "history", "--run-id", &id, "--key", "loss", "--steps", "5:1"]
        )
        .status
        .code(),
        Some(2)
    );

    let report = json(&runlog(s, &["compact", "--json"]));
    assert!(report["segments"].as_u64().unwrap() >= 1, "{report}");
    let after = ok(&runlog(
        s,
        &["metrics", "history", "--run-id", &id, "--key", "loss"],
    ));
    assert_eq!(after, csv, "the same history once compacted");
    let verify = ok(&runlog(s, &["verify"]));
    assert!(verify.contains("generations    1"), "{verify}");
    let stats = json(&runlog(s, &["stats", "--json"]));
    assert_eq!(stats["metric_points"], 1001);
    assert_eq!(stats["runs"], 1);
    assert_eq!(stats["generations"], 1);
    assert!(stats["bytes_per_point"].as_f64().unwrap() > 0.0);
    let text = ok(&runlog(s, &["stats"]));
    assert!(text.contains("metric points    1001"), "{text}");
}

#[test]
fn every_command_works_on_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    drop(Client::builder().store(s).open().unwrap()); // the store and its Default experiment
    let stats: serde_json::Value = json(&runlog(s, &["stats", "--json"]));
    assert_eq!(stats["metric_points"], 0);
    assert_eq!(stats["bytes_per_point"], 0.0);
    assert_eq!(stats["runs"], 0);
    assert!(ok(&runlog(s, &["verify"])).trim_end().ends_with("ok"));
    ok(&runlog(s, &["replay"]));
    let compacted: serde_json::Value = json(&runlog(s, &["compact", "--json"]));
    assert_eq!(compacted["points"], 0);
    let runs = json(&runlog(s, &["runs", "list", "-x", "0", "--json"]));
    assert_eq!(runs, serde_json::json!({}), "MLflow leaves empty lists out");
    let found = json(&runlog(s, &["runs", "search", "-x", "0", "--json"]));
    assert!(list(&found, "runs").is_empty());
    let experiments = json(&runlog(s, &["experiments", "search", "--json"]));
    assert_eq!(list(&experiments, "experiments").len(), 1, "Default");
    let unknown = "0123456789abcdef0123456789abcdef";
    for args in [
        &["metrics", "history", "--run-id", unknown, "--key", "loss"][..],
        &["metrics", "plot", "--run-id", unknown, "--key", "loss"][..],
        &["runs", "describe", "--run-id", unknown][..],
    ] {
        let out = runlog(s, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not found") && err.lines().count() == 1,
            "{err}"
        );
    }
}

#[test]
fn changes_say_what_they_did_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let id = ok(&runlog(s, &["experiments", "create", "-n", "e"]));
    let id = id.trim();
    let said = |args: &[&str]| {
        let text = ok(&runlog(s, args));
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        text
    };
    assert!(
        said(&["experiments", "rename", "-x", id, "--new-name", "f"]).contains("renamed to 'f'")
    );
    assert!(said(&["experiments", "delete", "-x", id]).contains("has been deleted"));
    assert!(said(&["experiments", "restore", "-x", id]).contains("has been restored"));
    let run = {
        let c = Client::builder().store(s).open().unwrap();
        c.create_run(id).unwrap().info.run_id
    };
    assert!(said(&["runs", "delete", "--run-id", &run]).contains(&run));
    assert!(said(&["runs", "restore", "--run-id", &run]).contains("has been restored"));
}

#[test]
fn runs_list_defaults_to_the_active_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let (default_run, other_run, other) = {
        let c = Client::builder().store(s).open().unwrap();
        let other = c.create_experiment("other").unwrap();
        let a = c
            .create_run(NewRun::new("0").run_name("in-default"))
            .unwrap()
            .info
            .run_id;
        let b = c
            .create_run(NewRun::new(&other).run_name("in-other"))
            .unwrap()
            .info
            .run_id;
        (a, b, other)
    };
    let listed = ok(&runlog(s, &["runs", "list"]));
    assert!(listed.contains(&default_run) && !listed.contains(&other_run));
    let by_env = |var: &str, value: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"))
            .args(["--tracking-uri"])
            .arg(s)
            .args(["runs", "list"])
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("MLFLOW_EXPERIMENT_NAME")
            .env_remove("MLFLOW_EXPERIMENT_ID")
            .env(var, value)
            .output()
            .unwrap();
        out
    };
    let listed = ok(&by_env("MLFLOW_EXPERIMENT_NAME", "other"));
    assert!(listed.contains(&other_run) && !listed.contains(&default_run));
    let listed = ok(&by_env("MLFLOW_EXPERIMENT_ID", &other));
    assert!(listed.contains(&other_run));
    let missing = by_env("MLFLOW_EXPERIMENT_NAME", "nope");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no experiment named 'nope'"));
}

#[test]
fn metric_keys_are_listed_and_step_ranges_take_open_ends() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let run = {
        let c = Client::builder().store(s).open().unwrap();
        let run = c.create_run("0").unwrap().info.run_id;
        for step in -10..90 {
            c.log_metric(&run, "loss", step as f64, step).unwrap();
        }
        c.log_metric(&run, "acc", f64::NAN, 3).unwrap();
        run
    };
    let table = ok(&runlog(s, &["metrics", "list", "--run-id", &run]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("key"));
    assert!(lines[1].starts_with("acc ") && lines[1].contains(" 1 "));
    assert!(lines[2]
        .split_whitespace()
        .eq(["loss", "100", "-10", "89", "89"]));
    let list = json(&runlog(s, &["metrics", "list", "--run-id", &run, "--json"]));
    assert_eq!(list[0]["latest_value"], "NaN");
    assert_eq!(list[1]["points"], 100);
    assert_eq!(list[1]["first_step"], -10);

    let history = |steps: &str, extra: &[&str]| {
        let mut args = vec![
            "metrics", "history", "--run-id", &run, "--key", "loss", "--steps", steps,
        ];
        args.extend_from_slice(extra);
        ok(&runlog(s, &args))
    };
    assert_eq!(history("80:", &[]).lines().count(), 1 + 10);
    assert_eq!(history(":-6", &[]).lines().count(), 1 + 5);
    assert_eq!(history("-5:5", &[]).lines().count(), 1 + 11);
    let as_json: serde_json::Value = serde_json::from_str(&history("0:2", &["--json"])).unwrap();
    assert_eq!(self::list(&as_json, "metrics").len(), 3);
    assert_eq!(
        history("0:2", &["--json"]),
        history("0:2", &["--format", "json"])
    );
    let bad = runlog(
        s,
        &[
            "metrics", "history", "--run-id", &run, "--key", "loss", "--steps", "x:",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a step"));
}

#[test]
fn a_tracking_uri_that_is_a_file_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    for args in [
        vec!["runs", "list"],
        vec!["experiments", "create", "-n", "x"],
        vec!["verify"],
        vec!["compact"],
        vec!["stats"],
        vec!["replay"],
    ] {
        let out = runlog(&file, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("it is a file") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello");
}

#[test]
fn json_output_writes_non_finite_values_as_mlflow_does_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let run = {
        let c = Client::builder().store(s).open().unwrap();
        let run = c.create_run("0").unwrap().info.run_id;
        c.log_metric(&run, "nan", f64::NAN, 0).unwrap();
        c.log_metric(&run, "up", f64::INFINITY, 0).unwrap();
        c.log_metric(&run, "down", f64::NEG_INFINITY, 0).unwrap();
        run
    };
    let described = json(&runlog(
        s,
        &["runs", "describe", "--run-id", &run, "--json"],
    ));
    let metrics = &described["run"]["data"]["metrics"];
    assert_eq!(keyed(metrics, "nan")["value"], "NaN");
    assert_eq!(keyed(metrics, "up")["value"], "Infinity");
    assert_eq!(keyed(metrics, "down")["value"], "-Infinity");
    let listed = json(&runlog(s, &["runs", "list", "--json"]));
    let metrics = &listed["runs"][0]["data"]["metrics"];
    assert_eq!(keyed(metrics, "nan")["value"], "NaN");
    let history = json(&runlog(
        s,
        &[
            "metrics", "history", "--run-id", &run, "--key", "up", "--json",
        ],
    ));
    assert_eq!(history["metrics"][0]["value"], "Infinity");
}

#[test]
fn models_are_listed_and_described() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let model_id = {
        let c = Client::builder().store(s).open().unwrap();
        let run = c.create_run(NewRun::new("0")).unwrap().info.run_id;
        let m = c
            .create_logged_model(
                runlog::NewLoggedModel::new("0")
                    .name("forest")
                    .source_run_id(&run)
                    .param("depth", "6"),
            )
            .unwrap();
        c.finalize_logged_model(&m.model_id, runlog::ModelStatus::Ready)
            .unwrap();
        c.create_registered_model("churn", &[], Some("the churn model"))
            .unwrap();
        c.create_model_version(&runlog::tracking::NewModelVersion {
            name: "churn".into(),
            source: format!("models:/{}", m.model_id),
            ..Default::default()
        })
        .unwrap();
        c.set_registered_model_alias("churn", "champion", 1)
            .unwrap();
        c.flush().unwrap();
        m.model_id
    };
    let listed = ok(&runlog(s, &["models", "list"]));
    assert!(
        listed.contains(&model_id) && listed.contains("READY") && listed.contains("@champion=v1"),
        "{listed}"
    );
    let listed = json(&runlog(s, &["models", "list", "--json"]));
    assert_eq!(listed["models"][0]["info"]["name"], "forest");
    assert_eq!(listed["registered_models"][0]["name"], "churn");
    let filtered = ok(&runlog(
        s,
        &["models", "list", "--filter", "params.depth = '7'"],
    ));
    assert!(!filtered.contains(&model_id), "{filtered}");
    let described = ok(&runlog(s, &["models", "describe", "--model-id", &model_id]));
    assert!(
        described.contains("depth") && described.contains("models:/m-"),
        "{described}"
    );
    let registered = ok(&runlog(s, &["models", "describe", "--name", "churn"]));
    assert!(
        registered.contains("the churn model") && registered.contains("@champion"),
        "{registered}"
    );
    let missing = runlog(s, &["models", "describe", "--model-id", "m-0"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    let bad = runlog(s, &["models", "list", "--filter", "colour = 'red'"]);
    assert_ne!(bad.status.code(), Some(0));
}
