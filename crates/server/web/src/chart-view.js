// One chart on screen: a card with its title and buttons (CSV, PNG, SVG,
// full screen), resizable by its corner, drawn by uPlot with the axes the
// view asks for (step, wall time, time since start or another metric on
// x; linear or log on either axis), a tooltip listing the curves at the
// cursor sorted by value, and drag-to-zoom.
import { chartCsv, chartPng, chartSvg, cssColour } from "./chart-export.js";
import { xMetric } from "./chart-data.js";
import { download, el } from "./dom.js";
import {
  DURATION_INCRS, axisLabels, axisSize, fmtCompact, fmtNumber, fmtSeconds, fmtTime, logLabelled, logRange, logSplits,
  roundDigit,
} from "./numbers.js";

const HEIGHT = 260;

/** The x axis's name as a column heading and axis label. */
export function xName(view) {
  return xMetric(view) || {step: "step", time: "time", rel: "time since start"}[view.x] || "step";
}

/** uPlot's range of a log x scale: m x 10^k around the positive data. */
function logXRange(u, min, max) {
  if (!(min > 0)) {
    const xs = u.data[0].filter((v) => v > 0);
    if (xs.length === 0) return [1, 10];
    [min, max] = [xs[0], xs[xs.length - 1]];
  }
  if (min === max) return [min / 2, max * 2];
  return [roundDigit(min, false), roundDigit(max, true)];
}

/** The x axis for the view: steps, wall-clock time (uPlot's dates), the
 * time since each run started as durations, or another metric's values. */
function xAxis(view, fg, grid) {
  const common = {stroke: fg, grid: {stroke: grid}, ticks: {stroke: grid}, label: xName(view)};
  if (view.x === "time") return {...common, label: undefined};
  if (view.x === "rel") {
    return {...common, space: 70, incrs: DURATION_INCRS, values: (u, splits) => splits.map(fmtSeconds)};
  }
  if (view.logX) return {...common, splits: logSplits, filter: logLabelled, values: (u, splits) => splits.map(fmtCompact)};
  return {...common, values: (u, splits, _i, _space, incr) => axisLabels(splits, incr)};
}

function yAxis(view, fg, grid) {
  const common = {stroke: fg, grid: {stroke: grid}, ticks: {stroke: grid}, size: axisSize};
  if (view.logY) return {...common, splits: logSplits, filter: logLabelled, values: (u, splits) => splits.map(fmtCompact)};
  return {...common, values: (u, splits, _i, _space, incr) => axisLabels(splits, incr)};
}

/** The x value at the cursor, as the axis writes it. */
function xText(view, v) {
  if (view.x === "time") return fmtTime(v * 1000);
  if (view.x === "rel") return fmtSeconds(v);
  return fmtNumber(v);
}

/** Whether `ys` holds exactly one value that is not null. */
function hasOneValue(ys) {
  let n = 0;
  for (const v of ys) if (v !== null && v !== undefined && ++n > 1) return false;
  return n === 1;
}

/**
 * The tooltip: at the cursor's x, each shown curve's value there, highest
 * first (a curve with no point at that x is left out).
 */
function tooltipPlugin(view) {
  let tip = null;
  return {hooks: {
    init: (u) => {
      tip = el("div", {class: "chart-tooltip", role: "tooltip", style: "display:none"});
      u.over.append(tip);
    },
    setCursor: (u) => {
      const i = u.cursor.idx;
      if (i === null || i === undefined || u.cursor.left < 0) { tip.style.display = "none"; return; }
      const rows = [];
      u.series.forEach((s, k) => {
        const v = k > 0 && s.show !== false ? u.data[k][i] : null;
        if (v !== null && v !== undefined) rows.push([v, s, k]);
      });
      if (rows.length === 0) { tip.style.display = "none"; return; }
      rows.sort((a, b) => b[0] - a[0]);
      tip.replaceChildren(el("div", {class: "tip-x"}, `${xName(view)} ${xText(view, u.data[0][i])}`),
        ...rows.map(([v, s, k]) => el("div", {class: "tip-row"},
          el("span", {class: "swatch", style: `background:${typeof s.stroke === "function" ? s.stroke(u, k) : s.stroke}`}),
          el("span", {class: "tip-label"}, s.label), el("span", {class: "tip-value"}, fmtNumber(v)))));
      tip.style.display = "block";
      const right = u.cursor.left > u.over.clientWidth / 2;
      tip.style.left = right ? "" : `${u.cursor.left + 12}px`;
      tip.style.right = right ? `${u.over.clientWidth - u.cursor.left + 12}px` : "";
      tip.style.top = "4px";
    },
  }};
}

/**
 * A chart card for `key`: `chart` is chartData's answer, `view` the URL's
 * settings, `width` the card's first width, and `onZoom(min, max)` hears
 * a dragged x range. Returns {card, plot, resize()}.
 */
export function chartCard(key, chart, view, width, onZoom) {
  const fg = cssColour("--fg"), grid = cssColour("--grid");
  const body = el("div", {class: "chart-body"});
  const plotRef = {plot: null};
  const expand = el("button", {class: "chart-expand", title: "Full screen (Esc to leave)",
    "aria-label": `full screen ${key}`, onclick: () => toggleFull()}, "\u2922");
  const buttons = el("span", {class: "chart-buttons"},
    el("button", {class: "chart-csv", title: "The chart's data as CSV",
      onclick: () => download(`${key}.csv`, chartCsv(plotRef.plot, xName(view)), "text/csv")}, "CSV"),
    el("button", {class: "chart-png", title: "The chart as PNG",
      onclick: async () => download(`${key}.png`, await chartPng(plotRef.plot, key))}, "PNG"),
    el("button", {class: "chart-svg", title: "The chart as SVG",
      onclick: () => download(`${key}.svg`, chartSvg(plotRef.plot, key), "image/svg+xml")}, "SVG"),
    expand);
  const card = el("div", {class: "chart", "data-key": key}, el("div", {class: "chart-head"}, el("h3", {}, key), buttons), body);
  const opts = {
    width, height: HEIGHT,
    legend: {show: false},
    scales: {
      x: view.logX && view.x !== "time" && view.x !== "rel" ? {time: false, distr: 3, range: logXRange}
        : {time: view.x === "time"},
      y: view.logY ? {distr: 3, range: logRange} : {},
    },
    axes: [xAxis(view, fg, grid), yAxis(view, fg, grid)],
    series: [{label: xName(view)}].concat(chart.series.map((s) => ({
      label: s.label, stroke: s.stroke, dash: s.dash, width: s.width, spanGaps: true,
      // A lone point (one value, or one above zero on a log axis) shows as a dot.
      points: {show: (u, si) => hasOneValue(u.data[si])},
    }))),
    bands: chart.bands,
    cursor: {drag: {x: true, y: false}},
    plugins: [tooltipPlugin(view)],
    hooks: {setSelect: [(u) => {
      if (u.select.width < 4) return;
      const a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
      u.setSelect({width: 0, height: 0}, false);
      onZoom(u, a, b);
    }]},
  };
  const plot = new uPlot(opts, chart.aligned, body);
  plotRef.plot = plot;
  // Resized by its corner (CSS resize) or full screen: the plot follows the card.
  const fit = () => {
    const w = Math.max(240, Math.floor(body.clientWidth));
    const full = card.classList.contains("full");
    // The card's height is the plot's own until dragged by its corner
    // (which sets it inline): then the plot fills it.
    const room = card.clientHeight - card.firstChild.offsetHeight - 14;
    const h = full ? Math.max(200, window.innerHeight - 90) : card.style.height ? Math.max(120, room) : HEIGHT;
    if (Math.abs(w - plot.width) > 1 || Math.abs(h - plot.height) > 1) plot.setSize({width: w, height: h});
  };
  const observer = new ResizeObserver(() => fit());
  observer.observe(card);
  const onKey = (ev) => { if (ev.key === "Escape" && card.classList.contains("full")) toggleFull(); };
  function toggleFull() {
    const full = card.classList.toggle("full");
    expand.setAttribute("aria-pressed", String(full));
    if (full) window.addEventListener("keydown", onKey);
    else window.removeEventListener("keydown", onKey);
    card.style.height = "";
    fit();
  }
  return {card, plot, destroy() { observer.disconnect(); window.removeEventListener("keydown", onKey); plot.destroy(); }};
}
