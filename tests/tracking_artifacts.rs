#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Artifacts: copied under the run's artifact directory, listed,
//! downloaded; paths that would leave the directory are refused.

use runlog::NewExperiment;
use std::fs;

use runlog::{Client, Error, FileInfo};

#[test]
fn files_and_directories_are_copied_listed_and_downloaded() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path().join("store"))
        .open()
        .unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("model.bin"), b"weights").unwrap();
    fs::write(src.join("sub/config.txt"), b"lr=0.1").unwrap();

    c.log_artifact(&id, src.join("model.bin"), None).unwrap();
    c.log_artifact(&id, src.join("model.bin"), Some("models/v1"))
        .unwrap();
    c.log_artifacts(&id, &src, Some("all")).unwrap();
    c.log_text(&id, "hello", "notes/readme.txt").unwrap();
    c.log_dict(&id, &serde_json::json!({"a": 1}), "config.json")
        .unwrap();
    assert!(c.log_dict(&id, &1, "config.yaml").is_err());

    let root = c.artifact_root(&id).unwrap();
    let uri = c.get_run(&id).unwrap().info.artifact_uri;
    assert_eq!(uri, format!("file://{}", root.display()));
    assert_eq!(
        fs::read(root.join("models/v1/model.bin")).unwrap(),
        b"weights"
    );
    assert_eq!(
        fs::read(root.join("all/sub/config.txt")).unwrap(),
        b"lr=0.1"
    );
    assert_eq!(
        fs::read_to_string(root.join("notes/readme.txt")).unwrap(),
        "hello"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("config.json")).unwrap()).unwrap();
    assert_eq!(json["a"], 1);

    let top = c.list_artifacts(&id, None).unwrap();
    let paths: Vec<&str> = top.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["all", "config.json", "model.bin", "models", "notes"]
    );
    assert_eq!(
        top[2],
        FileInfo {
            path: "model.bin".into(),
            is_dir: false,
            file_size: Some(7)
        }
    );
    assert!(top[0].is_dir && top[0].file_size.is_none());
    let sub = c.list_artifacts(&id, Some("all/sub")).unwrap();
    assert_eq!(sub[0].path, "all/sub/config.txt");
    assert!(c.list_artifacts(&id, Some("missing")).unwrap().is_empty());

    let out = dir.path().join("out");
    let file = c
        .download_artifacts(&id, Some("models/v1/model.bin"), &out)
        .unwrap();
    assert_eq!(file, out.join("model.bin"));
    assert_eq!(fs::read(&file).unwrap(), b"weights");
    let tree = c.download_artifacts(&id, Some("all"), &out).unwrap();
    assert_eq!(fs::read(tree.join("sub/config.txt")).unwrap(), b"lr=0.1");
    let everything = c
        .download_artifacts(&id, None, dir.path().join("everything"))
        .unwrap();
    assert!(everything.join("notes/readme.txt").is_file());
    assert!(matches!(
        c.download_artifacts(&id, Some("nope"), &out),
        Err(Error::NotFound(_))
    ));

    assert_eq!(
        c.get_artifact_uri(&id, Some("models/v1")).unwrap(),
        format!("{uri}/models/v1")
    );
}

#[test]
fn paths_that_leave_the_artifact_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path().join("store"))
        .open()
        .unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    let f = dir.path().join("f.txt");
    fs::write(&f, b"x").unwrap();
    for bad in ["..", "../x", "a/../../x", "/tmp", "/"] {
        assert!(
            matches!(
                c.log_artifact(&id, &f, Some(bad)),
                Err(Error::InvalidArgument(_))
            ),
            "{bad}"
        );
        assert!(
            c.log_text(&id, "x", &format!("{bad}/y.txt")).is_err(),
            "{bad}"
        );
        assert!(c.list_artifacts(&id, Some(bad)).is_err(), "{bad}");
        assert!(
            c.download_artifacts(&id, Some(bad), dir.path()).is_err(),
            "{bad}"
        );
        assert!(c.get_artifact_uri(&id, Some(bad)).is_err(), "{bad}");
    }
    assert!(!dir.path().join("x").exists() && !dir.path().join("store/x").exists());
    // A directory given to log_artifact, a file to log_artifacts: clear errors.
    assert!(c.log_artifact(&id, dir.path(), None).is_err());
    assert!(c.log_artifacts(&id, &f, None).is_err());
    assert!(c
        .log_artifact(&id, dir.path().join("missing"), None)
        .is_err());
}

#[test]
fn experiments_may_put_artifacts_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path().join("store"))
        .open()
        .unwrap();
    let elsewhere = dir.path().join("shared-artifacts");
    let exp = c
        .create_experiment(
            NewExperiment::new("e").artifact_location(format!("file://{}", elsewhere.display())),
        )
        .unwrap();
    let id = c.create_run(&exp).unwrap().info.run_id;
    c.log_text(&id, "x", "a.txt").unwrap();
    assert!(elsewhere.join(&id).join("artifacts/a.txt").is_file());
    // A remote location is recorded, but runlog cannot write there.
    let s3 = c
        .create_experiment(NewExperiment::new("s3").artifact_location("s3://bucket/path"))
        .unwrap();
    let run = c.create_run(&s3).unwrap();
    assert_eq!(
        run.info.artifact_uri,
        format!("s3://bucket/path/{}/artifacts", run.info.run_id)
    );
    let err = c
        .log_text(&run.info.run_id, "x", "a.txt")
        .unwrap_err()
        .to_string();
    assert!(err.contains("local"), "{err}");
}

#[test]
fn a_store_moved_elsewhere_keeps_its_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path().join("a"))
        .open()
        .unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    c.log_text(&id, "kept", "f.txt").unwrap();
    drop(c);
    fs::rename(dir.path().join("a"), dir.path().join("b")).unwrap();
    let c = Client::builder()
        .store(dir.path().join("b"))
        .open()
        .unwrap();
    let out = c
        .download_artifacts(&id, Some("f.txt"), dir.path().join("out"))
        .unwrap();
    assert_eq!(fs::read_to_string(out).unwrap(), "kept");
}

#[test]
fn logging_the_directory_that_holds_the_store_terminates() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path().join("store"))
        .open()
        .unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    fs::write(dir.path().join("train.py"), b"print()").unwrap();
    // The artifact directory lies inside what is logged.
    c.log_artifacts(&id, dir.path(), None).unwrap();
    let root = c.artifact_root(&id).unwrap();
    assert!(root.join("train.py").is_file());
    assert!(root.join("store/RUNLOG").is_file());
    // The run's own artifact directory was not copied into itself.
    let nested = root.join("store/artifacts/0").join(&id).join("artifacts");
    assert!(!nested.exists(), "{} copied into itself", nested.display());
}
