// The runs of one or more experiments: a table (runs-table.js) searched
// with MLflow's filter language, sorted, paged and refreshed while runs
// are live; the experiment's description; the ticked runs compared, deleted
// or restored; the table as CSV; the ticked runs' charts below it
// (charts.js).
import { api } from "./api.js";
import { chartPanel } from "./charts.js";
import { sweepPanel } from "./sweep.js";
import { download, el, statusLine } from "./dom.js";
import { noteEditor } from "./edit.js";
import { list, route, setParams } from "./router.js";
import { NOTE_TAG } from "./entities.js";
import {
  arrangedColumns, columnPicker, movedOrder, runColumns, runsCsv, runsTable,
} from "./runs-table.js";

const PAGE_SIZE = 100;
const LIVE_MS = 1000;

/** The experiments' names (ids when one cannot be read) and, for one
 * experiment, its description editor. */
async function experimentsHeading(experimentIds) {
  const experiments = await Promise.all(experimentIds.map((id) =>
    api(`mlflow/experiments/get?experiment_id=${encodeURIComponent(id)}`).then((r) => r.experiment, () => null)));
  const names = experiments.map((e, i) => (e ? e.name : experimentIds[i]));
  const one = experiments.length === 1 ? experiments[0] : null;
  const note = one ? ((one.tags || []).find((t) => t.key === NOTE_TAG) || {}).value || "" : null;
  const editor = one ? noteEditor("experiment-note", note, (text) => api("mlflow/experiments/set-experiment-tag",
    {experiment_id: one.experiment_id, key: NOTE_TAG, value: text})) : null;
  return [names, editor];
}

export async function runsView(_rest, params, {view, crumbs}) {
  const experimentIds = list(params, "e");
  if (experimentIds.length === 0) throw new Error("No experiment chosen: open one from the experiments page.");
  const [names, noteBox] = await experimentsHeading(experimentIds);
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ", names.join(", "));

  const known = new Map(); // run id -> run, every run seen
  const tokens = [""]; // page tokens: tokens[i] opens page i
  let page = 0;
  let stopped = false;
  let runs = [];
  let columnNeedle = "";

  const filter = el("input", {type: "text", id: "filter", value: params.get("f") || "",
    placeholder: "MLflow filter, e.g. metrics.loss < 0.5 and params.lr = '0.01'",
    "aria-label": "Filter runs"});
  const filterError = el("div", {class: "error", id: "filter-error", role: "alert"});
  const tableBox = el("div", {id: "runs-box"});
  const pager = el("span", {class: "muted", id: "pager"});
  const columnsBox = el("details", {class: "columns", id: "column-picker"}, el("summary", {}, "Columns"), el("div"));
  const chartsBox = el("div", {id: "charts"});
  const sweepBox = el("div", {id: "sweep"});
  const restart = () => { tokens.length = 1; page = 0; load(); };
  filter.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { setParams({f: filter.value}); restart(); }
  });
  const prev = el("button", {onclick: () => { if (page > 0) { page--; load(); } }}, "Previous");
  const next = el("button", {onclick: () => { if (tokens[page + 1]) { page++; load(); } }}, "Next");
  const deleted = el("input", {type: "checkbox", id: "show-deleted-runs", checked: params.get("deleted") === "1",
    onchange: (ev) => { setParams({deleted: ev.target.checked ? "1" : null, sel: null}); restart(); }});
  const compare = el("button", {id: "compare-runs", onclick: () => {
    const [, p] = route();
    location.hash = `#/compare?e=${experimentIds.join(",")}&runs=${list(p, "sel").join(",")}`;
  }}, "Compare");
  const lifecycle = el("button", {id: "delete-runs", onclick: () => changeLifecycle()}, "Delete");
  // The runs listed (on this page, inside any brushes; folded children
  // too) with the shown columns.
  const csv = el("button", {id: "runs-csv", title: "The listed runs and shown columns as CSV", onclick: () => {
    download(`runs-${experimentIds.join("-")}.csv`, runsCsv(runs.filter((r) => sweep.keeps(r)), shownColumns()),
      "text/csv");
  }}, "CSV");
  const errorLine = el("div", {class: "error", id: "runs-error", role: "alert"});
  const sweepToggle = (id, view, label) => el("button", {id, class: "toggle", "aria-pressed": String(list(params, "a").includes(view)),
    onclick: (ev) => {
      const [, q] = route();
      const on = !list(q, "a").includes(view);
      ev.currentTarget.setAttribute("aria-pressed", String(on));
      setParams({a: (on ? [...list(q, "a"), view] : list(q, "a").filter((x) => x !== view)).join(",")});
      sweep.update();
    }}, label);
  const selection = el("span", {class: "muted", id: "selection"});
  const anchor = {id: null}; // the run a shift-click's range starts from
  let pickerFor = ""; // what the Columns picker was drawn for

  view.replaceChildren(
    noteBox || "",
    el("div", {class: "toolbar"}, filter, el("button", {onclick: () => { setParams({f: filter.value}); restart(); }},
      "Search"), columnsBox, el("label", {}, deleted, " deleted runs"), prev, next, pager),
    el("div", {class: "toolbar"}, compare, lifecycle, csv, selection, el("span", {class: "spacer"}),
      sweepToggle("show-parallel", "pc", "Parallel coordinates"), sweepToggle("show-scatter", "scatter", "Scatter")),
    filterError, errorLine, tableBox, sweepBox, chartsBox);

  /** Deletes the ticked runs (or restores them, among deleted runs). */
  async function changeLifecycle() {
    const [, p] = route();
    const ids = list(p, "sel");
    const restoring = p.get("deleted") === "1";
    if (ids.length === 0) return;
    const verb = restoring ? "Restore" : "Delete";
    if (!confirm(`${verb} ${ids.length} run${ids.length === 1 ? "" : "s"}?`)) return;
    errorLine.textContent = "";
    try {
      for (const id of ids) await api(restoring ? "mlflow/runs/restore" : "mlflow/runs/delete", {run_id: id});
    } catch (e) {
      errorLine.textContent = `${verb} failed: ${e.message}`;
    }
    setParams({sel: null});
    restart();
  }

  async function load(withCharts = true) {
    const [, p] = route();
    const body = {experiment_ids: experimentIds, filter: p.get("f") || "", max_results: PAGE_SIZE,
      run_view_type: p.get("deleted") === "1" ? "DELETED_ONLY" : "ACTIVE_ONLY",
      order_by: p.get("o") ? [p.get("o")] : ["attributes.start_time DESC"]};
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
    prev.disabled = page === 0;
    next.disabled = !res.next_page_token;
    drawTable();
    if (withCharts) await Promise.all([charts.update(), sweep.update()]);
  }

  /** The columns shown, as the URL arranges them. */
  function shownColumns() {
    const [, p] = route();
    return arrangedColumns(runColumns(runs), list(p, "arrange"), new Set(list(p, "hide")));
  }

  function drawPicker(cols, arrange, hidden) {
    const picker = columnPicker(cols, arrange, hidden, {
      hide(id, hide) {
        if (hide) hidden.add(id); else hidden.delete(id);
        setParams({hide: [...hidden].join(",")});
        columnNeedle = picker[0].value;
        drawTable();
      },
      move(id, by) {
        setParams({arrange: movedOrder(cols, arrange, id, by).join(",")});
        columnNeedle = picker[0].value;
        drawTable();
      },
    }, columnNeedle);
    columnsBox.lastChild.replaceChildren(...picker);
  }

  function drawTable() {
    const [, p] = route();
    const selected = new Set(list(p, "sel"));
    const hidden = new Set(list(p, "hide"));
    const arrange = list(p, "arrange");
    const cols = runColumns(runs);
    // Drawn again only when its columns change: a live refresh keeps what
    // is typed in its search box.
    const drawnFor = [cols.map((c) => c.id), arrange, [...hidden]].map((x) => x.join(",")).join(";");
    if (drawnFor !== pickerFor) drawPicker(cols, arrange, hidden);
    pickerFor = drawnFor;
    const scroll = tableBox.scrollLeft;
    // Parallel coordinates' brushes narrow the table to the runs inside them.
    const listed = runs.filter((r) => sweep.keeps(r));
    pager.textContent = `page ${page + 1}, ${runs.length} runs` +
      (listed.length < runs.length ? `, ${listed.length} in the brushed ranges` : "");
    tableBox.replaceChildren(runsTable(listed, shownColumns(), {
      selected, open: new Set(list(p, "open")), order: p.get("o") || "attributes.start_time DESC", anchor,
    }, {
      sort(key) {
        const [, q] = route();
        const dir = q.get("o") === `${key} DESC` ? "ASC" : "DESC";
        setParams({o: `${key} ${dir}`});
        restart();
      },
      select: setTicked,
      fold(id) {
        const [, q] = route();
        const open = list(q, "open");
        setParams({open: (open.includes(id) ? open.filter((x) => x !== id) : [...open, id]).join(",")});
        drawTable();
      },
    }));
    tableBox.scrollLeft = scroll;
    const n = selected.size;
    compare.disabled = n < 2;
    compare.textContent = n >= 2 ? `Compare ${n} runs` : "Compare";
    lifecycle.disabled = n === 0;
    lifecycle.textContent = p.get("deleted") === "1" ? "Restore" : "Delete";
    csv.disabled = runs.length === 0;
    selection.textContent = n ? `${n} ticked` : "";
  }

  const charts = chartPanel(chartsBox, known);
  /** Ticks (or unticks) the runs `ids`: the URL, the table, the charts
   * and the sweep views follow. */
  function setTicked(ids, ticked) {
    const [, q] = route();
    const sel = list(q, "sel").filter((x) => !ids.includes(x));
    if (ticked) sel.push(...ids);
    setParams({sel: sel.join(","), z: null});
    drawTable();
    charts.update();
    sweep.update();
  }
  /** Ticks (or unticks) runs from the sweep views (perhaps not on this page). */
  const tickRuns = (picked, ticked) => {
    for (const r of picked) known.set(r.info.run_id, r);
    setTicked(picked.map((r) => r.info.run_id), ticked);
  };
  const sweep = sweepPanel(sweepBox, experimentIds, {
    onBrush: () => drawTable(),
    onPick: (run) => tickRuns([run], !list(route()[1], "sel").includes(run.info.run_id)),
    tick: (picked) => tickRuns(picked, true),
    selected: () => list(route()[1], "sel"),
  });
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
