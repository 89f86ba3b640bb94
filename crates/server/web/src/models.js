// Models: MLflow 3's logged models (what autolog and log_model make:
// params, metrics, artifacts, the run that made them) and the model
// registry (registered models, their versions, stages and aliases), each
// linked to its runs. Routed "#/models", "#/model/<model_id>",
// "#/registered/<name>".
import { api } from "./api.js";
import { el, kvTable } from "./dom.js";
import { fmtNumber, fmtTime } from "./numbers.js";

function runLink(runId) {
  return runId ? el("a", {href: `#/run/${encodeURIComponent(runId)}`}, runId) : "none";
}

function modelLink(m) {
  return el("a", {href: `#/model/${encodeURIComponent(m.info.model_id)}`}, m.info.name || m.info.model_id);
}

function registeredLink(name) {
  return el("a", {href: `#/registered/${encodeURIComponent(name)}`}, name);
}

/** "LOGGED_MODEL_READY" -> "ready". */
function modelStatus(status) {
  return (status || "").replace(/^LOGGED_MODEL_/, "").replace("_", " ").toLowerCase();
}

/** Every logged model of the experiments, newest first (a page of 100 at a time). */
async function allLoggedModels(experimentIds) {
  const models = [];
  if (experimentIds.length === 0) return models;
  let token;
  do {
    const page = await api("mlflow/logged-models/search",
      {experiment_ids: experimentIds, max_results: 100, ...(token ? {page_token: token} : {})});
    models.push(...(page.models || []));
    token = page.next_page_token;
  } while (token && models.length < 10000);
  return models;
}

/** The latest value of each metric of a logged model. */
function latestModelMetrics(model) {
  const latest = new Map();
  for (const m of (model.data && model.data.metrics) || []) {
    const seen = latest.get(m.key);
    if (!seen || m.timestamp > seen.timestamp || (m.timestamp === seen.timestamp && m.step > seen.step)) {
      latest.set(m.key, m);
    }
  }
  return [...latest.values()];
}

export async function modelsView(_rest, _params, {view, crumbs}) {
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ", "Models");
  const [{experiments = []}, registry] = await Promise.all([
    api("runlog/experiments?view_type=ACTIVE_ONLY"),
    api("mlflow/registered-models/search?max_results=1000"),
  ]);
  const names = new Map(experiments.map((e) => [e.experiment_id, e.name]));
  const logged = await allLoggedModels(experiments.map((e) => e.experiment_id));
  const registered = registry.registered_models || [];
  view.replaceChildren(
    el("section", {}, el("h2", {}, `Registered models (${registered.length})`),
      registered.length === 0 ? el("p", {class: "muted"}, "none: register one with mlflow.register_model") :
        el("table", {id: "registered-models"},
          el("thead", {}, el("tr", {}, ["Name", "Latest versions", "Aliases", "Description", "Updated"]
            .map((h) => el("th", {}, h)))),
          el("tbody", {}, registered.map((r) => el("tr", {"data-registered": r.name},
            el("td", {}, registeredLink(r.name)),
            el("td", {}, (r.latest_versions || []).map((v) => `v${v.version} (${v.current_stage})`).join(", ")),
            el("td", {}, (r.aliases || []).map((a) => `@${a.alias} \u2192 v${a.version}`).join(", ")),
            el("td", {}, r.description || ""),
            el("td", {}, fmtTime(r.last_updated_timestamp))))))),
    el("section", {}, el("h2", {}, `Logged models (${logged.length})`),
      logged.length === 0 ? el("p", {class: "muted"}, "none: autolog and log_model make them") :
        el("table", {id: "logged-models"},
          el("thead", {}, el("tr", {}, ["Name", "Experiment", "Status", "Source run", "Metrics", "Created"]
            .map((h) => el("th", {}, h)))),
          el("tbody", {}, logged.map((m) => el("tr", {"data-model-id": m.info.model_id},
            el("td", {}, modelLink(m)),
            el("td", {}, el("a", {href: `#/runs?e=${encodeURIComponent(m.info.experiment_id)}`},
              names.get(m.info.experiment_id) || m.info.experiment_id)),
            el("td", {}, modelStatus(m.info.status)),
            el("td", {}, runLink(m.info.source_run_id)),
            el("td", {}, latestModelMetrics(m).slice(0, 3).map((x) => `${x.key} ${fmtNumber(x.value)}`).join(", ")),
            el("td", {}, fmtTime(m.info.creation_timestamp_ms))))))));
  return {};
}

/** The download URL of a served artifact under a `mlflow-artifacts:/` root. */
function servedUrl(root, path) {
  const rest = (root || "").replace(/^mlflow-artifacts:\/*/, "");
  if (rest === root) return null; // not served by this server
  return `/api/2.0/mlflow-artifacts/artifacts/${rest}/${path}`.replace(/\/+/g, "/");
}

/** The files under `path` of a logged model; directories open on click. */
async function modelArtifacts(modelId, root, path) {
  const q = path ? `?artifact_directory_path=${encodeURIComponent(path)}` : "";
  const {files = []} = await api(`mlflow/logged-models/${encodeURIComponent(modelId)}/artifacts/directories${q}`);
  if (files.length === 0) return el("p", {class: "muted"}, path ? "empty" : "none");
  return el("ul", {class: "artifacts"}, files.map((f) => {
    const name = f.path.split("/").pop();
    if (f.is_dir) {
      const item = el("li", {}, el("a", {href: "#", onclick: async (ev) => {
        ev.preventDefault();
        if (item.childNodes.length > 1) { item.lastChild.remove(); return; }
        item.append(await modelArtifacts(modelId, root, f.path));
      }}, `${name}/`));
      return item;
    }
    const url = servedUrl(root, f.path);
    return el("li", {"data-artifact": f.path},
      url ? el("a", {href: url, download: name}, name) : name,
      el("span", {class: "muted"}, ` ${f.file_size ?? 0} bytes`));
  }));
}

export async function modelView(modelId, _params, {view, crumbs}) {
  const {model} = await api(`mlflow/logged-models/${encodeURIComponent(modelId)}`);
  const info = model.info;
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ", el("a", {href: "#/models"}, "Models"),
    " / ", info.name || modelId);
  // The registered versions made from it (by model id, whoever made them).
  const found = await api(`mlflow/model-versions/search?filter=${
    encodeURIComponent(`model_id = '${modelId.replace(/'/g, "")}'`)}`).catch(() => ({}));
  const versions = found.model_versions || [];
  const metrics = (model.data.metrics || []).map((m) =>
    [m.key, `${fmtNumber(m.value)} at step ${m.step}` + (m.dataset_name ? ` on ${m.dataset_name}` : "")]);
  view.replaceChildren(
    el("section", {}, el("h2", {}, info.name || modelId), kvTable([
      ["Model id", modelId],
      ["Status", modelStatus(info.status)],
      ["Experiment", el("a", {href: `#/runs?e=${encodeURIComponent(info.experiment_id)}`}, info.experiment_id)],
      ["Source run", runLink(info.source_run_id)],
      ["Type", info.model_type || ""],
      ["Created", fmtTime(info.creation_timestamp_ms)],
      ["Artifacts", info.artifact_uri],
      ["Registered as", versions.length ? versions.map((v) =>
        el("a", {href: `#/registered/${encodeURIComponent(v.name)}`, style: "margin-right:8px"},
          `${v.name} v${v.version}`)) : "not registered"],
      ["Load with", `mlflow.pyfunc.load_model("models:/${modelId}")`],
    ])),
    el("section", {}, el("h2", {}, "Metrics"),
      metrics.length ? kvTable(metrics) : el("p", {class: "muted"}, "none")),
    el("section", {}, el("h2", {}, "Parameters"),
      kvTable((model.data.params || []).map((p) => [p.key, p.value]))),
    el("section", {}, el("h2", {}, "Tags"),
      kvTable((info.tags || []).map((t) => [t.key, t.value]))),
    el("section", {}, el("h2", {}, "Artifacts"), await modelArtifacts(modelId, info.artifact_uri, "")));
  return {};
}

export async function registeredView(name, _params, {view, crumbs}) {
  const q = `name=${encodeURIComponent(name)}`;
  const [{registered_model: r}, found] = await Promise.all([
    api(`mlflow/registered-models/get?${q}`),
    api(`mlflow/model-versions/search?filter=${encodeURIComponent(`name = '${name.replace(/'/g, "\\'")}'`)}`),
  ]);
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ", el("a", {href: "#/models"}, "Models"),
    " / ", name);
  const aliases = new Map();
  for (const a of r.aliases || []) {
    aliases.set(a.version, [...(aliases.get(a.version) || []), `@${a.alias}`]);
  }
  const versions = found.model_versions || [];
  view.replaceChildren(
    el("section", {}, el("h2", {}, name), kvTable([
      ["Description", r.description || ""],
      ["Created", fmtTime(r.creation_timestamp)],
      ["Updated", fmtTime(r.last_updated_timestamp)],
      ["Tags", (r.tags || []).map((t) => `${t.key}=${t.value}`).join(", ")],
      ["Load with", `mlflow.pyfunc.load_model("models:/${name}/<version>")`],
    ])),
    el("section", {}, el("h2", {}, `Versions (${versions.length})`),
      el("table", {id: "model-versions"},
        el("thead", {}, el("tr", {}, ["Version", "Stage", "Aliases", "From", "Run", "Created", "Description"]
          .map((h) => el("th", {}, h)))),
        el("tbody", {}, versions.map((v) => el("tr", {"data-version": v.version},
          el("td", {class: "num"}, `v${v.version}`),
          el("td", {}, v.current_stage),
          el("td", {}, (aliases.get(v.version) || []).join(", ")),
          el("td", {}, v.model_id ? el("a", {href: `#/model/${encodeURIComponent(v.model_id)}`}, v.model_id) : v.source),
          el("td", {}, runLink(v.run_id)),
          el("td", {}, fmtTime(v.creation_timestamp)),
          el("td", {}, v.description || "")))))));
  return {};
}
