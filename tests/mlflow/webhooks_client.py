"""MLflow's client drives a server's registry webhooks (tests/webhooks.rs).

Usage: webhooks_client.py <server url> <receiver url>

Creates webhooks pointing at the receiver, makes every registry change a
webhook hears of (models, versions, tags, aliases, and a prompt), tests a
webhook, disables one and changes the registry again (no delivery must
follow), and prints what the API answered as one JSON document, ids and
times left out, so that the test can compare two servers.
"""

import json
import sys

import mlflow
import requests
from mlflow import MlflowClient

server, receiver = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(server)
client = MlflowClient()
api = f"{server}/api/2.0/mlflow"
out = {}

MODEL_EVENTS = [
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
]
PROMPT_EVENTS = [
    "prompt.created",
    "prompt_version.created",
    "prompt_tag.set",
    "prompt_tag.deleted",
    "prompt_alias.created",
]


def shape(webhook):
    """A webhook as the API answers it, without its id and times."""
    w = dict(webhook)
    for key in ("webhook_id", "creation_timestamp", "last_updated_timestamp"):
        assert key in w, (key, w)
        w.pop(key)
    return w


signed = client.create_webhook(
    name="models.signed",
    url=f"{receiver}/signed",
    events=MODEL_EVENTS,
    description="every model event, signed",
    secret="s3cret-key",
)
plain = client.create_webhook(
    name="prompts", url=f"{receiver}/plain", events=PROMPT_EVENTS
)
out["created"] = [str(e) for e in signed.events]
out["get"] = shape(requests.get(f"{api}/webhooks/{signed.webhook_id}").json()["webhook"])
out["list"] = [shape(w) for w in requests.get(f"{api}/webhooks").json()["webhooks"]]
page = requests.get(f"{api}/webhooks", params={"max_results": 1}).json()
out["page_sizes"] = [len(page["webhooks"]), "next_page_token" in page]

# The registry's changes.
client.create_registered_model("reg", tags={"team": "a"}, description="a model")
with mlflow.start_run() as run:
    mlflow.log_param("p", 1)
client.create_model_version(
    "reg",
    f"runs:/{run.info.run_id}/model",
    run_id=run.info.run_id,
    tags={"t": "v"},
    description="first",
)
client.set_model_version_tag("reg", "1", "stage", "ok")
client.delete_model_version_tag("reg", "1", "stage")
client.set_registered_model_alias("reg", "champion", "1")
client.delete_registered_model_alias("reg", "champion")
# Not heard of: a registered model's tag, a description.
client.set_registered_model_tag("reg", "quiet", "1")
client.update_registered_model("reg", description="changed")

mlflow.genai.register_prompt(name="greet", template="Hello {{name}}!", commit_message="c1")
mlflow.genai.set_prompt_alias("greet", alias="prod", version=1)

# Tests: the webhook's first event, then a chosen one.
first = client.test_webhook(signed.webhook_id)
chosen = client.test_webhook(plain.webhook_id, event="prompt_alias.created")
out["tests"] = [
    [first.success, first.response_status, first.response_body],
    [chosen.success, chosen.response_status, chosen.response_body],
]

# Disabled: no delivery for the alias set below.
updated = client.update_webhook(signed.webhook_id, status="DISABLED", description="off")
out["updated"] = [str(updated.status), updated.description]
client.set_registered_model_alias("reg", "after-disable", "1")

# Errors, by code.
def code(r):
    return [r.status_code, r.json().get("error_code")]

out["errors"] = {
    "bad_name": code(requests.post(f"{api}/webhooks", json={
        "name": "-bad", "url": f"{receiver}/x",
        "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]})),
    "bad_scheme": code(requests.post(f"{api}/webhooks", json={
        "name": "ok", "url": "ftp://example.com/x",
        "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]})),
    "bad_pair": code(requests.post(f"{api}/webhooks", json={
        "name": "ok", "url": f"{receiver}/x",
        "events": [{"entity": "REGISTERED_MODEL", "action": "SET"}]})),
    "no_events": code(requests.post(f"{api}/webhooks", json={
        "name": "ok", "url": f"{receiver}/x", "events": []})),
    "no_name": code(requests.post(f"{api}/webhooks", json={
        "url": f"{receiver}/x",
        "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]})),
    "missing": code(requests.get(f"{api}/webhooks/no-such-id")),
    "big_page": code(requests.get(f"{api}/webhooks", params={"max_results": 1001})),
}
client.delete_webhook(plain.webhook_id)
out["after_delete"] = code(requests.get(f"{api}/webhooks/{plain.webhook_id}"))
out["left"] = [w.name for w in client.list_webhooks()]
out["run_id"] = run.info.run_id
print(json.dumps(out, sort_keys=True))
