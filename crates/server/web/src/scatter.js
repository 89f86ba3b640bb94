// A param-vs-metric scatter of a sweep: one point per run, x and y any
// column (numeric or categories, a category's runs spread a little so they
// do not hide each other); runs outside the parallel coordinates' brushes
// fade, ticked runs are ringed; hovering names a run, clicking ticks it.
import { cssColour } from "./chart-export.js";
import { el, fitCanvas } from "./dom.js";
import { fmtNumber } from "./numbers.js";
import { inBrushes, scaleOf } from "./sweep-scales.js";

const HEIGHT = 340;
const PAD = {left: 70, right: 16, top: 12, bottom: 40};

/**
 * A scatter of `runs` with column `xCol` across and `yCol` up. `selected`
 * (a Set of run ids) is ringed; `onPick(run)` hears a click on a point.
 * Returns {element, redraw(), pointOf(run)} (pointOf: the point's place
 * in CSS pixels of the canvas, for tests).
 */
export function scatterPlot(runs, xCol, yCol, brushes, columnsById, selected, onPick) {
  const canvas = el("canvas", {class: "scatter", "aria-label": `${yCol.title} against ${xCol.title}`});
  const tip = el("div", {class: "chart-tooltip", style: "display:none"});
  const wrap = el("div", {class: "scatter-box"}, canvas, tip);
  const sx = scaleOf(xCol, runs), sy = scaleOf(yCol, runs);
  let width = 0;
  // A category's runs spread over a band of its slot (the same each draw).
  const jitter = (scale, k) => (scale.numeric ? 0 : ((k * 0.6180339887) % 1 - 0.5) * 0.5 / scale.cats.length);
  const place = runs.map((r, k) => {
    const px = sx.pos(r), py = sy.pos(r);
    return px === null || py === null ? null : [px + jitter(sx, k), py + jitter(sy, k * 7 + 3)];
  });
  const toX = (p) => PAD.left + p * (width - PAD.left - PAD.right);
  const toY = (p) => PAD.top + (1 - p) * (HEIGHT - PAD.top - PAD.bottom);

  function redraw() {
    width = Math.max(320, wrap.clientWidth || 700);
    const ctx = fitCanvas(canvas, width, HEIGHT);
    const fg = cssColour("--fg"), grid = cssColour("--grid"), faint = cssColour("--line"), accent = cssColour("--accent");
    ctx.font = "11px system-ui, sans-serif";
    // Grid and tick labels.
    ctx.strokeStyle = grid;
    ctx.fillStyle = fg;
    ctx.textAlign = "center";
    for (const [p, label] of sx.ticks) {
      ctx.beginPath(); ctx.moveTo(toX(p), toY(0)); ctx.lineTo(toX(p), toY(1)); ctx.stroke();
      ctx.fillText(typeof label === "number" ? fmtNumber(label) : String(label).slice(0, 14), toX(p), toY(0) + 14);
    }
    ctx.textAlign = "right";
    for (const [p, label] of sy.ticks) {
      ctx.beginPath(); ctx.moveTo(toX(0), toY(p)); ctx.lineTo(toX(1), toY(p)); ctx.stroke();
      ctx.fillText(typeof label === "number" ? fmtNumber(label) : String(label).slice(0, 10), toX(0) - 6, toY(p) + 4);
    }
    ctx.font = "bold 11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(`${xCol.title}`, toX(0.5), HEIGHT - 6);
    ctx.save();
    ctx.translate(12, toY(0.5));
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(`${yCol.title}`, 0, 0);
    ctx.restore();
    // Points: faded outside the brushes, ringed when ticked.
    place.forEach((pt, k) => {
      if (!pt) return;
      const on = inBrushes(runs[k], brushes, columnsById);
      ctx.beginPath();
      ctx.arc(toX(pt[0]), toY(pt[1]), 4, 0, 2 * Math.PI);
      ctx.fillStyle = on ? accent : faint;
      ctx.globalAlpha = on ? 0.8 : 0.6;
      ctx.fill();
      ctx.globalAlpha = 1;
      if (selected.has(runs[k].info.run_id)) {
        ctx.strokeStyle = fg;
        ctx.lineWidth = 2;
        ctx.stroke();
        ctx.lineWidth = 1;
      }
    });
  }

  /** The run nearest the pointer, within 8 px. */
  function nearest(ev) {
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let best = -1, dist = 64;
    place.forEach((pt, k) => {
      if (!pt) return;
      const d = (toX(pt[0]) - x) ** 2 + (toY(pt[1]) - y) ** 2;
      if (d < dist) { dist = d; best = k; }
    });
    return [best, x, y];
  }
  canvas.addEventListener("pointermove", (ev) => {
    const [k, x, y] = nearest(ev);
    if (k < 0) { tip.style.display = "none"; canvas.style.cursor = "default"; return; }
    const run = runs[k];
    const v = (col) => { const val = col.value(run); return typeof val === "number" ? fmtNumber(val) : val ?? ""; };
    tip.replaceChildren(el("div", {class: "tip-x"}, run.info.run_name || run.info.run_id),
      el("div", {}, `${xCol.title}: ${v(xCol)}`), el("div", {}, `${yCol.title}: ${v(yCol)}`));
    tip.style.display = "block";
    tip.style.left = `${Math.min(x + 12, width - 180)}px`;
    tip.style.top = `${Math.max(0, y - 40)}px`;
    canvas.style.cursor = "pointer";
  });
  canvas.addEventListener("pointerleave", () => { tip.style.display = "none"; });
  canvas.addEventListener("click", (ev) => {
    const [k] = nearest(ev);
    if (k >= 0) onPick(runs[k]);
  });

  const pointOf = (run) => {
    const k = runs.indexOf(run);
    return k < 0 || !place[k] ? null : [toX(place[k][0]), toY(place[k][1])];
  };
  return {element: wrap, redraw, pointOf};
}
