// The runs of one or more experiments: a table searched with MLflow's
// filter language, sorted, paged and refreshed while runs are live; the
// ticked runs' charts below it (charts.js).
import { api } from "./api.js";
import { chartPanel } from "./charts.js";
import { el, statusBadge, statusLine } from "./dom.js";
import { metricsOf, paramsOf, tagOf } from "./entities.js";
import { fmtDuration, fmtNumber, fmtTime } from "./numbers.js";
import { list, route, setParams } from "./router.js";

const PAGE_SIZE = 100;
const LIVE_MS = 1000;

/** The columns of the runs table: [id, header, value(run), sort key or null]. */
function runColumns(runs) {
  const params = new Set(), metrics = new Set();
  for (const r of runs) {
    for (const p of r.data.params || []) params.add(p.key);
    for (const m of r.data.metrics || []) metrics.add(m.key);
  }
  const cols = [
    ["name", "Run", (r) => r.info.run_name, "attributes.run_name"],
    ["status", "Status", (r) => r.info.status, "attributes.status"],
    ["start", "Started", (r) => r.info.start_time, "attributes.start_time"],
    ["duration", "Duration", (r) => (r.info.end_time || Date.now()) - r.info.start_time, null],
    ["user", "User", (r) => r.info.user_id, "attributes.user_id"],
  ];
  for (const k of [...params].sort()) cols.push([`p.${k}`, k, (r) => paramsOf(r)[k], `params.\`${k}\``]);
  for (const k of [...metrics].sort()) cols.push([`m.${k}`, k, (r) => metricsOf(r)[k], `metrics.\`${k}\``]);
  return cols;
}

/** Children right after their parent when both are on the page. */
function grouped(runs) {
  const ids = new Set(runs.map((r) => r.info.run_id));
  const children = new Map();
  const top = [];
  for (const r of runs) {
    const parent = tagOf(r, "mlflow.parentRunId");
    if (parent && ids.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(r);
    } else top.push(r);
  }
  const out = [];
  const visit = (r, depth) => {
    out.push([r, depth]);
    for (const c of children.get(r.info.run_id) || []) visit(c, depth + 1);
  };
  top.forEach((r) => visit(r, 0));
  return out;
}

export async function runsView(_rest, params, {view, crumbs}) {
  const experimentIds = list(params, "e");
  if (experimentIds.length === 0) throw new Error("No experiment chosen: open one from the experiments page.");
  const names = await Promise.all(experimentIds.map((id) =>
    api(`mlflow/experiments/get?experiment_id=${encodeURIComponent(id)}`).then((r) => r.experiment.name, () => id)));
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ", names.join(", "));

  const known = new Map(); // run id -> run, every run seen
  const tokens = [""]; // page tokens: tokens[i] opens page i
  let page = 0;
  let stopped = false;
  let runs = [];

  const filter = el("input", {type: "text", id: "filter", value: params.get("f") || "",
    placeholder: "MLflow filter, e.g. metrics.loss < 0.5 and params.lr = '0.01'",
    "aria-label": "Filter runs"});
  const filterError = el("div", {class: "error", id: "filter-error", role: "alert"});
  const tableBox = el("div", {id: "runs-box"});
  const pager = el("span", {class: "muted", id: "pager"});
  const columnsBox = el("details", {class: "columns"}, el("summary", {}, "Columns"), el("div"));
  const chartsBox = el("div", {id: "charts"});
  filter.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { setParams({f: filter.value}); tokens.length = 1; page = 0; load(); }
  });
  const prev = el("button", {onclick: () => { if (page > 0) { page--; load(); } }}, "Previous");
  const next = el("button", {onclick: () => { if (tokens[page + 1]) { page++; load(); } }}, "Next");

  view.replaceChildren(
    el("div", {class: "toolbar"}, filter, el("button", {onclick: () => {
      setParams({f: filter.value}); tokens.length = 1; page = 0; load();
    }}, "Search"), columnsBox, prev, next, pager),
    filterError, tableBox, chartsBox);

  async function load(withCharts = true) {
    const [, p] = route();
    const body = {experiment_ids: experimentIds, filter: p.get("f") || "",
      max_results: PAGE_SIZE, order_by: p.get("o") ? [p.get("o")] : ["attributes.start_time DESC"]};
    if (tokens[page]) body.page_token = tokens[page];
    let res;
    try {
      res = await api("mlflow/runs/search", body);
    } catch (e) {
      filterError.textContent = e.message;
      tableBox.replaceChildren();
      // Nothing is listed: no page count, no paging, as of an old answer.
      runs = [];
      pager.textContent = "";
      prev.disabled = next.disabled = true;
      return;
    }
    filterError.textContent = "";
    runs = res.runs || [];
    for (const r of runs) known.set(r.info.run_id, r);
    tokens[page + 1] = res.next_page_token || "";
    pager.textContent = `page ${page + 1}, ${runs.length} runs`;
    prev.disabled = page === 0;
    next.disabled = !res.next_page_token;
    drawTable();
    if (withCharts) await charts.update();
  }

  function drawTable() {
    const [, p] = route();
    const selected = new Set(list(p, "sel"));
    const hidden = new Set(list(p, "hide"));
    const cols = runColumns(runs);
    const order = p.get("o") || "attributes.start_time DESC";
    columnsBox.lastChild.replaceChildren(...cols.slice(1).map(([id, head]) => el("label", {style: "display:block"},
      el("input", {type: "checkbox", checked: !hidden.has(id), onchange: (ev) => {
        if (ev.target.checked) hidden.delete(id); else hidden.add(id);
        setParams({hide: [...hidden].join(",")});
        drawTable();
      }}), ` ${id.startsWith("p.") ? "param " : id.startsWith("m.") ? "metric " : ""}${head}`)));
    const shown = cols.filter(([id]) => !hidden.has(id));
    const head = el("tr", {}, el("th", {}, ""), shown.map(([id, title, , sortKey]) => {
      const sorted = sortKey && order.startsWith(sortKey + " ") ? (order.endsWith("ASC") ? "sorted-asc" : "sorted-desc") : "";
      const numeric = id === "duration" || id.startsWith("m.") ? "num" : "";
      const cls = [sortKey ? "sortable" : "", sorted, numeric].filter(Boolean).join(" ") || null;
      return el("th", {class: cls, "data-column": id, title: sortKey ? "Sort" : "", onclick: () => {
        if (!sortKey) return;
        const dir = order === `${sortKey} DESC` ? "ASC" : "DESC";
        setParams({o: `${sortKey} ${dir}`});
        tokens.length = 1; page = 0; load();
      }}, title);
    }));
    const rows = grouped(runs).map(([r, depth]) => {
      const id = r.info.run_id;
      const box = el("input", {type: "checkbox", checked: selected.has(id), "aria-label": `select ${r.info.run_name}`,
        onchange: (ev) => {
          const [, q] = route();
          const sel = list(q, "sel").filter((x) => x !== id);
          if (ev.target.checked) sel.push(id);
          setParams({sel: sel.join(","), z: null});
          charts.update();
        }});
      return el("tr", {class: depth ? "child" : null, "data-run-id": id}, el("td", {}, box), shown.map(([cid, , value]) => {
        const v = value(r);
        if (cid === "name") return el("td", {class: "name"}, el("a", {href: `#/run/${encodeURIComponent(id)}`}, v || id));
        if (cid === "status") return el("td", {}, statusBadge(v));
        if (cid === "start") return el("td", {}, fmtTime(v));
        if (cid === "duration") return el("td", {class: "num"}, fmtDuration(v));
        if (cid.startsWith("m.")) return el("td", {class: "num"}, fmtNumber(v));
        return el("td", {title: v ?? ""}, v ?? "");
      }));
    });
    tableBox.replaceChildren(el("table", {id: "runs"}, el("thead", {}, head), el("tbody", {}, rows)));
  }

  const charts = chartPanel(chartsBox, known);
  await load();

  // Live: while runs on the page are RUNNING, the table refreshes every
  // second; the charts get new points pushed by the server (chartPanel).
  let busy = false;
  const timer = setInterval(async () => {
    if (stopped || busy || document.hidden) return;
    busy = true;
    try {
      if (runs.some((r) => r.info.status === "RUNNING")) await load(false);
    } catch (e) {
      statusLine.textContent = `live update failed: ${e.message}`;
    } finally {
      busy = false;
    }
  }, LIVE_MS);
  return {stop() { stopped = true; clearInterval(timer); charts.stop(); }};
}
