// The charts of the ticked runs: one per metric key, the runs' curves
// overlaid (or each group's mean and min/max band), drawn from runlog's
// downsampled, spike-keeping series; one legend for all of them, whose
// entries hide and show a curve everywhere; zoomed by dragging; followed
// live while runs run. The view's settings live in the URL: keys, x (step,
// time, rel, m:<metric>), logx, log, s (smoothing), g (group by), z (zoom).
import { API, api } from "./api.js";
import { COLOURS, chartData, groupOf, viewOf, xMetric } from "./chart-data.js";
import { chartCard } from "./chart-view.js";
import { el, statusLine } from "./dom.js";
import { list, route, setParams } from "./router.js";
import { runColumns } from "./runs-table.js";

/** The charts of the selected runs: one per metric key, curves overlaid.
 * `chosenIds()` names the runs (the URL's "sel" unless told otherwise). */
export function chartPanel(box, known, chosenIds = () => list(route()[1], "sel")) {
  const plots = []; // {key, plot, runs, destroy}
  let data = new Map(); // `${run}\u0000${key}` -> {step, timestamp, value}
  let generation = 0;
  const hiddenCurves = new Set(); // legend entries switched off
  const seriesOf = (run, key) => data.get(`${run.info.run_id}\u0000${key}`) || null;

  async function selectedRuns() {
    const ids = chosenIds();
    const missing = ids.filter((id) => !known.has(id));
    await Promise.all(missing.map((id) => api(`mlflow/runs/get?run_id=${encodeURIComponent(id)}`)
      .then((r) => known.set(id, r.run), () => {})));
    return ids.filter((id) => known.has(id)).map((id) => known.get(id));
  }

  async function fetchSeries(runIds, keys, from, to) {
    const width = Math.max(300, Math.floor(box.clientWidth / 3) || 600);
    const body = {run_ids: runIds, keys, max_points: Math.min(10000, 2 * width)};
    if (from !== undefined) { body.start_step = from; body.end_step = to; }
    return (await api("runlog/series", body)).series;
  }

  function destroyPlots() {
    for (const pl of plots) pl.destroy();
    plots.length = 0;
  }

  async function update() {
    const mine = ++generation;
    const [, p] = route();
    const view = viewOf(p);
    const runs = await selectedRuns();
    if (runs.length === 0) {
      closeStream();
      destroyPlots();
      box.replaceChildren(el("p", {class: "muted"}, "Select runs to compare their metrics."));
      return;
    }
    const allKeys = [...new Set(runs.flatMap((r) => (r.data.metrics || []).map((m) => m.key)))].sort();
    const chosen = list(p, "keys").filter((k) => allKeys.includes(k));
    const keys = chosen.length ? chosen : allKeys;
    let from, to;
    const z = (p.get("z") || "").split(":");
    if (z.length === 2 && z[0] !== "" && z[1] !== "") { from = Math.floor(+z[0]); to = Math.ceil(+z[1]); }
    // The charts first, empty; then each one's data in a request of its
    // own, two at a time, drawn as it comes: the first chart shows after
    // one key's data, not all of them.
    if (mine !== generation) return; // a newer update is on its way
    data = new Map();
    closeStream();
    draw(runs, allKeys, keys, view);
    const ids = runs.map((r) => r.info.run_id);
    let points = 0, drawn = 0;
    const take = (series) => {
      for (const s of series) {
        data.set(`${s.run_id}\u0000${s.key}`, s);
        points += s.step.length;
      }
    };
    // A metric on x is read first: every chart needs it.
    const xKey = xMetric(view);
    if (xKey) {
      take(await fetchSeries(ids, [xKey], from, to));
      if (mine !== generation) return;
    }
    const queue = [...keys];
    const worker = async () => {
      while (queue.length && mine === generation) {
        const key = queue.shift();
        const series = key === xKey ? [] : await fetchSeries(ids, [key], from, to);
        if (mine !== generation) return;
        take(series);
        const pl = plots.find((x) => x.key === key);
        if (!pl) continue; // no charting library: tables only
        pl.plot.setData(chartData(key, pl.runs, view, seriesOf).aligned);
        applyHidden(pl.plot);
        drawn++;
        statusLine.textContent = `${points} points drawn (${drawn} of ${keys.length} charts)`;
      }
    };
    await Promise.all([worker(), worker()]);
    if (mine !== generation) return;
    // A metric on x is followed too: new points need its new values.
    follow(runs, xKey && !keys.includes(xKey) ? [...keys, xKey] : keys);
  }

  // Whether the Metrics picker is open: it stays so while keys are ticked
  // (each tick draws the toolbar again).
  let pickerOpen = false;

  /** What can go on x: steps, times, and every metric of the runs. */
  function xChoices(allKeys) {
    return [["step", "Step"], ["time", "Wall time"], ["rel", "Relative time"],
      ...allKeys.map((k) => [`m:${k}`, `metric: ${k}`])];
  }

  /** What the runs can be grouped by: their params and their own tags. */
  function groupChoices(runs) {
    const cols = runColumns(runs).filter((col) => col.group === "p" || col.group === "t");
    return [["", "no grouping"], ...cols.map((col) => [col.id, `${col.group === "p" ? "param" : "tag"} ${col.title}`])];
  }

  function toolbar(runs, allKeys, keys, view) {
    const [, p] = route();
    const keyPick = el("details", {class: "columns", id: "metric-picker", open: pickerOpen,
      ontoggle: (ev) => { pickerOpen = ev.target.open; }}, el("summary", {}, `Metrics (${keys.length})`),
      el("div", {}, allKeys.map((k) => el("label", {style: "display:block"}, el("input", {type: "checkbox",
        checked: keys.includes(k), onchange: (ev) => {
          const [, q] = route();
          let sel = list(q, "keys");
          if (sel.length === 0) sel = [...allKeys];
          sel = ev.target.checked ? [...new Set([...sel, k])] : sel.filter((s) => s !== k);
          setParams({keys: sel.length === allKeys.length ? null : sel.join(",")});
          update();
        }}), " ", k))));
    const choices = xChoices(allKeys);
    if (!choices.some(([v]) => v === view.x)) choices.push([view.x, view.x]);
    const xPick = el("select", {id: "x-axis", "aria-label": "x axis", onchange: (ev) => {
      setParams({x: ev.target.value === "step" ? null : ev.target.value, z: null}); update();
    }}, choices.map(([v, t]) => el("option", {value: v, selected: v === view.x}, t)));
    const flag = (id, name, label) => el("label", {}, el("input", {type: "checkbox", id, checked: p.get(name) === "1",
      onchange: (ev) => { setParams({[name]: ev.target.checked ? "1" : null, z: null}); update(); }}), ` ${label}`);
    const groupPick = el("select", {id: "group-by", "aria-label": "group runs by", onchange: (ev) => {
      setParams({g: ev.target.value || null}); update();
    }}, groupChoices(runs).map(([v, t]) => el("option", {value: v, selected: v === view.group}, t)));
    const smoothing = el("input", {type: "range", id: "smoothing", min: "0", max: "0.99", step: "0.01",
      value: p.get("s") || "0", "aria-label": "smoothing",
      onchange: (ev) => { setParams({s: ev.target.value === "0" ? null : ev.target.value}); update(); }});
    const reset = el("button", {id: "reset-zoom", disabled: !p.get("z"),
      onclick: () => { setParams({z: null}); update(); }}, "Reset zoom");
    return el("div", {class: "toolbar"}, keyPick, el("label", {}, "x ", xPick), flag("log-x", "logx", "log x"),
      flag("log-y", "log", "log y"), el("label", {}, "group by ", groupPick),
      el("label", {}, "smoothing ", smoothing), reset);
  }

  /** Hides the curves switched off in the legend. */
  function applyHidden(plot) {
    plot.series.forEach((s, i) => {
      if (i > 0 && (s.show === false) !== hiddenCurves.has(s.label)) plot.setSeries(i, {show: !hiddenCurves.has(s.label)});
    });
  }

  /** One legend for every chart: a swatch and a name per curve; a click
   * hides or shows that curve on all of them. */
  function legend(runs, view) {
    const entries = view.group
      ? [...new Set(runs.map((r) => groupOf(r, view.group)))].sort().map((g, k) => [`${view.group.slice(2)}=${g}`,
        COLOURS[k % COLOURS.length], runs.filter((r) => groupOf(r, view.group) === g).length])
      : runs.map((r, i) => [r.info.run_name || r.info.run_id, COLOURS[i % COLOURS.length], 0]);
    return el("div", {class: "legend", id: "chart-legend"}, entries.map(([name, colour, n]) => el("button", {
      class: hiddenCurves.has(name) ? "legend-entry off" : "legend-entry", style: `--c:${colour}`,
      "aria-pressed": String(!hiddenCurves.has(name)), title: "Hide or show on every chart",
      onclick: (ev) => {
        const off = !hiddenCurves.has(name);
        if (off) hiddenCurves.add(name); else hiddenCurves.delete(name);
        ev.currentTarget.classList.toggle("off", off);
        ev.currentTarget.setAttribute("aria-pressed", String(!off));
        for (const pl of plots) {
          pl.plot.series.forEach((s, i) => {
            if (i > 0 && (s.label === name || s.label.startsWith(`${name} `))) pl.plot.setSeries(i, {show: !off});
          });
        }
      }}, n ? `${name} (${n} runs)` : name)));
  }

  function draw(runs, allKeys, keys, view) {
    destroyPlots();
    const grid = el("div", {class: "charts"});
    box.replaceChildren(toolbar(runs, allKeys, keys, view), legend(runs, view), grid);
    if (typeof uPlot === "undefined") {
      grid.replaceChildren(el("p", {class: "error"}, window.RUNLOG_CHARTS_MISSING || "The charting library did not load."));
      return;
    }
    for (const key of keys) {
      const holder = el("div");
      grid.append(holder);
      const width = Math.max(240, (holder.clientWidth || 420) - 14);
      const chart = chartData(key, runs, view, seriesOf);
      const made = chartCard(key, chart, view, width, (u, a, b) => {
        if (view.x === "step" && !view.logX) { setParams({z: `${Math.floor(a)}:${Math.ceil(b)}`}); update(); }
        else u.setScale("x", {min: a, max: b});
      });
      holder.replaceWith(made.card);
      applyHidden(made.plot);
      plots.push({key, plot: made.plot, runs, destroy: made.destroy});
    }
  }

  let source = null; // the event stream of new points, while runs are RUNNING

  function closeStream() {
    if (source) { source.close(); source = null; }
  }

  /** Follows the RUNNING runs among `runs`: the server pushes the points
   * they log (runlog/follow, server-sent events), appended to the charts
   * as they come. Not while zoomed: the view would move. */
  function follow(runs, keys) {
    closeStream();
    const [, p] = route();
    const live = runs.filter((r) => r.info.status === "RUNNING");
    if (p.get("z") || live.length === 0 || keys.length === 0) return;
    let after = Infinity;
    for (const r of live) {
      for (const k of keys) {
        const s = data.get(`${r.info.run_id}\u0000${k}`);
        after = Math.min(after, s && s.step.length ? s.step[s.step.length - 1] : -1);
      }
    }
    const q = new URLSearchParams();
    live.forEach((r) => q.append("run_ids", r.info.run_id));
    keys.forEach((k) => q.append("keys", k));
    q.set("after", String(after));
    source = new EventSource(`${API}runlog/follow?${q}`);
    source.addEventListener("points", (ev) => append(JSON.parse(ev.data).series));
    source.addEventListener("failed", (ev) => {
      statusLine.textContent = `live updates stopped: ${JSON.parse(ev.data).message}`;
      closeStream();
    });
  }

  /** Appends pushed points (steps after the last one held) and sets each
   * chart's data again, keeping its scales and cursor. */
  function append(series) {
    let grew = false;
    for (const s of series) {
      const id = `${s.run_id}\u0000${s.key}`;
      const have = data.get(id) || {step: [], timestamp: [], value: []};
      const last = have.step.length ? have.step[have.step.length - 1] : -Infinity;
      for (let i = 0; i < s.step.length; i++) {
        if (s.step[i] <= last) continue;
        have.step.push(s.step[i]); have.timestamp.push(s.timestamp[i]); have.value.push(s.value[i]);
        grew = true;
      }
      data.set(id, have);
    }
    if (!grew) return;
    for (const pl of plots) pl.plot.setData(chartData(pl.key, pl.runs, viewOf(route()[1]), seriesOf).aligned, true);
    statusLine.textContent = `live: updated ${new Date().toLocaleTimeString()}`;
  }

  // What the browser tests read: each chart's key, curve labels and data
  // (not its pixels), the tick labels and ticks uPlot drew (its `_values`
  // and `_splits`), the y range, where the plot starts, the tooltip's
  // rows, and the uPlot instance to zoom with.
  window.runlogCharts = () => plots.map((pl) => ({key: pl.key,
    labels: pl.plot.series.slice(1).map((s) => s.label), data: pl.plot.data,
    shown: pl.plot.series.slice(1).map((s) => s.show !== false),
    ticks: pl.plot.axes.map((a) => a._values || []), splits: pl.plot.axes.map((a) => a._splits || []),
    x: [pl.plot.scales.x.min, pl.plot.scales.x.max], y: [pl.plot.scales.y.min, pl.plot.scales.y.max],
    plotLeft: pl.plot.bbox.left / (window.devicePixelRatio || 1), width: pl.plot.width, height: pl.plot.height,
    tooltip: [...pl.plot.root.querySelectorAll(".chart-tooltip .tip-row")].map((e) =>
      [e.querySelector(".tip-label").textContent, e.querySelector(".tip-value").textContent])}));
  window.runlogPlot = (i) => plots[i] && plots[i].plot;

  return {update, stop() { closeStream(); destroyPlots(); }};
}
