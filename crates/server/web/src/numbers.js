// Numbers as the dashboard shows them: in tables and legends with the
// significant digits a value has; on chart axes with the digits the tick
// spacing needs (0.0025 apart: four decimals), SI prefixes for large values
// (150k, 1.2G), a shared exponent for tiny ones (2.5e-6); relative time as
// durations (1h 30m); times and durations in tables. And the chart axes
// that show them: sized to their labels, log axes fitted to the data.

const SI_PREFIXES = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
/** Below this, axis labels take an exponent; from LARGE_AXIS up, SI prefixes. */
const TINY_AXIS = 1e-3;
const LARGE_AXIS = 1e4;

/** A value in a table or a legend: integers whole, others with up to six
 * significant digits, exponents for the very small and very large. */
export function fmtNumber(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v; // "NaN", "Infinity"
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-4 || a >= 1e6)) ? v.toExponential(4) : String(+v.toPrecision(6));
}

/** The decimals that write `step` exactly (0.0025: 4; 5: 0), at most 12. */
export function decimalsFor(step) {
  const s = Math.abs(step);
  if (!Number.isFinite(s) || s === 0) return 0;
  for (let d = 0; d < 12; d++) {
    const scaled = s * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) <= 1e-6 * Math.max(1, scaled)) return d;
  }
  return 12;
}

/** Labels for ticks `splits` that are `incr` apart on a linear axis: every
 * label distinct, none longer than it needs. Null splits (ticks the axis
 * leaves unlabelled) get "". */
export function axisLabels(splits, incr) {
  const top = Math.max(0, ...splits.filter(Number.isFinite).map(Math.abs));
  const label = (scale, suffix) => {
    const d = decimalsFor(incr / scale);
    return splits.map((v) => (v === null || !Number.isFinite(v) ? ""
      : v === 0 ? "0" : (v / scale).toFixed(d) + suffix));
  };
  if (top >= LARGE_AXIS) {
    const [scale, prefix] = SI_PREFIXES.find(([s]) => top >= s) || [1, ""];
    return label(scale, prefix);
  }
  if (top > 0 && top < TINY_AXIS) {
    const exp = Math.floor(Math.log10(top));
    return label(10 ** exp, `e${exp}`);
  }
  return label(1, "");
}

/** One value in three significant digits at most, with an SI prefix or an
 * exponent as on an axis: the ticks of a log axis, where each stands alone. */
export function fmtCompact(v) {
  if (v === null || !Number.isFinite(v)) return "";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= LARGE_AXIS) {
    const [scale, prefix] = SI_PREFIXES.find(([s]) => a >= s) || [1, ""];
    return String(+(v / scale).toPrecision(3)) + prefix;
  }
  if (a < TINY_AXIS) {
    const exp = Math.floor(Math.log10(a));
    return String(+(v / 10 ** exp).toPrecision(3)) + `e${exp}`;
  }
  return String(+v.toPrecision(3));
}

/** A size in bytes: "512 B", "1.5 KiB", "3.2 MiB". */
export function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = Number(n) || 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${+v.toPrecision(3)} ${units[i]}`;
}

/** Seconds as a duration: "45s", "2m 30s", "1h 05m", "3d 4h". */
export function fmtSeconds(sec) {
  if (sec === null || !Number.isFinite(sec)) return "";
  const sign = sec < 0 ? "-" : "";
  let s = Math.abs(sec);
  if (s < 60) return sign + `${+s.toPrecision(3)}s`;
  s = Math.round(s);
  const pad = (n) => String(n).padStart(2, "0");
  const [d, h, m, r] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60];
  if (d > 0) return sign + (h ? `${d}d ${h}h` : `${d}d`);
  if (h > 0) return sign + (m ? `${h}h ${pad(m)}m` : `${h}h`);
  return sign + (r ? `${m}m ${pad(r)}s` : `${m}m`);
}

/** Tick spacings for an axis of seconds: whole seconds, minutes, hours, days. */
export const DURATION_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
  3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

// The canvas the axis sizes are measured on.
let measuring = null;

/** uPlot's `size` of an axis: wide enough for its widest label, so that no
 * label is cut (uPlot's fixed default fits about six characters). */
export function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  // uPlot sizes its axes in up to three rounds, and a size set in the last
  // round is not laid out: the labels drawn are that round's, which may be
  // on a finer spacing than those sized with ("150k" then "147.5k"). So
  // the size has room for two more characters, and stays put in the last
  // round.
  if (cycleNum >= 3 && axis._size) return axis._size;
  measuring = measuring || document.createElement("canvas").getContext("2d");
  measuring.font = Array.isArray(axis.font) ? axis.font[0] : axis.font;
  const scale = Array.isArray(axis.font) ? (window.devicePixelRatio || 1) : 1;
  const widest = Math.max(0, ...(values || []).map((v) => measuring.measureText(v || "").width / scale));
  const room = measuring.measureText("0.0").width / scale;
  const size = Math.ceil(widest + room + axis.ticks.size + axis.gap);
  return cycleNum > 1 ? Math.max(size, axis._size || 0) : size;
}

/** A round step for about four ticks over `span`: 1, 2 or 5 x 10^k. */
export function niceStep(span) {
  const raw = span / 4;
  const decade = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].find((m) => m * decade >= raw * (1 - 1e-9)) * decade;
}

/** The least and greatest positive y of a chart's data (a loop: a chart
 * of 100 runs holds 200,000 values, too many to spread into Math.min). */
export function positiveExtent(u) {
  let lo = Infinity, hi = -Infinity;
  for (const ys of u.data.slice(1)) {
    for (const v of ys) {
      if (v > 0) { if (v < lo) lo = v; if (v > hi) hi = v; }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** uPlot's `range` of a log y scale, fitted to the data: over a decade or
 * more, from the largest m x 10^k (m a digit) at or below its least value
 * to the smallest at or above its greatest, rather than uPlot's whole
 * decades; within less than a decade, to round steps of its span. */
export function logRange(u, min, max) {
  if (!(min > 0) || !(max >= min)) {
    const extent = positiveExtent(u);
    if (!extent) return [1, 10];
    [min, max] = extent;
  }
  if (min === max) [min, max] = [min * 0.9, max * 1.1];
  if (max / min < 10) {
    const step = niceStep(max - min);
    const lo = Math.floor(min / step) * step;
    return [lo > 0 ? +lo.toPrecision(12) : roundDigit(min, false), +(Math.ceil(max / step) * step).toPrecision(12)];
  }
  return [roundDigit(min, false), roundDigit(max, true)];
}

/** `v` rounded down (or up) to m x 10^k, m a digit: 0.31 -> 0.3, 2.3 -> 3. */
export function roundDigit(v, up) {
  const decade = 10 ** Math.floor(Math.log10(v));
  const m = (up ? Math.ceil : Math.floor)(+(v / decade).toPrecision(12));
  return +(m * decade).toPrecision(12);
}

/** uPlot's `splits` of a log y axis: within a decade, round steps; over
 * more, every m x 10^k (m a digit) in range. */
export function logSplits(u, axisIdx, min, max) {
  if (max / min < 10) {
    // The scale's least value, then the round steps above it.
    const step = niceStep(max - min);
    const out = [min];
    for (let v = Math.ceil(min / step) * step; v <= max * (1 + 1e-9); v += step) {
      if (v > min * (1 + 1e-9)) out.push(+v.toPrecision(12));
    }
    return out;
  }
  const out = [];
  for (let k = Math.floor(Math.log10(min)); 10 ** k <= max; k++) {
    for (let m = 1; m <= 9; m++) {
      const v = +(m * 10 ** k).toPrecision(12);
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** uPlot's `filter` of a log y axis: which ticks get a label (null: a
 * grid line only). Over a few decades 1, 2 and 5 x 10^k; over more, the
 * powers of ten alone. */
export function logLabelled(u, splits) {
  const [min, max] = [splits[0], splits[splits.length - 1]];
  const decades = Math.log10(max / min);
  if (!(decades >= 1)) return splits;
  const keep = decades > 3 ? [1] : decades > 1.5 ? [1, 2, 5] : [1, 2, 3, 5];
  return splits.map((v) => (keep.includes(Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9))) ? v : null));
}

/** A time in the browser's zone: 2026-12-07 01:14:51. */
export function fmtTime(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A duration in words: 4.2 s, 3 min 5 s, 2 h 10 min. */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
