// The scales of the sweep views (parallel coordinates, scatter): a run
// column (a param, metric, tag or attribute of runs-table.js) over a set
// of runs, numeric when every value it has is a number, else categories;
// and the brushes that keep runs whose value falls in a range (or among
// chosen categories), written in the URL as "m.loss:0.1:0.3" or
// "p.optimizer:=adam|sgd".
import { niceStep } from "./numbers.js";

/** A run's value of `col` as a number, or null when it has none. */
function numberOf(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * The scale of column `col` over `runs`: `pos(run)` is where the run sits
 * from 0 (bottom, left) to 1, or null when it has no value; `ticks` are
 * [position, label]; `numeric` says which kind it is.
 */
export function scaleOf(col, runs) {
  const values = runs.map((r) => col.value(r));
  const nums = values.map(numberOf);
  const numeric = nums.every((n) => n === null || Number.isFinite(n)) && nums.some((n) => n !== null);
  if (numeric) {
    let min = Infinity, max = -Infinity;
    for (const n of nums) if (n !== null) { if (n < min) min = n; if (n > max) max = n; }
    if (min === max) { min -= 0.5; max += 0.5; }
    const span = max - min;
    const at = (n) => (n - min) / span;
    const step = niceStep(span);
    const ticks = [];
    for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push([at(v), +v.toPrecision(6)]);
    return {col, numeric, min, max, ticks, pos: (r) => { const n = numberOf(col.value(r)); return n === null || !Number.isFinite(n) ? null : at(n); },
      valueAt: (p) => min + p * span};
  }
  const cats = [...new Set(values.filter((v) => v !== null && v !== undefined && v !== "").map(String))]
    .sort((a, b) => a.localeCompare(b, undefined, {numeric: true}));
  const index = new Map(cats.map((c, i) => [c, i]));
  const at = (i) => (i + 0.5) / cats.length;
  return {col, numeric: false, cats, ticks: cats.map((c, i) => [at(i), c]),
    pos: (r) => { const v = col.value(r); return v === null || v === undefined || v === "" ? null : at(index.get(String(v))); },
    catsBetween: (lo, hi) => cats.filter((_, i) => at(i) >= lo && at(i) <= hi)};
}

/** The brushes in the URL's "br": Map(column id -> {lo, hi} | {cats}). */
export function parseBrushes(text) {
  const out = new Map();
  for (const part of (text || "").split(",").filter(Boolean)) {
    const cut = part.lastIndexOf(":=");
    if (cut > 0) {
      out.set(part.slice(0, cut), {cats: part.slice(cut + 2).split("|").map(decodeURIComponent)});
      continue;
    }
    const m = part.match(/^(.*):(-?[\d.eE+-]+|-?Infinity):(-?[\d.eE+-]+|-?Infinity)$/);
    if (m && Number(m[2]) <= Number(m[3])) out.set(m[1], {lo: Number(m[2]), hi: Number(m[3])});
  }
  return out;
}

/** The brushes as the URL's "br". */
export function brushesText(brushes) {
  return [...brushes.entries()].map(([id, b]) => (b.cats
    ? `${id}:=${b.cats.map(encodeURIComponent).join("|")}`
    // Exact bounds: rounded ones would drop the run at the edge.
    : `${id}:${b.lo}:${b.hi}`)).join(",");
}

/** Whether `run` is inside every brush (a brushed column it lacks keeps it out). */
export function inBrushes(run, brushes, columns) {
  for (const [id, b] of brushes) {
    const col = columns.get(id);
    if (!col) continue;
    const v = col.value(run);
    if (v === null || v === undefined || v === "") return false;
    if (b.cats) { if (!b.cats.includes(String(v))) return false; continue; }
    const n = Number(v);
    if (!(n >= b.lo && n <= b.hi)) return false;
  }
  return true;
}

/** A colour from blue (0) through purple to red (1). */
export function ramp(t) {
  const c = Math.max(0, Math.min(1, t));
  const r = Math.round(37 + c * (220 - 37)), g = Math.round(99 + c * (38 - 99)), b = Math.round(235 + c * (38 - 235));
  return `rgb(${r},${g},${b})`;
}
