#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! search_runs and search_experiments: MLflow's filter language, order_by,
//! paging, view types, several experiments, and errors with positions.

use runlog::{Batch, Client, Dataset, Error, RunStatus, SearchExperiments, SearchRuns, ViewType};
use runlog::{NewExperiment, NewRun};

/// Five runs in experiment "models" and one in "other":
/// name   model  lr     loss  acc   status    tags          dataset
/// r-a    cnn    0.1    0.50  0.80  FINISHED  team=vision   train/wine
/// r-b    cnn    0.01   0.20  0.90  FINISHED  team=Vision   eval/wine
/// r-c    tree   0.01   0.90  -     FAILED    -             -
/// r-d    tree   -      NaN   0.70  RUNNING   team=speech   -
/// r-e    mlp    0.001  -     -     RUNNING   (deleted run)
/// name, model, lr, loss, acc, team
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<f64>,
    Option<f64>,
    Option<&'static str>,
);

fn setup() -> (tempfile::TempDir, Client, String, String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let exp = c
        .create_experiment(NewExperiment::new("models").tags(&[("area", "cv")]))
        .unwrap();
    let other = c.create_experiment("other").unwrap();
    let rows: [Row; 5] = [
        (
            "r-a",
            "cnn",
            Some("0.1"),
            Some(0.5),
            Some(0.8),
            Some("vision"),
        ),
        (
            "r-b",
            "cnn",
            Some("0.01"),
            Some(0.2),
            Some(0.9),
            Some("Vision"),
        ),
        ("r-c", "tree", Some("0.01"), Some(0.9), None, None),
        (
            "r-d",
            "tree",
            None,
            Some(f64::NAN),
            Some(0.7),
            Some("speech"),
        ),
        ("r-e", "mlp", Some("0.001"), None, None, None),
    ];
    let mut ids = Vec::new();
    for (i, (name, model, lr, loss, acc, team)) in rows.iter().enumerate() {
        let id = c
            .create_run(
                NewRun::new(&exp)
                    .run_name(*name)
                    .start_time(1_700_000_000_000 + i as i64 * 1000),
            )
            .unwrap()
            .info
            .run_id;
        let mut batch = Batch::new().param("model", model);
        if let Some(lr) = lr {
            batch = batch.param("lr", lr);
        }
        if let Some(loss) = loss {
            batch = batch.metric("loss", *loss, 0);
        }
        if let Some(acc) = acc {
            batch = batch.metric("acc", *acc, 0);
        }
        if let Some(team) = team {
            batch = batch.tag("team", *team);
        }
        c.log_batch(&id, &batch).unwrap();
        ids.push(id);
    }
    let wine = Dataset::new("wine", "d1", "local", "{}");
    c.log_inputs(&ids[0], &[wine.as_input(Some("train"), &[])])
        .unwrap();
    c.log_inputs(&ids[1], &[wine.as_input(Some("eval"), &[])])
        .unwrap();
    c.set_terminated(&ids[0], RunStatus::Finished).unwrap();
    c.set_terminated(&ids[1], RunStatus::Finished).unwrap();
    c.set_terminated(&ids[2], RunStatus::Failed).unwrap();
    c.delete_run(&ids[4]).unwrap();
    let o = c
        .create_run(NewRun::new(&other).run_name("o-a"))
        .unwrap()
        .info
        .run_id;
    c.log_metric(&o, "loss", 0.1, 0).unwrap();
    (dir, c, exp, other, ids)
}

fn names(c: &Client, q: &SearchRuns) -> Vec<String> {
    c.search_runs(q)
        .unwrap()
        .iter()
        .map(|r| r.info.run_name.clone())
        .collect()
}

#[test]
fn filters_select_runs_as_mlflow_does() {
    let (_d, c, exp, _o, ids) = setup();
    let q = |f: &str| {
        names(
            &c,
            &SearchRuns::new(&[&exp])
                .filter(f)
                .order_by("attributes.run_name"),
        )
    };
    assert_eq!(q(""), ["r-a", "r-b", "r-c", "r-d"]);
    assert_eq!(q("metrics.loss < 0.6"), ["r-a", "r-b"]);
    assert_eq!(q("metrics.loss >= 0.5 and metrics.acc > 0.75"), ["r-a"]);
    assert_eq!(
        q("metrics.loss != 0.5"),
        ["r-b", "r-c", "r-d"],
        "NaN != 0.5; runs without loss never match"
    );
    assert_eq!(q("metric.acc = 0.7"), ["r-d"]);
    assert_eq!(q("params.model = 'cnn'"), ["r-a", "r-b"]);
    assert_eq!(
        q("params.lr != '0.1'"),
        ["r-b", "r-c"],
        "a missing param does not match !="
    );
    assert_eq!(q("params.model LIKE 't%'"), ["r-c", "r-d"]);
    assert_eq!(q("params.model LIKE 'T%'"), Vec::<String>::new());
    assert_eq!(q("params.model ILIKE 'T%'"), ["r-c", "r-d"]);
    assert_eq!(q("tags.team = 'vision'"), ["r-a"]);
    assert_eq!(q("tags.team ILIKE 'vision'"), ["r-a", "r-b"]);
    assert_eq!(q("attributes.status = 'FINISHED'"), ["r-a", "r-b"]);
    // IN / NOT IN: run_id only, as in MLflow 3.17.
    let in_list = format!("attributes.run_id IN ('{}', '{}')", ids[2], ids[3]);
    assert_eq!(q(&in_list), ["r-c", "r-d"]);
    let not_in = format!("attributes.run_id NOT IN ('{}')", ids[0]);
    assert_eq!(q(&not_in), ["r-b", "r-c", "r-d"]);
    // IS NULL / IS NOT NULL on params and tags (MLflow 3.x).
    assert_eq!(q("params.lr IS NULL"), ["r-d"]);
    assert_eq!(q("params.lr IS NOT NULL"), ["r-a", "r-b", "r-c"]);
    assert_eq!(q("tags.team IS NULL"), ["r-c"]);
    assert_eq!(
        q("tags.team is not null and params.model = 'cnn'"),
        ["r-a", "r-b"]
    );
    assert_eq!(
        q("attributes.run_name LIKE 'r-_'"),
        ["r-a", "r-b", "r-c", "r-d"]
    );
    assert_eq!(
        q("run.run_id = '{}'".replace("{}", &ids[2]).as_str()),
        ["r-c"]
    );
    assert_eq!(q("attributes.start_time >= 1700000002000"), ["r-c", "r-d"]);
    assert_eq!(q("attributes.created < 1700000001000"), ["r-a"]);
    assert_eq!(q("attributes.end_time > 0"), ["r-a", "r-b", "r-c"]);
    assert_eq!(q("datasets.name = 'wine'"), ["r-a", "r-b"]);
    assert_eq!(q("datasets.context = 'train'"), ["r-a"]);
    assert_eq!(q("datasets.digest LIKE 'd%'"), ["r-a", "r-b"]);
    assert_eq!(q("tags.`mlflow.runName` = 'r-c'"), ["r-c"]);
    assert_eq!(q("tags.\"mlflow.runName\" LIKE '%d'"), ["r-d"]);
    assert_eq!(q("attributes.user_id = 'nobody'"), Vec::<String>::new());
}

#[test]
fn order_by_sorts_with_missing_values_last() {
    let (_d, c, exp, _o, _ids) = setup();
    let q = |keys: &[&str]| {
        let query = keys
            .iter()
            .fold(SearchRuns::new(&[&exp]), |q, k| q.order_by(*k));
        names(&c, &query)
    };
    // Default: newest start first.
    assert_eq!(q(&[]), ["r-d", "r-c", "r-b", "r-a"]);
    assert_eq!(
        q(&["metrics.loss"]),
        ["r-b", "r-a", "r-c", "r-d"],
        "NaN last"
    );
    assert_eq!(q(&["metrics.loss DESC"]), ["r-c", "r-a", "r-b", "r-d"]);
    assert_eq!(q(&["metrics.acc ASC"]), ["r-d", "r-a", "r-b", "r-c"]);
    assert_eq!(
        q(&["params.lr DESC"]),
        ["r-a", "r-c", "r-b", "r-d"],
        "ties keep the default order"
    );
    assert_eq!(
        q(&["params.model", "metrics.loss DESC"]),
        ["r-a", "r-b", "r-c", "r-d"]
    );
    assert_eq!(
        q(&["attributes.start_time ASC"]),
        ["r-a", "r-b", "r-c", "r-d"]
    );
    assert_eq!(q(&["tags.team"]), ["r-b", "r-d", "r-a", "r-c"]);
}

#[test]
fn pages_cover_every_run_once() {
    let (_d, c, exp, other, _ids) = setup();
    let mut query = SearchRuns::new(&[&exp, &other])
        .view(ViewType::All)
        .max_results(2)
        .order_by("attributes.run_name");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = c.search_runs(&query).unwrap();
        pages += 1;
        seen.extend(page.iter().map(|r| r.info.run_name.clone()));
        match page.next_page_token {
            Some(t) => query = query.page_token(t),
            None => break,
        }
    }
    assert_eq!(seen, ["o-a", "r-a", "r-b", "r-c", "r-d", "r-e"]);
    assert_eq!(pages, 3);
    let deleted = names(&c, &SearchRuns::new(&[&exp]).view(ViewType::DeletedOnly));
    assert_eq!(deleted, ["r-e"]);
    assert!(c
        .search_runs(&SearchRuns::new(&[&exp]).max_results(0))
        .is_err());
    assert!(c
        .search_runs(&SearchRuns::new(&[&exp]).max_results(50_001))
        .is_err());
    assert!(c
        .search_runs(&SearchRuns::new(&[&exp]).page_token("bogus"))
        .is_err());
    assert!(c.search_runs(&SearchRuns::new::<&str>(&[])).is_err());
    // An unknown experiment has no runs, as in MLflow.
    assert!(c
        .search_runs(&SearchRuns::new(&["123"]))
        .unwrap()
        .items
        .is_empty());
    let both = c.search_runs(&SearchRuns::new(&["123", &exp])).unwrap();
    assert!(!both.items.is_empty());
}

#[test]
fn malformed_or_ill_typed_filters_are_refused_with_a_position() {
    let (_d, c, exp, _o, _ids) = setup();
    let cases = [
        ("metrics.loss = 'low'", 1, "number"),
        ("params.lr > 0.1", 1, "comparators"),
        ("params.lr = 0.1", 1, "single quotes"),
        (
            "metrics.loss < 1 and attributes.colour = 'red'",
            22,
            "unknown run attribute",
        ),
        ("datasets.size = '1'", 1, "unknown dataset field"),
        ("metrics.loss IN ('1')", 1, "comparators"),
        // MLflow: "only run_id supports comparison with a list".
        ("attributes.run_name IN ('a')", 1, "comparators"),
        ("attributes.status NOT IN ('x')", 1, "comparators"),
        ("metrics.loss IS NULL", 1, "comparators"),
        ("metrics.loss <> 1", 14, "!="),
        ("metrics.loss < 1 or metrics.acc > 0", 18, "AND"),
        ("tags.team = 'open", 13, "never closed"),
    ];
    for (filter, position, expected) in cases {
        match c.search_runs(&SearchRuns::new(&[&exp]).filter(filter)) {
            Err(Error::InvalidFilter {
                position: p,
                message,
            }) => {
                assert_eq!(p, position, "{filter}: {message}");
                assert!(message.contains(expected), "{filter}: {message}");
            }
            other => panic!("{filter}: {other:?}"),
        }
    }
    for bad in [
        "metrics.loss SIDEWAYS",
        "datasets.name",
        "attributes.colour",
        "metrics.",
    ] {
        let err = c
            .search_runs(&SearchRuns::new(&[&exp]).order_by(bad))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidFilter { .. }), "{bad}: {err}");
    }
}

#[test]
fn experiments_search_by_name_tags_and_times() {
    let (_d, c, exp, other, _ids) = setup();
    c.create_experiment(NewExperiment::new("models-v2").tags(&[("area", "nlp")]))
        .unwrap();
    let names = |q: SearchExperiments| {
        c.search_experiments(q)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
    };
    let by_name = || SearchExperiments::new().order_by("name");
    assert_eq!(
        names(by_name()),
        ["Default", "models", "models-v2", "other"]
    );
    assert_eq!(
        names(by_name().filter("name LIKE 'models%'")),
        ["models", "models-v2"]
    );
    assert_eq!(
        names(by_name().filter("attribute.name = 'other'")),
        ["other"]
    );
    assert_eq!(names(by_name().filter("tags.area = 'cv'")), ["models"]);
    // IS NULL / IS NOT NULL on tags, as MLflow's UI filters its experiment list.
    assert_eq!(
        names(by_name().filter("tags.area IS NULL")),
        ["Default", "other"]
    );
    assert_eq!(
        names(by_name().filter("tags.area IS NOT NULL")),
        ["models", "models-v2"]
    );
    assert_eq!(
        names(by_name().filter("tags.area ILIKE '%L%'")),
        ["models-v2"]
    );
    assert_eq!(
        names(by_name().filter("creation_time > 0 and name != 'Default'")).len(),
        3
    );
    assert_eq!(
        names(
            SearchExperiments::new()
                .order_by("name DESC")
                .max_results(1)
        ),
        ["other"]
    );
    c.delete_experiment(&other).unwrap();
    assert_eq!(names(by_name().view(ViewType::DeletedOnly)), ["other"]);
    assert_eq!(c.search_experiments(ViewType::All).unwrap().len(), 4);
    let page = c.search_experiments(by_name().max_results(2)).unwrap();
    let next = c
        .search_experiments(by_name().page_token(page.next_page_token.clone().unwrap()))
        .unwrap();
    assert_eq!(next[0].name, "models-v2");
    assert!(c
        .search_experiments(by_name().filter("metrics.x > 1"))
        .is_err());
    assert!(c
        .search_experiments(by_name().filter("colour = 'x'"))
        .is_err());
    assert!(c
        .search_experiments(SearchExperiments::new().order_by("tags.area"))
        .is_err());
    assert_eq!(c.get_experiment(&exp).unwrap().name, "models");
}

#[test]
fn the_fluent_search_returns_every_page() {
    let (dir, c, exp, _o, _ids) = setup();
    drop(c);
    runlog::set_tracking_uri(&dir.path().display().to_string()).unwrap();
    let runs = runlog::search_runs(&SearchRuns::new(&[&exp]).max_results(1)).unwrap();
    assert_eq!(runs.len(), 4);
}

#[test]
fn numbers_then_nan_then_missing_in_either_direction() {
    let (_dir, c, exp, _other, _ids) = setup();
    // loss: r-a 0.50, r-b 0.20, r-c 0.90, r-d NaN, r-e missing (deleted).
    let q = |order: &str| SearchRuns::new(&[&exp]).view(ViewType::All).order_by(order);
    assert_eq!(
        names(&c, &q("metrics.loss ASC")),
        ["r-b", "r-a", "r-c", "r-d", "r-e"]
    );
    assert_eq!(
        names(&c, &q("metrics.loss DESC")),
        ["r-c", "r-a", "r-b", "r-d", "r-e"]
    );
}

#[test]
fn experiments_come_newest_first_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap(); // creates "0"
    std::thread::sleep(std::time::Duration::from_millis(5));
    let first = c.create_experiment("first").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = c.create_experiment("second").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    // Updating the older one does not move it up (MLflow orders by
    // creation time, not by last update).
    c.set_experiment_tag(&first, "touched", "yes").unwrap();
    let ids: Vec<String> = c
        .search_experiments(SearchExperiments::new())
        .unwrap()
        .into_iter()
        .map(|e| e.experiment_id)
        .collect();
    assert_eq!(ids, [second, first, "0".to_owned()]);
}
