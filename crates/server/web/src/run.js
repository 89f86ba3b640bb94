// One run: its attributes, description, latest metrics, params, tags (its
// own apart from MLflow's), dataset inputs in words, parent and children,
// and its artifacts (text and images shown inline). Its name, description
// and tags are edited here, and it is deleted or restored.
import { API, api } from "./api.js";
import { el, kvTable, statusBadge } from "./dom.js";
import { nameEditor, noteEditor, tagsEditor } from "./edit.js";
import { NOTE_TAG, tagOf } from "./entities.js";
import { redraw } from "./router.js";
import { fmtBytes, fmtDuration, fmtNumber, fmtTime } from "./numbers.js";

export async function runView(runId, _params, {view, crumbs}) {
  const {run} = await api(`mlflow/runs/get?run_id=${encodeURIComponent(runId)}`);
  const info = run.info;
  const exp = await api(`mlflow/experiments/get?experiment_id=${encodeURIComponent(info.experiment_id)}`)
    .then((r) => r.experiment, () => ({name: info.experiment_id}));
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ",
    el("a", {href: `#/runs?e=${encodeURIComponent(info.experiment_id)}`}, exp.name), " / ",
    info.run_name || runId);
  const parent = tagOf(run, "mlflow.parentRunId");
  const children = await api("mlflow/runs/search", {experiment_ids: [info.experiment_id],
    filter: `tags.mlflow.parentRunId = '${runId.replace(/'/g, "")}'`, max_results: 1000})
    .then((r) => r.runs || [], () => []);
  const inputs = ((run.inputs || {}).dataset_inputs || []).map((d) => [d.dataset.name, datasetSummary(d)]);
  const tags = run.data.tags || [];
  const userTags = tags.filter((t) => !t.key.startsWith("mlflow."));
  const systemTags = tags.filter((t) => t.key.startsWith("mlflow."));
  const deleted = info.lifecycle_stage === "deleted";
  const runCall = (path, body) => api(path, {run_id: runId, ...body});
  const lifecycle = el("button", {id: "run-lifecycle", onclick: async () => {
    if (!confirm(`${deleted ? "Restore" : "Delete"} run ${info.run_name || runId}?`)) return;
    try {
      await runCall(deleted ? "mlflow/runs/restore" : "mlflow/runs/delete", {});
      redraw(); // the page again, as the run now is
    } catch (e) {
      lifecycleError.textContent = e.message;
    }
  }}, deleted ? "Restore run" : "Delete run");
  const lifecycleError = el("span", {class: "error", role: "alert"});
  view.replaceChildren(
    el("section", {}, nameEditor(info.run_name || runId, async (name) => {
      if (!name) throw new Error("A run needs a name.");
      await runCall("mlflow/runs/update", {run_name: name});
    }), el("div", {class: "toolbar"}, deleted ? el("span", {class: "status-failed", id: "run-deleted"},
      "Deleted (kept until garbage-collected; restore it to list it again)") : null, lifecycle, lifecycleError),
    kvTable([
      ["Run id", runId],
      ["Status", statusBadge(info.status)],
      ["Started", fmtTime(info.start_time)],
      ["Duration", fmtDuration((info.end_time || Date.now()) - info.start_time)],
      ["User", info.user_id],
      ["Artifacts", info.artifact_uri],
      ["Parent", parent ? el("a", {href: `#/run/${encodeURIComponent(parent)}`}, parent) : "none"],
      ["Children", children.length ? children.map((c) => el("a", {href: `#/run/${encodeURIComponent(c.info.run_id)}`,
        style: "margin-right:8px"}, c.info.run_name || c.info.run_id)) : "none"],
      ["Compare", el("a", {href: `#/runs?e=${encodeURIComponent(info.experiment_id)}&sel=${encodeURIComponent(runId)}`},
        "charts of this run")],
    ])),
    el("section", {id: "run-note"}, el("h2", {}, "Description"),
      noteEditor("run-description", tagOf(run, NOTE_TAG) || "", (text) => runCall("mlflow/runs/set-tag",
        {key: NOTE_TAG, value: text}))),
    el("section", {}, el("h2", {}, "Metrics (latest)"),
      kvTable((run.data.metrics || []).map((m) => [m.key, `${fmtNumber(m.value)} at step ${m.step}, ${fmtTime(m.timestamp)}`]))),
    el("section", {}, el("h2", {}, "Parameters"), kvTable((run.data.params || []).map((p) => [p.key, p.value]))),
    el("section", {id: "run-tags"}, el("h2", {}, "Tags"),
      tagsEditor(userTags, (key, value) => runCall("mlflow/runs/set-tag", {key, value}),
        (key) => runCall("mlflow/runs/delete-tag", {key})),
      systemTags.length ? el("details", {id: "system-tags"}, el("summary", {}, `System tags (${systemTags.length})`),
        kvTable(systemTags.map((t) => [t.key, t.value]))) : null),
    el("section", {}, el("h2", {}, "Dataset inputs"), inputs.length ? kvTable(inputs) : el("p", {class: "muted"}, "none")),
    el("section", {}, el("h2", {}, "Artifacts"), await artifactTree(runId, "")));
  return {};
}

/** A parsed JSON document, or null. */
function parseJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}

/** A dataset input in words: where it came from (the source's URI, path
 * or table rather than its JSON), its size when profiled, its context
 * (training, eval) and digest. */
function datasetSummary(input) {
  const d = input.dataset;
  const source = parseJson(d.source);
  const where = source && typeof source === "object"
    ? source.uri || source.url || source.path || source.table_name || source.file ||
      Object.entries(source).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")
    : d.source;
  const profile = parseJson(d.profile || "") || {};
  const rows = profile.num_rows ?? profile.num_elements;
  const context = (input.tags || []).find((t) => t.key === "mlflow.data.context");
  return [
    context ? `${context.value}: ` : "",
    `${where} (${d.source_type})`,
    rows !== undefined ? `, ${Number(rows).toLocaleString("en-US")} ${profile.num_rows !== undefined ? "rows" : "elements"}` : "",
    `, digest ${d.digest}`,
  ].join("");
}

const TEXT = /\.(txt|log|md|csv|tsv|json|ya?ml|toml|py|sh|cfg|ini|html?|xml)$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;

/** The artifacts under `path`: directories open on click, text files and
 * images are shown inline, every file can be downloaded. */
async function artifactTree(runId, path) {
  const q = (p) => `run_id=${encodeURIComponent(runId)}&path=${encodeURIComponent(p)}`;
  const {files = []} = await api(`runlog/artifacts?${q(path)}`);
  if (files.length === 0) return el("p", {class: "muted"}, path ? "empty" : "none");
  return el("ul", {class: "artifacts"}, files.map((f) => {
    const full = path ? `${path}/${f.path}` : f.path;
    const url = `${API}runlog/artifact?${q(full)}`;
    if (f.is_dir) {
      const item = el("li", {}, el("a", {href: "#", onclick: async (ev) => {
        ev.preventDefault();
        if (item.childNodes.length > 1) { item.lastChild.remove(); return; }
        item.append(await artifactTree(runId, full));
      }}, `${f.path}/`));
      return item;
    }
    const item = el("li", {"data-artifact": full}, el("a", {href: url, download: f.path.split("/").pop()}, f.path),
      el("span", {class: "muted", title: `${f.file_size ?? 0} bytes`}, ` ${fmtBytes(f.file_size ?? 0)} `));
    if (IMAGE.test(f.path)) item.append(el("div", {}, el("img", {src: url, alt: f.path, style: "max-width:480px"})));
    else if (TEXT.test(f.path) && (f.file_size ?? 0) <= 1 << 20) {
      const pre = el("pre", {class: "artifact"}, "");
      item.append(pre);
      fetch(url).then((r) => r.text()).then((t) => { pre.textContent = t; });
    }
    return item;
  }));
}
