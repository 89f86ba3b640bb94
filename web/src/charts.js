// The charts of the ticked runs: one per metric key, the runs' curves
// overlaid (uPlot, embedded by the build), drawn from runlog's downsampled,
// spike-keeping series; zoomed by dragging, followed live while runs run.
import { API, api } from "./api.js";
import { el, statusLine } from "./dom.js";
import {
  DURATION_INCRS, axisLabels, axisSize, fmtCompact, fmtNumber, fmtSeconds, logLabelled, logRange, logSplits,
} from "./numbers.js";
import { list, route, setParams } from "./router.js";

// Distinct colours for at least 10 runs (then they repeat, dashed).
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
  "#0891b2", "#c026d3", "#65a30d", "#92400e", "#475569",
  "#e11d48", "#0d9488", "#7c3aed", "#ca8a04", "#1e40af"];

function smooth(values, weight) {
  if (!weight) return values;
  let last = 0, n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

/** The charts of the selected runs: one per metric key, curves overlaid. */
export function chartPanel(box, known) {
  const plots = []; // {key, plot, series: Map(run -> {step,timestamp,value})}
  let data = new Map(); // `${run}\u0000${key}` -> {step, timestamp, value}
  let generation = 0;

  async function selectedRuns() {
    const [, p] = route();
    const ids = list(p, "sel");
    const missing = ids.filter((id) => !known.has(id));
    await Promise.all(missing.map((id) => api(`mlflow/runs/get?run_id=${encodeURIComponent(id)}`)
      .then((r) => known.set(id, r.run), () => {})));
    return ids.filter((id) => known.has(id)).map((id) => known.get(id));
  }

  async function fetchSeries(runIds, keys, from, to) {
    const width = Math.max(300, Math.floor(box.clientWidth / 2) || 600);
    const body = {run_ids: runIds, keys, max_points: Math.min(10000, 2 * width)};
    if (from !== undefined) { body.start_step = from; body.end_step = to; }
    return (await api("runlog/series", body)).series;
  }

  async function update() {
    const mine = ++generation;
    const [, p] = route();
    const runs = await selectedRuns();
    if (runs.length === 0) {
      closeStream();
      plots.length = 0;
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
    draw(runs, allKeys, keys);
    const ids = runs.map((r) => r.info.run_id);
    const queue = [...keys];
    let points = 0, drawn = 0;
    const worker = async () => {
      while (queue.length && mine === generation) {
        const key = queue.shift();
        const series = await fetchSeries(ids, [key], from, to);
        if (mine !== generation) return;
        for (const s of series) {
          data.set(`${s.run_id}\u0000${s.key}`, s);
          points += s.step.length;
        }
        const pl = plots.find((x) => x.key === key);
        if (!pl) continue; // no charting library: tables only
        pl.plot.setData(alignedData(key, pl.runs));
        drawn++;
        statusLine.textContent = `${points} points drawn (${drawn} of ${keys.length} charts)`;
      }
    };
    await Promise.all([worker(), worker()]);
    if (mine !== generation) return;
    follow(runs, keys);
  }

  // Whether the Metrics picker is open: it stays so while keys are ticked
  // (each tick draws the toolbar again).
  let pickerOpen = false;

  function toolbar(allKeys, keys) {
    const [, p] = route();
    const x = p.get("x") || "step";
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
    const xPick = el("select", {id: "x-axis", "aria-label": "x axis", onchange: (ev) => {
      setParams({x: ev.target.value === "step" ? null : ev.target.value, z: null}); update();
    }}, [["step", "Step"], ["time", "Wall time"], ["rel", "Relative time"]].map(([v, t]) =>
      el("option", {value: v, selected: v === x}, t)));
    const log = el("input", {type: "checkbox", id: "log-y", checked: p.get("log") === "1",
      onchange: (ev) => { setParams({log: ev.target.checked ? "1" : null}); update(); }});
    const smoothing = el("input", {type: "range", id: "smoothing", min: "0", max: "0.99", step: "0.01",
      value: p.get("s") || "0", "aria-label": "smoothing",
      onchange: (ev) => { setParams({s: ev.target.value === "0" ? null : ev.target.value}); update(); }});
    const reset = el("button", {id: "reset-zoom", disabled: !p.get("z"),
      onclick: () => { setParams({z: null}); update(); }}, "Reset zoom");
    return el("div", {class: "toolbar"}, keyPick, el("label", {}, "x ", xPick),
      el("label", {}, log, " log y"), el("label", {}, "smoothing ", smoothing), reset);
  }

  /** One chart's data: the runs' curves of `key` on one x axis, as the
   * URL's x, log and smoothing settings say. */
  function alignedData(key, runs) {
    const [, p] = route();
    const x = p.get("x") || "step";
    const logY = p.get("log") === "1";
    const weight = +(p.get("s") || 0);
    const tables = runs.map((r) => {
      const s = data.get(`${r.info.run_id}\u0000${key}`) || {step: [], timestamp: [], value: []};
      const xs = x === "step" ? s.step : x === "time" ? s.timestamp.map((t) => t / 1000)
        : s.timestamp.map((t) => (t - r.info.start_time) / 1000);
      let ys = smooth(s.value, weight);
      if (logY) ys = ys.map((v) => (v !== null && v > 0 ? v : null));
      const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
      return [order.map((i) => xs[i]), order.map((i) => ys[i])];
    });
    return uPlot.join(tables);
  }

  /** Whether `ys` holds exactly one value that is not null. */
  function hasOneValue(ys) {
    let n = 0;
    for (const v of ys) if (v !== null && v !== undefined && ++n > 1) return false;
    return n === 1;
  }

  /** The x axis: steps, wall-clock time (uPlot's dates), or the time since
   * each run started as durations. */
  function xAxis(x) {
    if (x === "time") return {};
    if (x === "rel") {
      return {label: "time since start", space: 70, incrs: DURATION_INCRS,
        values: (u, splits) => splits.map(fmtSeconds)};
    }
    return {label: "step", values: (u, splits, _i, _space, incr) => axisLabels(splits, incr)};
  }

  function draw(runs, allKeys, keys) {
    const [, p] = route();
    const x = p.get("x") || "step";
    const logY = p.get("log") === "1";
    for (const pl of plots) pl.plot.destroy();
    plots.length = 0;
    const grid = el("div", {class: "charts"});
    box.replaceChildren(toolbar(allKeys, keys), grid);
    const width = Math.max(360, Math.min(900, (grid.clientWidth || 1200) / 2 - 24));
    if (typeof uPlot === "undefined") {
      grid.replaceChildren(el("p", {class: "error"}, window.RUNLOG_CHARTS_MISSING || "The charting library did not load."));
      return;
    }
    for (const key of keys) {
      const aligned = alignedData(key, runs);
      const card = el("div", {class: "chart", "data-key": key}, el("h3", {}, key));
      grid.append(card);
      const opts = {
        width, height: 260,
        scales: {x: {time: x === "time"}, y: logY ? {distr: 3, range: logRange} : {}},
        axes: [xAxis(x), logY ? {size: axisSize, splits: logSplits, filter: logLabelled,
          values: (u, splits) => splits.map(fmtCompact)} : {size: axisSize,
          values: (u, splits, _i, _space, incr) => axisLabels(splits, incr)}],
        series: [{
          label: x === "step" ? "step" : "time",
          value: x === "rel" ? (u, v) => fmtSeconds(v) : undefined,
        }].concat(runs.map((r, i) => ({
          label: r.info.run_name || r.info.run_id,
          value: (u, v) => (v === null || v === undefined ? "--" : fmtNumber(v)),
          stroke: COLOURS[i % COLOURS.length],
          dash: i >= COLOURS.length ? [6, 3] : undefined,
          // A lone point (one value, or one above zero on a log axis) shows as a dot.
          width: 1.5, spanGaps: true, points: {show: (u, si) => hasOneValue(u.data[si])},
        }))),
        cursor: {drag: {x: true, y: false}},
        hooks: {setSelect: [(u) => {
          if (u.select.width < 4) return;
          const a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({width: 0, height: 0}, false);
          if (x === "step") { setParams({z: `${Math.floor(a)}:${Math.ceil(b)}`}); update(); }
          else u.setScale("x", {min: a, max: b});
        }]},
      };
      const plot = new uPlot(opts, aligned, card);
      plots.push({key, plot, runs});
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
    for (const pl of plots) pl.plot.setData(alignedData(pl.key, pl.runs), true);
    statusLine.textContent = `live: updated ${new Date().toLocaleTimeString()}`;
  }

  // What the browser tests read: each chart's key, curve labels and data
  // (not its pixels), the tick labels and ticks uPlot drew (its `_values`
  // and `_splits`), the y range, where the plot starts, the legend's text,
  // and the uPlot instance to zoom with.
  window.runlogCharts = () => plots.map((pl) => ({key: pl.key,
    labels: pl.plot.series.slice(1).map((s) => s.label), data: pl.plot.data,
    ticks: pl.plot.axes.map((a) => a._values || []), splits: pl.plot.axes.map((a) => a._splits || []),
    y: [pl.plot.scales.y.min, pl.plot.scales.y.max], plotLeft: pl.plot.bbox.left / (window.devicePixelRatio || 1),
    legend: [...pl.plot.root.querySelectorAll(".u-legend .u-value")].map((e) => e.textContent)}));
  window.runlogPlot = (i) => plots[i] && plots[i].plot;

  return {update, stop() { closeStream(); for (const pl of plots) pl.plot.destroy(); }};
}
