// What a chart draws, from the downsampled, spike-keeping series the
// server sends: each run's curve on the chosen x axis (step, wall time,
// time since the run started, or another metric's value at the same
// step), smoothed and cut to what a log axis can show; or, grouped by a
// param or tag, each group's mean with its min/max band. No drawing here.

// Distinct colours for at least 10 curves (then they repeat, dashed).
export const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
  "#0891b2", "#c026d3", "#65a30d", "#92400e", "#475569",
  "#e11d48", "#0d9488", "#7c3aed", "#ca8a04", "#1e40af"];

/** Exponential moving average (debiased, as TensorBoard's smoothing). */
export function smooth(values, weight) {
  if (!weight) return values;
  let last = 0, n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

/** The value of a series (sorted `xs`, `ys`) at `x`, linear between its
 * points; null outside them. */
export function valueAt(xs, ys, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0 || x < xs[0] || x > xs[hi]) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid; else hi = mid;
  }
  if (xs[lo] === x) return ys[lo];
  if (xs[hi] === x) return ys[hi];
  const a = ys[lo], b = ys[hi];
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a + (b - a) * (x - xs[lo]) / (xs[hi] - xs[lo]);
}

/**
 * The view's settings from the URL: `x` ("step", "time", "rel", or
 * "m:<key>" for another metric), `logX`, `logY`, smoothing `weight`, and
 * `group` ("p.<key>" or "t.<key>", or "").
 */
export function viewOf(params) {
  return {x: params.get("x") || "step", logX: params.get("logx") === "1", logY: params.get("log") === "1",
    weight: +(params.get("s") || 0) || 0, group: params.get("g") || ""};
}

/** The metric an "m:<key>" x axis names, or null. */
export function xMetric(view) {
  return view.x.startsWith("m:") ? view.x.slice(2) : null;
}

/**
 * One run's curve of a series `s` ({step, timestamp, value}) as [xs, ys],
 * sorted by x. `xs` of another metric (`xSeries`) take its value at each
 * step, linear between the steps it has.
 */
export function curveOf(s, run, view, xSeries) {
  let xs;
  if (view.x === "time") xs = s.timestamp.map((t) => t / 1000);
  else if (view.x === "rel") xs = s.timestamp.map((t) => (t - run.info.start_time) / 1000);
  else if (xSeries) xs = s.step.map((st) => valueAt(xSeries.step, xSeries.value, st));
  else xs = s.step;
  let ys = smooth(s.value, view.weight);
  const keep = xs.map((x, i) => x !== null && Number.isFinite(x) && !(view.logX && x <= 0) &&
    !(view.logY && !(ys[i] > 0)) ? i : -1).filter((i) => i >= 0);
  const order = keep.sort((a, b) => xs[a] - xs[b]);
  ys = order.map((i) => (typeof ys[i] === "number" ? ys[i] : null));
  return [order.map((i) => xs[i]), ys];
}

/** A run's group under `by` ("p.lr": its param lr; "t.team": its tag team). */
export function groupOf(run, by) {
  const key = by.slice(2);
  const list = by.startsWith("p.") ? run.data.params : run.data.tags;
  const hit = (list || []).find((e) => e.key === key);
  return hit ? hit.value : "(none)";
}

/**
 * The mean, min and max of `curves` ([xs, ys] each) at every x any of them
 * has, each curve read between its points (never past its ends).
 */
export function aggregate(curves) {
  const all = [...new Set(curves.flatMap(([xs]) => xs))].sort((a, b) => a - b);
  const mean = [], min = [], max = [];
  for (const x of all) {
    let sum = 0, n = 0, lo = Infinity, hi = -Infinity;
    for (const [xs, ys] of curves) {
      const v = valueAt(xs, ys, x);
      if (v === null || !Number.isFinite(v)) continue;
      sum += v; n++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mean.push(n ? sum / n : null);
    min.push(n ? lo : null);
    max.push(n ? hi : null);
  }
  return [all, mean, min, max];
}

/** A colour with opacity `alpha` (0..1), from "#rrggbb". */
export function faded(colour, alpha) {
  return colour + Math.round(alpha * 255).toString(16).padStart(2, "0");
}

/**
 * A chart's data: uPlot's aligned table and a description of each curve
 * ({label, stroke, dash, width, role: "run" | "mean" | "min" | "max", runs}),
 * and the bands to fill (min to max of each group). `seriesOf(run, key)`
 * gives the series the server sent, or null.
 */
export function chartData(key, runs, view, seriesOf) {
  const xKey = xMetric(view);
  const empty = {step: [], timestamp: [], value: []};
  const curves = runs.map((r) => curveOf(seriesOf(r, key) || empty, r, view, xKey ? seriesOf(r, xKey) || empty : null));
  const tables = [], series = [], bands = [];
  if (!view.group) {
    runs.forEach((r, i) => {
      tables.push(curves[i]);
      series.push({label: r.info.run_name || r.info.run_id, stroke: COLOURS[i % COLOURS.length],
        dash: i >= COLOURS.length ? [6, 3] : undefined, width: 1.5, role: "run", runs: [r]});
    });
  } else {
    const groups = new Map();
    runs.forEach((r, i) => {
      const g = groupOf(r, view.group);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(i);
    });
    [...groups.keys()].sort().forEach((g, k) => {
      const members = groups.get(g);
      const [xs, mean, min, max] = aggregate(members.map((i) => curves[i]));
      const colour = COLOURS[k % COLOURS.length];
      const name = `${view.group.slice(2)}=${g}`;
      const runsOf = members.map((i) => runs[i]);
      const at = series.length + 1; // uPlot's index of this group's mean
      tables.push([xs, mean], [xs, min], [xs, max]);
      series.push({label: `${name} (mean of ${members.length})`, stroke: colour, width: 2, role: "mean", runs: runsOf},
        {label: `${name} min`, stroke: faded(colour, 0.45), width: 0.75, role: "min", runs: runsOf},
        {label: `${name} max`, stroke: faded(colour, 0.45), width: 0.75, role: "max", runs: runsOf});
      bands.push({series: [at + 2, at + 1], fill: faded(colour, 0.15)});
    });
  }
  const aligned = tables.length ? uPlot.join(tables) : [[]];
  return {aligned, series, bands};
}
