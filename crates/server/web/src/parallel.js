// Parallel coordinates over a sweep: one vertical axis per chosen column
// (params, metrics, tags), one line per run across them, coloured by the
// last axis; dragging along an axis brushes a range (a click clears it),
// and the runs outside every brush fade. Drawn on a canvas: 1,000 runs
// redraw in a few milliseconds while brushing.
import { cssColour } from "./chart-export.js";
import { el, fitCanvas } from "./dom.js";
import { fmtNumber } from "./numbers.js";
import { inBrushes, ramp, scaleOf } from "./sweep-scales.js";

const HEIGHT = 340;
const PAD = {top: 40, bottom: 24, side: 70};

/**
 * A parallel-coordinates plot of `runs` over `cols`. `brushes` (Map of
 * column id to {lo, hi} or {cats}) is changed in place while dragging;
 * `onBrush(brushes)` hears each finished drag, `onHover(run)` the run
 * under the pointer. Returns {element, redraw(), timing()}.
 */
export function parallelPlot(runs, cols, brushes, columnsById, onBrush, onHover) {
  const canvas = el("canvas", {class: "parallel", "aria-label": "parallel coordinates"});
  const wrap = el("div", {class: "parallel-box"}, canvas);
  const scales = cols.map((c) => scaleOf(c, runs));
  let width = 0;
  let lastMs = 0;
  const redraws = []; // the latest redraws' times (ms), for benches/dashboard_speed.sh
  const axisX = (i) => (cols.length === 1 ? width / 2 : PAD.side + i * (width - 2 * PAD.side) / (cols.length - 1));
  const yOf = (p) => PAD.top + (1 - p) * (HEIGHT - PAD.top - PAD.bottom);
  const posOfY = (y) => 1 - (y - PAD.top) / (HEIGHT - PAD.top - PAD.bottom);
  // Each run's positions on the axes, computed once.
  const positions = runs.map((r) => scales.map((s) => s.pos(r)));
  const colourScale = scales[scales.length - 1];

  /** The drawn brush of axis `i` as [bottom, top] positions, or null. */
  function brushSpan(i) {
    const b = brushes.get(cols[i].id);
    if (!b) return null;
    const s = scales[i];
    if (b.cats) {
      const ps = s.numeric ? [] : b.cats.map((c) => s.cats.indexOf(c)).filter((k) => k >= 0).map((k) => (k + 0.5) / s.cats.length);
      if (ps.length === 0) return null;
      const half = 0.5 / s.cats.length;
      return [Math.min(...ps) - half, Math.max(...ps) + half];
    }
    if (!s.numeric) return null;
    return [(b.lo - s.min) / (s.max - s.min), (b.hi - s.min) / (s.max - s.min)];
  }

  function redraw() {
    const t0 = performance.now();
    width = Math.max(320, wrap.clientWidth || 900);
    const ctx = fitCanvas(canvas, width, HEIGHT);
    const fg = cssColour("--fg"), muted = cssColour("--line");
    const inside = runs.map((r) => inBrushes(r, brushes, columnsById));
    const line = (k) => {
      ctx.beginPath();
      let open = false;
      positions[k].forEach((p, i) => {
        if (p === null) { open = false; return; }
        const x = axisX(i), y = yOf(p);
        if (open) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        open = true;
      });
      ctx.stroke();
    };
    // The runs outside the brushes first, faint; those inside over them.
    ctx.lineWidth = 1;
    ctx.strokeStyle = muted;
    ctx.globalAlpha = 0.6;
    for (let k = 0; k < runs.length; k++) if (!inside[k]) line(k);
    ctx.globalAlpha = runs.length > 300 ? 0.35 : 0.8;
    ctx.lineWidth = 1.25;
    for (let k = 0; k < runs.length; k++) {
      if (!inside[k]) continue;
      const p = positions[k][positions[k].length - 1];
      ctx.strokeStyle = p === null ? fg : ramp(p);
      line(k);
    }
    ctx.globalAlpha = 1;
    // The axes, their names, ticks and brushes.
    ctx.font = "11px system-ui, sans-serif";
    cols.forEach((c, i) => {
      const x = axisX(i);
      ctx.strokeStyle = fg;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, yOf(1));
      ctx.lineTo(x, yOf(0));
      ctx.stroke();
      ctx.fillStyle = fg;
      ctx.textAlign = "center";
      ctx.font = "bold 11px system-ui, sans-serif";
      const name = c.title.length > 18 ? `${c.title.slice(0, 17)}\u2026` : c.title;
      ctx.fillText(name, x, 14);
      ctx.font = "10px system-ui, sans-serif";
      ctx.fillStyle = cssColour("--muted");
      ctx.fillText({a: "", p: "param", m: "metric", t: "tag"}[c.group] || "", x, 26);
      ctx.fillStyle = fg;
      ctx.textAlign = "right";
      const ticks = scales[i].ticks;
      const every = Math.max(1, Math.ceil(ticks.length / 12));
      ticks.forEach(([p, label], k) => {
        if (k % every) return;
        ctx.fillRect(x - 3, yOf(p), 3, 1);
        const text = typeof label === "number" ? fmtNumber(label) : String(label);
        ctx.fillText(text.length > 12 ? `${text.slice(0, 11)}\u2026` : text, x - 5, yOf(p) + 3);
      });
      const span = brushSpan(i);
      if (span) {
        ctx.fillStyle = "rgba(37, 99, 235, 0.18)";
        ctx.strokeStyle = "rgba(37, 99, 235, 0.9)";
        const top = yOf(Math.min(1, span[1])), bottom = yOf(Math.max(0, span[0]));
        ctx.fillRect(x - 8, top, 16, bottom - top);
        ctx.strokeRect(x - 8, top, 16, bottom - top);
      }
    });
    lastMs = performance.now() - t0;
    redraws.push(lastMs);
    if (redraws.length > 200) redraws.shift();
  }

  /** Sets axis `i`'s brush to the positions from `a` to `b`. */
  function brush(i, a, b) {
    const s = scales[i];
    const [lo, hi] = [Math.max(0, Math.min(a, b)), Math.min(1, Math.max(a, b))];
    if (s.numeric) brushes.set(cols[i].id, {lo: s.valueAt(lo), hi: s.valueAt(hi)});
    else {
      const cats = s.catsBetween(lo, hi);
      if (cats.length) brushes.set(cols[i].id, {cats}); else brushes.delete(cols[i].id);
    }
  }

  let drag = null; // {axis, from} while brushing
  const pointer = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  const nearestAxis = (x) => {
    let best = -1, dist = 16;
    cols.forEach((_, i) => { const d = Math.abs(axisX(i) - x); if (d < dist) { dist = d; best = i; } });
    return best;
  };
  canvas.addEventListener("pointerdown", (ev) => {
    const [x, y] = pointer(ev);
    const axis = nearestAxis(x);
    if (axis < 0) return;
    drag = {axis, from: posOfY(y), moved: false};
    canvas.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  let frame = 0;
  canvas.addEventListener("pointermove", (ev) => {
    const [x, y] = pointer(ev);
    if (!drag) {
      canvas.style.cursor = nearestAxis(x) >= 0 ? "ns-resize" : "default";
      if (onHover) onHover(hoveredRun(x, y));
      return;
    }
    const to = posOfY(y);
    if (Math.abs(to - drag.from) * (HEIGHT - PAD.top - PAD.bottom) < 3) return;
    drag.moved = true;
    brush(drag.axis, drag.from, to);
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; redraw(); });
  });
  canvas.addEventListener("pointerup", () => {
    if (!drag) return;
    if (!drag.moved) brushes.delete(cols[drag.axis].id); // a click clears the axis
    drag = null;
    redraw();
    onBrush(brushes);
  });

  /** The run whose line passes nearest the pointer (within 6 px), or null. */
  function hoveredRun(x, y) {
    if (cols.length < 2) return null;
    let seg = 0;
    while (seg < cols.length - 2 && axisX(seg + 1) < x) seg++;
    const x0 = axisX(seg), x1 = axisX(seg + 1);
    if (x < x0 || x > x1) return null;
    const t = (x - x0) / (x1 - x0);
    let best = null, dist = 6;
    positions.forEach((ps, k) => {
      if (ps[seg] === null || ps[seg + 1] === null) return;
      const d = Math.abs(yOf(ps[seg] + t * (ps[seg + 1] - ps[seg])) - y);
      if (d < dist) { dist = d; best = runs[k]; }
    });
    return best;
  }

  // For tests: each axis's column and x, and the y of a position.
  const geometry = () => ({axes: cols.map((c, i) => [c.id, axisX(i)]), y: (pos) => yOf(pos)});
  return {element: wrap, redraw, timing: () => lastMs, redraws: () => [...redraws], geometry};
}
