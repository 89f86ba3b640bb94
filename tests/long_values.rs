#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Long param and tag values, as MLflow 3.17 treats them: cut to 6,000 and
//! 8,000 characters (with a warning) unless `MLFLOW_TRUNCATE_LONG_VALUES`
//! is false, then refused. One test in its own binary: it changes the
//! process environment, which no other thread reads meanwhile.

use runlog::NewRun;
use runlog::{Batch, Client, Error};

#[test]
fn long_values_are_cut_or_refused_as_mlflow_does() {
    std::env::remove_var("MLFLOW_TRUNCATE_LONG_VALUES");
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let long_tag = "t".repeat(9_000);
    let run = c
        .create_run(NewRun::new("0").tags(&[("notes", long_tag.as_str())]))
        .unwrap()
        .info
        .run_id;
    // Characters, not bytes: 6,001 two-byte characters are cut at a
    // character boundary.
    let accented = "\u{e9}".repeat(6_001);
    c.log_param(&run, "accented", &accented).unwrap();
    // The same long value again is the same (cut) value: accepted.
    c.log_param(&run, "accented", &accented).unwrap();
    c.log_batch(
        &run,
        &Batch::new()
            .param("p", "p".repeat(7_000))
            .tag("t", "x".repeat(8_001)),
    )
    .unwrap();
    c.set_tag(&run, "s", &"s".repeat(10_000)).unwrap();
    let e = c.create_experiment("long").unwrap();
    c.set_experiment_tag(&e, "doc", &"d".repeat(20_000))
        .unwrap();
    c.flush().unwrap();
    drop(c);

    let c = Client::builder()
        .store(dir.path())
        .read_only()
        .open()
        .unwrap();
    let data = c.get_run(&run).unwrap().data;
    let chars = |s: &String| s.chars().count();
    assert_eq!(chars(&data.params["accented"]), 6_000);
    assert_eq!(data.params["accented"], "\u{e9}".repeat(6_000));
    assert_eq!(chars(&data.params["p"]), 6_000);
    assert_eq!(chars(&data.tags["t"]), 8_000);
    assert_eq!(chars(&data.tags["s"]), 8_000);
    assert_eq!(chars(&data.tags["notes"]), 8_000);
    assert_eq!(chars(&c.get_experiment(&e).unwrap().tags["doc"]), 20_000);
    // Exactly at the limit: kept whole.
    drop(c);

    let c = Client::builder().store(dir.path()).open().unwrap();
    for off in ["false", "FALSE", "0"] {
        std::env::set_var("MLFLOW_TRUNCATE_LONG_VALUES", off);
        for result in [
            c.log_param(&run, "q", "q".repeat(6_001)),
            c.set_tag(&run, "u", &"u".repeat(8_001)),
            c.log_batch(&run, &Batch::new().param("r", "r".repeat(6_001))),
            c.create_run(NewRun::new("0").tags(&[("v", "v".repeat(8_001).as_str())]))
                .map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{off}: {err}");
            assert!(err.to_string().contains("the limit is"), "{err}");
        }
        // Within the limits, nothing changes.
        c.log_param(&run, "fits", "f".repeat(6_000)).unwrap();
    }
    std::env::set_var("MLFLOW_TRUNCATE_LONG_VALUES", "True");
    c.log_param(&run, "q", "q".repeat(6_001)).unwrap();
    std::env::set_var("MLFLOW_TRUNCATE_LONG_VALUES", "maybe");
    let err = c.log_param(&run, "w", "w".repeat(6_001)).unwrap_err();
    assert!(
        err.to_string().contains("MLFLOW_TRUNCATE_LONG_VALUES"),
        "{err}"
    );
    std::env::remove_var("MLFLOW_TRUNCATE_LONG_VALUES");
    let params = c.get_run(&run).unwrap().data.params;
    assert_eq!(params["q"].len(), 6_000);
    assert!(!params.contains_key("r") && !params.contains_key("w"));
}
