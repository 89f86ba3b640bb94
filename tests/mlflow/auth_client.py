"""MLflow's own auth client (3.17's API) and its tracking client against a
server with sign-in (`--app-name basic-auth`): the same script passes
against `runlog server` and `mlflow server`, so what MLflow's clients see
is the same.

Env: MLFLOW_TRACKING_URI (the server), RUNLOG_TOKENS=1 to also check
runlog's API tokens (MLFLOW_TRACKING_TOKEN). Prints "all checks passed".
"""
import os

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException
from mlflow.server import get_app_client

uri = os.environ["MLFLOW_TRACKING_URI"]


def as_user(name, password):
    os.environ["MLFLOW_TRACKING_USERNAME"] = name
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password


def denied(call, code="PERMISSION_DENIED"):
    try:
        call()
    except (MlflowException, RestException) as e:
        assert e.error_code == code, (e.error_code, str(e))
        return
    raise AssertionError("expected " + code)


as_user("admin", os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])
auth = get_app_client("basic-auth", tracking_uri=uri)
user = auth.create_user("alice", "alice-password-1")
assert user.username == "alice" and not user.is_admin, user
assert auth.get_user("alice").id == user.id
denied(lambda: auth.create_user("alice", "again-password"), "RESOURCE_ALREADY_EXISTS")
auth.create_user("bob", "bob-password-1")
client = MlflowClient(uri)
shared = client.create_experiment("shared")
secret = client.create_experiment("secret")
run = client.create_run(shared)
client.log_metric(run.info.run_id, "loss", 0.5, step=1)

denied(lambda: auth.grant_user_permission("alice", "experiment", secret, "NO_PERMISSIONS"),
       "INVALID_PARAMETER_VALUE")
auth.grant_user_permission("alice", "experiment", secret, "DENY")
got = auth.get_user_permission("alice", "experiment", secret)
assert (got.permission, got.allowed) == ("DENY", False), got.permission
denied(lambda: auth.grant_user_permission("alice", "experiment", secret, "READ"),
       "RESOURCE_ALREADY_EXISTS")
auth.grant_user_permission("alice", "experiment", shared, "READ")
auth.revoke_user_permission("alice", "experiment", shared)
auth.grant_user_permission("alice", "experiment", shared, "EDIT")
got = auth.get_user_permission("alice", "experiment", shared)
assert (got.permission, got.allowed) == ("EDIT", True), got.permission
denied(lambda: auth.grant_user_permission("alice", "experiment", shared, "ROOT"),
       "INVALID_PARAMETER_VALUE")
denied(lambda: auth.get_user_permission("nobody", "experiment", shared),
       "RESOURCE_DOES_NOT_EXIST")

# Alice: EDIT on "shared", nothing on "secret", the default (READ) elsewhere.
as_user("alice", "alice-password-1")
client = MlflowClient(uri)
names = {e.name for e in client.search_experiments()}
assert "shared" in names and "secret" not in names, names
denied(lambda: client.get_experiment(secret))
denied(lambda: client.create_run(secret))
client.log_metric(run.info.run_id, "loss", 0.4, step=2)
assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [0.5, 0.4]
denied(lambda: client.delete_run(run.info.run_id))
denied(lambda: auth.create_user("eve", "eve-password-1"))
denied(lambda: auth.grant_user_permission("alice", "experiment", secret, "READ"))
mlflow.set_tracking_uri(uri)
mine = mlflow.create_experiment("alices")
with mlflow.start_run(experiment_id=mine):
    mlflow.log_param("lr", 0.1)
    mlflow.log_metric("acc", 0.9)
client.delete_experiment(mine)  # its creator manages it
auth.update_user_password("alice", "alice-password-2", current_password="alice-password-1")
as_user("alice", "alice-password-2")
assert MlflowClient(uri).get_experiment(shared).name == "shared"

# Bob has the default permission: READ.
as_user("bob", "bob-password-1")
client = MlflowClient(uri)
assert client.get_run(run.info.run_id).data.metrics["loss"] == 0.4
denied(lambda: client.log_metric(run.info.run_id, "loss", 0.1))
as_user("bob", "wrong")
denied(lambda: MlflowClient(uri).get_experiment(shared), "UNAUTHENTICATED")

as_user("admin", os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])
auth.update_user_password("bob", "bob-password-2")  # an admin, for another user
as_user("bob", "bob-password-2")
assert MlflowClient(uri).get_experiment(shared).name == "shared"
as_user("admin", os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])
auth.update_user_admin("bob", True)
assert auth.get_user("bob").is_admin
auth.revoke_user_permission("alice", "experiment", secret)
auth.delete_user("bob")
denied(lambda: auth.get_user("bob"), "RESOURCE_DOES_NOT_EXIST")

# The registry and logged models: a registered model's creator manages it,
# others have the default (READ); a logged model takes its experiment's
# permission; a DENY hides a registered model from searches too.
auth.create_user("carol", "carol-password-1")
as_user("alice", "alice-password-2")
client = MlflowClient(uri)
client.create_registered_model("alices-model")
model = client.create_logged_model(experiment_id=shared, name="lm")
client.finalize_logged_model(model.model_id, "READY")
client.create_model_version("alices-model", f"models:/{model.model_id}", model_id=model.model_id)
client.update_registered_model("alices-model", description="mine")
as_user("carol", "carol-password-1")
client = MlflowClient(uri)
assert client.get_registered_model("alices-model").description == "mine"
assert client.get_model_version("alices-model", "1").version == "1"
assert client.get_logged_model(model.model_id).name == "lm"
denied(lambda: client.update_registered_model("alices-model", description="carol's"))
denied(lambda: client.delete_registered_model("alices-model"))
denied(lambda: client.set_logged_model_tags(model.model_id, {"k": "v"}))
denied(lambda: client.delete_logged_model(model.model_id))
assert "alices-model" in {m.name for m in client.search_registered_models()}
as_user("admin", os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])
auth.grant_user_permission("carol", "registered_model", "alices-model", "DENY")
auth.grant_user_permission("carol", "experiment", shared, "DENY")
as_user("carol", "carol-password-1")
client = MlflowClient(uri)
# A search leaves out what the user may not read, rather than refusing.
assert model.model_id not in {m.model_id for m in client.search_logged_models(experiment_ids=[shared])}
denied(lambda: client.get_logged_model(model.model_id))
assert "alices-model" not in {m.name for m in client.search_registered_models()}
denied(lambda: client.get_registered_model("alices-model"))
as_user("alice", "alice-password-2")
MlflowClient(uri).rename_registered_model("alices-model", "alices-model-2")
as_user("carol", "carol-password-1")
denied(lambda: MlflowClient(uri).get_registered_model("alices-model-2"))  # the DENY follows
as_user("alice", "alice-password-2")
MlflowClient(uri).delete_registered_model("alices-model-2")  # its creator manages it
MlflowClient(uri).create_registered_model("alices-model-2")
as_user("carol", "carol-password-1")
assert MlflowClient(uri).get_registered_model("alices-model-2").name == "alices-model-2"  # went with it

if os.environ.get("RUNLOG_TOKENS") == "1":
    import requests

    token = requests.post(f"{uri}/api/2.0/runlog/tokens/create", json={"description": "ci"},
                          auth=("alice", "alice-password-2")).json()["token"]
    del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    client = MlflowClient(uri)
    assert client.get_experiment(shared).name == "shared"
print("all checks passed")
