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
  const runsPage = new RunsPage(experimentIds, params);
  view.replaceChildren(noteBox || "", ...runsPage.layout());
  runsPage.startPanels();
  await runsPage.load();
  return runsPage.goLive();
}

/** The search body of a page of runs, as the URL's parameters `p` ask. */
function searchBody(experimentIds, p, pageToken) {
  const body = {experiment_ids: experimentIds, filter: p.get("f") || "", max_results: PAGE_SIZE,
    run_view_type: p.get("deleted") === "1" ? "DELETED_ONLY" : "ACTIVE_ONLY",
    order_by: p.get("o") ? [p.get("o")] : ["attributes.start_time DESC"]};
  if (pageToken) body.page_token = pageToken;
  return body;
}

/** Toggles `view` in the URL's list `a` (the sweep views shown). */
function sweepToggle(params, id, view, label, onToggle) {
  return el("button", {id, class: "toggle", "aria-pressed": String(list(params, "a").includes(view)),
    onclick: (ev) => {
      const [, q] = route();
      const on = !list(q, "a").includes(view);
      ev.currentTarget.setAttribute("aria-pressed", String(on));
      setParams({a: (on ? [...list(q, "a"), view] : list(q, "a").filter((x) => x !== view)).join(",")});
      onToggle();
    }}, label);
}

/** The runs page: its controls, the runs listed, the charts and sweep
 * views of the ticked runs. What it shows follows the URL. */
class RunsPage {
  constructor(experimentIds, params) {
    this.experimentIds = experimentIds;
    this.known = new Map(); // run id -> run, every run seen
    this.tokens = [""]; // page tokens: tokens[i] opens page i
    this.page = 0;
    this.runs = [];
    this.columnNeedle = ""; // what the Columns picker's search box holds
    this.pickerFor = ""; // what the Columns picker was drawn for
    this.anchor = {id: null}; // the run a shift-click's range starts from
    this.buildControls(params);
  }

  /** Starts the charts and the sweep views, once the page is in the
   * document (they measure their boxes). */
  startPanels() {
    this.charts = chartPanel(this.chartsBox, this.known);
    this.sweep = sweepPanel(this.sweepBox, this.experimentIds, {
      onBrush: () => this.drawTable(),
      onPick: (run) => this.tickRuns([run], !list(route()[1], "sel").includes(run.info.run_id)),
      tick: (picked) => this.tickRuns(picked, true),
      selected: () => list(route()[1], "sel"),
    });
  }

  buildControls(params) {
    const search = () => { setParams({f: this.filter.value}); this.restart(); };
    this.filter = el("input", {type: "text", id: "filter", value: params.get("f") || "",
      placeholder: "MLflow filter, e.g. metrics.loss < 0.5 and params.lr = '0.01'",
      "aria-label": "Filter runs", onkeydown: (ev) => { if (ev.key === "Enter") search(); }});
    this.searchButton = el("button", {onclick: search}, "Search");
    this.filterError = el("div", {class: "error", id: "filter-error", role: "alert"});
    this.errorLine = el("div", {class: "error", id: "runs-error", role: "alert"});
    this.tableBox = el("div", {id: "runs-box"});
    this.pager = el("span", {class: "muted", id: "pager"});
    this.columnsBox = el("details", {class: "columns", id: "column-picker"}, el("summary", {}, "Columns"), el("div"));
    this.chartsBox = el("div", {id: "charts"});
    this.sweepBox = el("div", {id: "sweep"});
    this.prev = el("button", {onclick: () => { if (this.page > 0) { this.page--; this.load(); } }}, "Previous");
    this.next = el("button", {onclick: () => { if (this.tokens[this.page + 1]) { this.page++; this.load(); } }}, "Next");
    this.deleted = el("input", {type: "checkbox", id: "show-deleted-runs", checked: params.get("deleted") === "1",
      onchange: (ev) => { setParams({deleted: ev.target.checked ? "1" : null, sel: null}); this.restart(); }});
    this.compare = el("button", {id: "compare-runs", onclick: () => {
      const [, p] = route();
      location.hash = `#/compare?e=${this.experimentIds.join(",")}&runs=${list(p, "sel").join(",")}`;
    }}, "Compare");
    this.lifecycle = el("button", {id: "delete-runs", onclick: () => this.changeLifecycle()}, "Delete");
    // The runs listed (on this page, inside any brushes; folded children
    // too) with the shown columns.
    this.csv = el("button", {id: "runs-csv", title: "The listed runs and shown columns as CSV", onclick: () => {
      download(`runs-${this.experimentIds.join("-")}.csv`,
        runsCsv(this.runs.filter((r) => this.sweep.keeps(r)), this.shownColumns()), "text/csv");
    }}, "CSV");
    this.selection = el("span", {class: "muted", id: "selection"});
    this.sweepToggles = [sweepToggle(params, "show-parallel", "pc", "Parallel coordinates", () => this.sweep.update()),
      sweepToggle(params, "show-scatter", "scatter", "Scatter", () => this.sweep.update())];
  }

  /** The page's elements, top to bottom. */
  layout() {
    return [
      el("div", {class: "toolbar"}, this.filter, this.searchButton, this.columnsBox,
        el("label", {}, this.deleted, " deleted runs"), this.prev, this.next, this.pager),
      el("div", {class: "toolbar"}, this.compare, this.lifecycle, this.csv, this.selection,
        el("span", {class: "spacer"}), ...this.sweepToggles),
      this.filterError, this.errorLine, this.tableBox, this.sweepBox, this.chartsBox];
  }

  /** Back to the first page of a new search. */
  restart() {
    this.tokens.length = 1;
    this.page = 0;
    this.load();
  }

  /** Deletes the ticked runs (or restores them, among deleted runs). */
  async changeLifecycle() {
    const [, p] = route();
    const ids = list(p, "sel");
    const restoring = p.get("deleted") === "1";
    if (ids.length === 0) return;
    const verb = restoring ? "Restore" : "Delete";
    if (!confirm(`${verb} ${ids.length} run${ids.length === 1 ? "" : "s"}?`)) return;
    this.errorLine.textContent = "";
    try {
      for (const id of ids) await api(restoring ? "mlflow/runs/restore" : "mlflow/runs/delete", {run_id: id});
    } catch (e) {
      this.errorLine.textContent = `${verb} failed: ${e.message}`;
    }
    setParams({sel: null});
    this.restart();
  }

  /** Reads the current page of runs and draws it (and, `withCharts`,
   * the charts and sweep views). */
  async load(withCharts = true) {
    const [, p] = route();
    let res;
    try {
      res = await api("mlflow/runs/search", searchBody(this.experimentIds, p, this.tokens[this.page]));
    } catch (e) {
      this.filterError.textContent = e.message;
      this.tableBox.replaceChildren();
      // Nothing is listed: no page count, no paging, as of an old answer.
      this.runs = [];
      this.pager.textContent = "";
      this.prev.disabled = this.next.disabled = true;
      return;
    }
    this.filterError.textContent = "";
    this.runs = res.runs || [];
    for (const r of this.runs) this.known.set(r.info.run_id, r);
    this.tokens[this.page + 1] = res.next_page_token || "";
    this.prev.disabled = this.page === 0;
    this.next.disabled = !res.next_page_token;
    this.drawTable();
    if (withCharts) await Promise.all([this.charts.update(), this.sweep.update()]);
  }

  /** The columns shown, as the URL arranges them. */
  shownColumns() {
    const [, p] = route();
    return arrangedColumns(runColumns(this.runs), list(p, "arrange"), new Set(list(p, "hide")));
  }

  drawPicker(cols, arrange, hidden) {
    const picker = columnPicker(cols, arrange, hidden, {
      hide: (id, hide) => {
        if (hide) hidden.add(id); else hidden.delete(id);
        setParams({hide: [...hidden].join(",")});
        this.columnNeedle = picker[0].value;
        this.drawTable();
      },
      move: (id, by) => {
        setParams({arrange: movedOrder(cols, arrange, id, by).join(",")});
        this.columnNeedle = picker[0].value;
        this.drawTable();
      },
    }, this.columnNeedle);
    this.columnsBox.lastChild.replaceChildren(...picker);
  }

  drawTable() {
    const [, p] = route();
    const hidden = new Set(list(p, "hide"));
    const arrange = list(p, "arrange");
    const cols = runColumns(this.runs);
    // Drawn again only when its columns change: a live refresh keeps what
    // is typed in its search box.
    const drawnFor = [cols.map((c) => c.id), arrange, [...hidden]].map((x) => x.join(",")).join(";");
    if (drawnFor !== this.pickerFor) this.drawPicker(cols, arrange, hidden);
    this.pickerFor = drawnFor;
    const scroll = this.tableBox.scrollLeft;
    // Parallel coordinates' brushes narrow the table to the runs inside them.
    const listed = this.runs.filter((r) => this.sweep.keeps(r));
    this.pager.textContent = `page ${this.page + 1}, ${this.runs.length} runs` +
      (listed.length < this.runs.length ? `, ${listed.length} in the brushed ranges` : "");
    const selected = new Set(list(p, "sel"));
    this.tableBox.replaceChildren(runsTable(listed, this.shownColumns(), {
      selected, open: new Set(list(p, "open")), order: p.get("o") || "attributes.start_time DESC", anchor: this.anchor,
    }, {
      sort: (key) => {
        const [, q] = route();
        const dir = q.get("o") === `${key} DESC` ? "ASC" : "DESC";
        setParams({o: `${key} ${dir}`});
        this.restart();
      },
      select: (ids, ticked) => this.setTicked(ids, ticked),
      fold: (id) => {
        const open = list(route()[1], "open");
        setParams({open: (open.includes(id) ? open.filter((x) => x !== id) : [...open, id]).join(",")});
        this.drawTable();
      },
    }));
    this.tableBox.scrollLeft = scroll;
    this.drawActions(selected.size, p.get("deleted") === "1");
  }

  /** The buttons that act on the ticked runs, for `n` of them. */
  drawActions(n, deletedShown) {
    this.compare.disabled = n < 2;
    this.compare.textContent = n >= 2 ? `Compare ${n} runs` : "Compare";
    this.lifecycle.disabled = n === 0;
    this.lifecycle.textContent = deletedShown ? "Restore" : "Delete";
    this.csv.disabled = this.runs.length === 0;
    this.selection.textContent = n ? `${n} ticked` : "";
  }

  /** Ticks (or unticks) the runs `ids`: the URL, the table, the charts
   * and the sweep views follow. */
  setTicked(ids, ticked) {
    const [, q] = route();
    const sel = list(q, "sel").filter((x) => !ids.includes(x));
    if (ticked) sel.push(...ids);
    setParams({sel: sel.join(","), z: null});
    this.drawTable();
    this.charts.update();
    this.sweep.update();
  }

  /** Ticks (or unticks) runs from the sweep views (perhaps not on this page). */
  tickRuns(picked, ticked) {
    for (const r of picked) this.known.set(r.info.run_id, r);
    this.setTicked(picked.map((r) => r.info.run_id), ticked);
  }

  /** Live: while runs on the page are RUNNING, the table refreshes every
   * second; the charts get new points pushed by the server (chartPanel).
   * Returns the view's `stop`. */
  goLive() {
    let stopped = false;
    let busy = false;
    const timer = setInterval(async () => {
      if (stopped || busy || document.hidden) return;
      busy = true;
      try {
        if (this.runs.some((r) => r.info.status === "RUNNING")) await this.load(false);
      } catch (e) {
        statusLine.textContent = `live update failed: ${e.message}`;
      } finally {
        busy = false;
      }
    }, LIVE_MS);
    return {stop: () => { stopped = true; clearInterval(timer); this.charts.stop(); }};
  }
}
