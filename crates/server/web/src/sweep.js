// The sweep views of the runs page: parallel coordinates and a scatter
// over every run the filter matches (not only the table's page: up to
// 10,000, read 1,000 at a time), shown on request ("a=pc,scatter" in the
// URL). Brushing an axis ("br") narrows the runs table to the runs inside
// every brush; the axes ("pc"), the scatter's x and y ("sx", "sy") are in
// the URL too.
import { api } from "./api.js";
import { el } from "./dom.js";
import { parallelPlot } from "./parallel.js";
import { list, route, setParams } from "./router.js";
import { runColumns } from "./runs-table.js";
import { scatterPlot } from "./scatter.js";
import { brushesText, inBrushes, parseBrushes } from "./sweep-scales.js";

const MOST_RUNS = 10000;

/** Every run of the experiments that `filter` matches (of `viewType`:
 * active or deleted ones, as the table lists), up to MOST_RUNS. */
async function allRuns(experimentIds, filter, order, viewType) {
  const runs = [];
  let token = "";
  do {
    const page = await api("mlflow/runs/search", {experiment_ids: experimentIds, filter, max_results: 1000,
      run_view_type: viewType, order_by: [order], ...(token ? {page_token: token} : {})});
    runs.push(...(page.runs || []));
    token = page.next_page_token || "";
  } while (token && runs.length < MOST_RUNS);
  return runs;
}

/** The axes shown first: the params whose values differ across the runs
 * (up to eight), then the metric sorted by, or the first metric. */
function defaultAxes(cols, runs, order) {
  const varying = cols.filter((c) => c.group === "p" && new Set(runs.map((r) => c.value(r))).size > 1).slice(0, 8);
  const metrics = cols.filter((c) => c.group === "m");
  const sorted = metrics.find((c) => order.startsWith(c.sortKey));
  return [...varying, ...(sorted ? [sorted] : metrics.slice(0, 1))].map((c) => c.id);
}

/**
 * The sweep panel in `box`. `onBrush()` is told when the brushes change
 * (the runs table narrows to them); `onPick(run)` when a scatter point is
 * clicked; `selected()` gives the ticked run ids.
 */
export function sweepPanel(box, experimentIds, {onBrush, onPick, selected, tick}) {
  let runs = [];
  let columns = new Map();
  let loadedFor = null;
  let plots = [];
  let axisPickerOpen = false;
  const commits = []; // finished brushes' times (ms), for benches/dashboard_speed.sh
  window.runlogBrushCommits = () => [...commits];

  /** The brushes in the URL, over the columns known. */
  const brushes = () => parseBrushes(route()[1].get("br"));

  /** Whether `run` is in every brush of the URL. */
  function keeps(run) {
    const b = brushes();
    if (b.size === 0) return true;
    const cols = columns.size ? columns : new Map(runColumns([run]).map((c) => [c.id, c]));
    return inBrushes(run, b, cols);
  }

  async function update() {
    const [, p] = route();
    const shown = list(p, "a");
    if (shown.length === 0) { box.replaceChildren(); plots = []; return; }
    const order = p.get("o") || "attributes.start_time DESC";
    const key = JSON.stringify([p.get("f") || "", order, p.get("deleted")]);
    if (key !== loadedFor) {
      box.replaceChildren(el("p", {class: "muted"}, "Reading the sweep's runs\u2026"));
      // A bad filter is shown over the table; here it leaves no runs.
      runs = await allRuns(experimentIds, p.get("f") || "", order,
        p.get("deleted") === "1" ? "DELETED_ONLY" : "ACTIVE_ONLY").catch(() => []);
      columns = new Map(runColumns(runs).map((c) => [c.id, c]));
      loadedFor = key;
    }
    draw(shown);
  }

  function axisPicker(chosen) {
    const groups = [["p", "Params"], ["m", "Metrics"], ["t", "Tags"]];
    // It stays open while axes are ticked (each tick draws the plot again).
    return el("details", {class: "columns", id: "axis-picker", open: axisPickerOpen,
      ontoggle: (ev) => { axisPickerOpen = ev.target.open; }}, el("summary", {}, `Axes (${chosen.length})`),
      el("div", {}, groups.map(([g, heading]) => {
        const mine = [...columns.values()].filter((c) => c.group === g);
        if (mine.length === 0) return null;
        return el("div", {}, el("h4", {}, heading), mine.map((c) => el("label", {style: "display:block",
          "data-column": c.id}, el("input", {type: "checkbox", checked: chosen.includes(c.id), onchange: (ev) => {
          const next = ev.target.checked ? [...chosen, c.id] : chosen.filter((x) => x !== c.id);
          setParams({pc: next.join(",")});
          draw(list(route()[1], "a"));
        }}), ` ${c.title}`)));
      })));
  }

  function draw(shown) {
    const [, p] = route();
    const b = brushes();
    const parts = [];
    /** The count of runs in the brushes and what can be done with them. */
    const summarise = () => {
      const inside = runs.filter((r) => inBrushes(r, b, columns));
      return el("div", {class: "toolbar", id: "brush-summary"},
        el("span", {id: "brushed-count"}, b.size ? `${inside.length} of ${runs.length} runs in the brushed ranges`
          : `${runs.length} runs`),
        b.size ? el("button", {id: "clear-brushes", onclick: () => { setParams({br: null}); onBrush(); draw(shown); }},
          "Clear brushes") : null,
        b.size && inside.length <= 100 ? el("button", {id: "tick-brushed", onclick: () => tick(inside)},
          `Tick these ${inside.length}`) : null);
    };
    let summary = summarise();
    parts.push(summary);
    plots = [];
    if (shown.includes("pc")) {
      const chosen = (list(p, "pc").length ? list(p, "pc") : defaultAxes([...columns.values()], runs,
        p.get("o") || "")).filter((id) => columns.has(id));
      const plot = parallelPlot(runs, chosen.map((id) => columns.get(id)), b, columns, (changed) => {
        const t0 = performance.now();
        setParams({br: brushesText(changed) || null});
        onBrush();
        // The plots share the brushes (`b`, changed in place): redrawn, not rebuilt.
        const next = summarise();
        summary.replaceWith(next);
        summary = next;
        for (const pl of plots) pl.redraw();
        // A finished brush's cost: the URL, the runs table, the plots redrawn.
        commits.push(performance.now() - t0);
      });
      parts.push(el("section", {id: "parallel"}, el("div", {class: "toolbar"}, el("h3", {}, "Parallel coordinates"),
        axisPicker(chosen), el("span", {class: "muted"}, chosen.length
          ? "drag along an axis to brush a range; click it to clear" : "choose the axes under Axes")),
      plot.element));
      plots.push(plot);
      window.runlogParallel = plot;
    }
    if (shown.includes("scatter")) {
      const cols = [...columns.values()].filter((c) => c.group !== "a");
      const first = (g) => (cols.find((c) => c.group === g) || cols[0] || {}).id;
      const sx = columns.has(p.get("sx")) ? p.get("sx") : first("p");
      const sy = columns.has(p.get("sy")) ? p.get("sy") : first("m");
      const pick = (id, name, value) => el("select", {id, "aria-label": name, onchange: (ev) => {
        setParams({[name]: ev.target.value}); draw(list(route()[1], "a"));
      }}, cols.map((c) => el("option", {value: c.id, selected: c.id === value},
        `${{p: "param", m: "metric", t: "tag"}[c.group]} ${c.title}`)));
      if (sx && sy) {
        const plot = scatterPlot(runs, columns.get(sx), columns.get(sy), b, columns, new Set(selected()), onPick);
        parts.push(el("section", {id: "scatter"}, el("div", {class: "toolbar"}, el("h3", {}, "Scatter"),
          el("label", {}, "x ", pick("scatter-x", "sx", sx)), el("label", {}, "y ", pick("scatter-y", "sy", sy)),
          el("span", {class: "muted"}, "click a point to tick its run")), plot.element));
        plots.push(plot);
        window.runlogScatter = {runs, pointOf: plot.pointOf};
      }
    }
    box.replaceChildren(...parts);
    for (const pl of plots) pl.redraw();
  }

  return {update, keeps, redraw: () => { for (const pl of plots) pl.redraw(); }};
}
