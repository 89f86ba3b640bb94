"""Processes: fork (the child must not share the parent's writer thread),
spawn, SIGKILL after flush(), and the exit hook."""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import runlog as mlflow


def _log_in_child(uri, run_id, n, offset):
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    for i in range(n):
        client.log_metric(run_id, "child", float(i), step=offset + i)
    client.flush()


def _fluent_in_child(n):
    # Forked: the parent's active run is this thread's active run here too.
    for i in range(n):
        mlflow.log_metric("forked", float(i), step=i)
    mlflow.flush()


def test_a_forked_child_logs_through_its_own_lane(store):
    with mlflow.start_run() as run:
        mlflow.log_metric("parent", 1.0, step=0)
        ctx = multiprocessing.get_context("fork")
        p = ctx.Process(target=_fluent_in_child, args=(2_000,))
        p.start()
        p.join(60)
        assert p.exitcode == 0
        # The parent goes on logging through its own writer.
        for i in range(1, 100):
            mlflow.log_metric("parent", 1.0, step=i)
    client = mlflow.MlflowClient()
    assert len(client.get_metric_history(run.info.run_id, "forked")) == 2_000
    assert len(client.get_metric_history(run.info.run_id, "parent")) == 100
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_os_fork_children_and_spawned_processes_log_to_one_run(store):
    with mlflow.start_run() as run:
        pass
    pids = []
    for k in range(2):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _log_in_child(store, run.info.run_id, 1_000, k * 1_000)
            except BaseException:
                code = 1
            os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_log_in_child, args=(store, run.info.run_id, 1_000, 2_000))
    p.start()
    p.join(120)
    assert p.exitcode == 0
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(run.info.run_id, "child")]
    assert steps == list(range(3_000))


def _python(code, env=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_sigkill_after_flush_loses_nothing(store):
    out = _python(f"""
        import os, signal, runlog
        runlog.set_tracking_uri({store!r})
        run = runlog.start_run()
        print(run.info.run_id, flush=True)
        for i in range(50_000):
            runlog.log_metric("loss", i * 0.5, step=i)
        runlog.flush()
        for i in range(50_000, 60_000):
            runlog.log_metric("loss", i * 0.5, step=i)  # not flushed: may be lost
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert out.returncode == -signal.SIGKILL, out.stderr
    run_id = out.stdout.split()[0]
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(run_id, "loss")]
    assert steps[:50_000] == list(range(50_000)), "everything flushed survives"
    assert steps == list(range(len(steps))), "what survives is a prefix"


def test_the_exit_hook_ends_open_runs_finished(store):
    out = _python(f"""
        import runlog
        runlog.set_tracking_uri({store!r})
        run = runlog.start_run()
        runlog.log_metric("loss", 0.5)
        print(run.info.run_id)
    """)
    assert out.returncode == 0, out.stderr
    run = mlflow.get_run(out.stdout.split()[0])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["loss"] == 0.5


def test_logging_to_a_tracking_server_through_http(store, tmp_path, monkeypatch):
    from conftest import runlog_bin

    server = subprocess.Popen([runlog_bin(), "--tracking-uri", str(tmp_path / "served"), "server",
                               "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = next(w for w in line.split() if w.startswith("http://"))
        monkeypatch.setenv("RUNLOG_SPOOL_DIR", str(tmp_path / "spool"))
        mlflow.set_tracking_uri(url)
        with mlflow.start_run(run_name="remote") as run:
            mlflow.log_param("lr", 0.1)
            for i in range(5_000):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        # Ending the run waited until the server had everything.
        client = mlflow.MlflowClient(url)
        got = client.get_run(run.info.run_id)
        assert got.info.status == "FINISHED" and got.info.run_name == "remote"
        assert got.data.params == {"lr": "0.1"}
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == list(range(5_000))
    finally:
        server.terminate()
        server.wait(30)
        mlflow.set_tracking_uri(store)
