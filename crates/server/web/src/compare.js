// Runs side by side ("#/compare?e=<ids>&runs=<ids>"): their attributes,
// params, latest metrics and tags in one table, one column per run, the
// rows whose values differ marked (and the others hidden on request), the
// best value of each metric in bold (the lowest for names that read like a
// loss or an error, else the highest), and the runs' charts below.
import { api } from "./api.js";
import { chartPanel } from "./charts.js";
import { download, el } from "./dom.js";
import { tagOf } from "./entities.js";
import { fmtDuration, fmtNumber, fmtTime } from "./numbers.js";
import { list, route, setParams } from "./router.js";
import { csvField, runColumns } from "./runs-table.js";

/** Whether a lower value of metric `key` is the better one. */
export function lowerIsBetter(key) {
  return /loss|err|mse|mae|rmse|perplexity|time|latency|wer|cer|nll|distance|cost|regret/i.test(key);
}

/** The rows of the comparison: [section, label, values per run]. */
function comparedRows(runs) {
  const rows = [
    ["Attributes", "Status", runs.map((r) => r.info.status)],
    ["Attributes", "Started", runs.map((r) => fmtTime(r.info.start_time))],
    ["Attributes", "Duration", runs.map((r) => fmtDuration((r.info.end_time || Date.now()) - r.info.start_time))],
    ["Attributes", "User", runs.map((r) => r.info.user_id)],
    ["Attributes", "Parent", runs.map((r) => tagOf(r, "mlflow.parentRunId") || "")],
  ];
  // Params, metrics and the runs' own tags: the runs table's columns.
  const section = {p: "Params", m: "Metrics", t: "Tags"};
  for (const col of runColumns(runs)) {
    if (section[col.group]) rows.push([section[col.group], col.title, runs.map((r) => col.value(r))]);
  }
  return rows;
}

/** Whether a row's values are not all the same (a missing value counts). */
function differs(values) {
  return values.some((v) => String(v ?? "") !== String(values[0] ?? ""));
}

/** The index of a metric row's best value, or -1. */
function bestOf(key, values) {
  let best = -1;
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return;
    if (best < 0 || (lowerIsBetter(key) ? v < values[best] : v > values[best])) best = i;
  });
  return best;
}

export async function compareView(_rest, params, {view, crumbs}) {
  const ids = list(params, "runs");
  const experimentIds = list(params, "e");
  if (ids.length === 0) throw new Error("No runs to compare: tick them in a runs table.");
  const runs = (await Promise.all(ids.map((id) => api(`mlflow/runs/get?run_id=${encodeURIComponent(id)}`)
    .then((r) => r.run, () => null)))).filter(Boolean);
  if (runs.length === 0) throw new Error("None of these runs exists.");
  const back = experimentIds.length ? `#/runs?e=${experimentIds.join(",")}&sel=${ids.join(",")}` : null;
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ",
    back ? el("a", {href: back}, "Runs") : "Runs", " / ", `Compare ${runs.length}`);
  const rows = comparedRows(runs);
  const onlyDiffs = el("input", {type: "checkbox", id: "only-differences", checked: params.get("diff") === "1",
    onchange: (ev) => { setParams({diff: ev.target.checked ? "1" : null}); draw(); }});
  const tableBox = el("div", {id: "compare-box"});
  const draw = () => {
    const [, p] = route();
    const only = p.get("diff") === "1";
    let section = "";
    const body = [];
    for (const [sec, label, values] of rows) {
      const diff = differs(values);
      if (only && !diff && sec !== "Attributes") continue;
      if (sec !== section) {
        section = sec;
        body.push(el("tr", {class: "section"}, el("th", {colspan: runs.length + 1}, sec)));
      }
      const best = sec === "Metrics" && runs.length > 1 ? bestOf(label, values) : -1;
      body.push(el("tr", {class: diff ? "differs" : null, "data-row": `${sec}:${label}`},
        el("th", {class: "pin pin-0", title: label}, label),
        values.map((v, i) => el("td", {class: [sec === "Metrics" ? "num" : "", i === best ? "best" : ""]
          .filter(Boolean).join(" ") || null, title: v ?? ""},
        sec === "Metrics" ? fmtNumber(v) : (v ?? "")))));
    }
    tableBox.replaceChildren(el("table", {id: "compare"},
      el("thead", {}, el("tr", {}, el("th", {class: "pin pin-0"}, ""), runs.map((r) => el("th", {},
        el("a", {href: `#/run/${encodeURIComponent(r.info.run_id)}`}, r.info.run_name || r.info.run_id))))),
      el("tbody", {}, body)));
  };
  const csv = el("button", {id: "compare-csv", onclick: () => {
    const lines = [["section", "key", ...runs.map((r) => r.info.run_name || r.info.run_id)].map(csvField).join(",")];
    for (const [sec, label, values] of rows) lines.push([sec, label, ...values].map(csvField).join(","));
    download("compare.csv", lines.join("\r\n") + "\r\n", "text/csv");
  }}, "CSV");
  const known = new Map(runs.map((r) => [r.info.run_id, r]));
  const chartsBox = el("div", {id: "charts"});
  view.replaceChildren(el("div", {class: "toolbar"}, el("label", {}, onlyDiffs, " only differences"), csv,
    el("span", {class: "muted"}, "rows that differ are marked; the best value of each metric is bold")),
  tableBox, chartsBox);
  draw();
  // The charts read the runs from the URL's "sel"; here they are "runs".
  const charts = chartPanel(chartsBox, known, () => ids);
  await charts.update();
  return {stop() { charts.stop(); }};
}
