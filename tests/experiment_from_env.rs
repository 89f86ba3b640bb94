#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The experiment the environment names, with MLflow's error kinds. One
//! test in its own binary: it changes the process environment.

use runlog::fluent::experiment_id_from_env;
use runlog::{Client, Error};

#[test]
fn the_environments_experiment_and_its_errors() {
    std::env::remove_var("MLFLOW_EXPERIMENT_NAME");
    std::env::remove_var("MLFLOW_EXPERIMENT_ID");
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    assert_eq!(experiment_id_from_env(&c).unwrap(), "0");
    let e = c.create_experiment("named").unwrap();
    std::env::set_var("MLFLOW_EXPERIMENT_ID", &e);
    assert_eq!(experiment_id_from_env(&c).unwrap(), e);
    // An id no experiment has: MLflow's INVALID_PARAMETER_VALUE.
    std::env::set_var("MLFLOW_EXPERIMENT_ID", "12345");
    let err = experiment_id_from_env(&c).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(
        err.to_string().contains("MLFLOW_EXPERIMENT_ID=12345"),
        "{err}"
    );
    // A name wins, and must agree with the id when both are set.
    std::env::set_var("MLFLOW_EXPERIMENT_NAME", "named");
    assert!(matches!(
        experiment_id_from_env(&c),
        Err(Error::InvalidArgument(_))
    ));
    std::env::remove_var("MLFLOW_EXPERIMENT_ID");
    assert_eq!(experiment_id_from_env(&c).unwrap(), e);
    std::env::remove_var("MLFLOW_EXPERIMENT_NAME");
}
