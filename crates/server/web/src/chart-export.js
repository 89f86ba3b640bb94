// A chart's evidence, as files: its data as CSV (x and one column per
// curve, as drawn), and the chart as PNG (the drawn canvas on the page's
// background, with its title and legend) or SVG (redrawn as vectors from
// the same scales, ticks and data).
import { csvField } from "./runs-table.js";

/** The page's colour variable `name` (--fg, --bg...). */
export function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#000";
}

/** The curves shown: [uPlot index, series]. */
function shownSeries(u) {
  return u.series.map((s, i) => [i, s]).filter(([i, s]) => i > 0 && s.show !== false);
}

/** The chart's data as CSV: the x column, then each curve drawn. */
export function chartCsv(u, xName) {
  const cols = shownSeries(u);
  const lines = [[xName, ...cols.map(([, s]) => s.label)].map(csvField).join(",")];
  const xs = u.data[0];
  for (let j = 0; j < xs.length; j++) {
    const row = cols.map(([i]) => u.data[i][j]);
    if (row.every((v) => v === null || v === undefined)) continue;
    lines.push([xs[j], ...row].map((v) => csvField(v ?? "")).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

/** The legend's entries: [colour, label]. */
function legendOf(u) {
  return shownSeries(u).map(([i, s]) => [strokeOf(u, i), s.label]);
}

/** A curve's colour (uPlot keeps it as a function once drawn). */
function strokeOf(u, i) {
  const s = u.series[i];
  return typeof s.stroke === "function" ? s.stroke(u, i) : s.stroke;
}

const TITLE_H = 24;
const LEGEND_ROW = 18;

/** How the legend's entries wrap under a chart `width` wide: rows of entries. */
function legendRows(ctxMeasure, entries, width) {
  const rows = [[]];
  let used = 0;
  for (const e of entries) {
    const w = 18 + ctxMeasure(e[1]) + 14;
    if (used + w > width && rows[rows.length - 1].length) { rows.push([]); used = 0; }
    rows[rows.length - 1].push([e, used]);
    used += w;
  }
  return rows;
}

/** The chart as a PNG blob: its title, the canvas uPlot drew, its legend. */
export function chartPng(u, title) {
  const ratio = window.devicePixelRatio || 1;
  const width = u.width;
  const probe = document.createElement("canvas").getContext("2d");
  probe.font = "12px system-ui, sans-serif";
  const rows = legendRows((t) => probe.measureText(t).width, legendOf(u), width - 16);
  const height = TITLE_H + u.height + rows.length * LEGEND_ROW + 8;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.fillStyle = cssColour("--bg");
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = cssColour("--fg");
  ctx.font = "bold 13px system-ui, sans-serif";
  ctx.fillText(title, 8, 16);
  ctx.drawImage(u.ctx.canvas, 0, TITLE_H, u.width, u.height);
  ctx.font = "12px system-ui, sans-serif";
  rows.forEach((row, r) => {
    const y = TITLE_H + u.height + 4 + r * LEGEND_ROW + 12;
    for (const [[colour, label], x] of row) {
      ctx.fillStyle = colour;
      ctx.fillRect(8 + x, y - 5, 12, 3);
      ctx.fillStyle = cssColour("--fg");
      ctx.fillText(label, 8 + x + 18, y);
    }
  });
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("no PNG"))), "image/png"));
}

/** Text safe inside SVG. */
function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

/** A number written short for a coordinate. */
const n2 = (v) => Math.round(v * 100) / 100;

/** The chart as an SVG document: axes with uPlot's ticks and labels,
 * every curve shown, its title and legend. */
export function chartSvg(u, title) {
  const ratio = window.devicePixelRatio || 1;
  const left = u.bbox.left / ratio, top = u.bbox.top / ratio;
  const w = u.bbox.width / ratio, h = u.bbox.height / ratio;
  const fg = cssColour("--fg"), grid = cssColour("--grid"), bg = cssColour("--bg");
  const entries = legendOf(u);
  const rows = legendRows((t) => t.length * 6.5, entries, u.width - 16);
  const height = TITLE_H + u.height + rows.length * LEGEND_ROW + 8;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${u.width}" height="${height}" ` +
    `viewBox="0 0 ${u.width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
  `<rect width="100%" height="100%" fill="${esc(bg)}"/>`,
  `<text x="8" y="16" font-size="13" font-weight="bold" fill="${esc(fg)}">${esc(title)}</text>`,
  `<g transform="translate(0 ${TITLE_H})">`,
  `<clipPath id="plot"><rect x="${n2(left)}" y="${n2(top)}" width="${n2(w)}" height="${n2(h)}"/></clipPath>`];
  // The axes: grid lines and labels where uPlot put them.
  u.axes.forEach((axis, a) => {
    const scale = a === 0 ? "x" : "y";
    const splits = axis._splits || [];
    const labels = axis._values || [];
    splits.forEach((v, k) => {
      const pos = u.valToPos(v, scale);
      if (!Number.isFinite(pos)) return;
      const label = labels[k];
      if (scale === "x") {
        out.push(`<line x1="${n2(left + pos)}" y1="${n2(top)}" x2="${n2(left + pos)}" y2="${n2(top + h)}" stroke="${esc(grid)}"/>`);
        if (label !== null && label !== undefined && label !== "") {
          out.push(`<text x="${n2(left + pos)}" y="${n2(top + h + 16)}" text-anchor="middle" fill="${esc(fg)}">${esc(label)}</text>`);
        }
      } else {
        out.push(`<line x1="${n2(left)}" y1="${n2(top + pos)}" x2="${n2(left + w)}" y2="${n2(top + pos)}" stroke="${esc(grid)}"/>`);
        if (label !== null && label !== undefined && label !== "") {
          out.push(`<text x="${n2(left - 6)}" y="${n2(top + pos + 4)}" text-anchor="end" fill="${esc(fg)}">${esc(label)}</text>`);
        }
      }
    });
    if (axis.label) {
      out.push(scale === "x"
        ? `<text x="${n2(left + w / 2)}" y="${n2(top + h + 34)}" text-anchor="middle" font-weight="bold" fill="${esc(fg)}">${esc(axis.label)}</text>`
        : `<text transform="translate(12 ${n2(top + h / 2)}) rotate(-90)" text-anchor="middle" fill="${esc(fg)}">${esc(axis.label)}</text>`);
    }
  });
  // The curves, gaps spanned as on screen.
  const xs = u.data[0];
  for (const [i, s] of shownSeries(u)) {
    const ys = u.data[i];
    let d = "";
    let points = 0, last = "";
    for (let j = 0; j < xs.length; j++) {
      const v = ys[j];
      if (v === null || v === undefined) continue;
      const px = u.valToPos(xs[j], "x"), py = u.valToPos(v, "y");
      if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
      last = `${n2(left + px)} ${n2(top + py)}`;
      d += `${points ? "L" : "M"}${last}`;
      points++;
    }
    if (!points) continue;
    const stroke = strokeOf(u, i);
    const dash = s.dash ? ` stroke-dasharray="${s.dash.join(" ")}"` : "";
    if (points === 1) {
      out.push(`<circle cx="${last.split(" ")[0]}" cy="${last.split(" ")[1]}" r="3" fill="${esc(stroke)}" clip-path="url(#plot)"/>`);
    } else {
      out.push(`<path d="${d}" fill="none" stroke="${esc(stroke)}" stroke-width="${s.width || 1.5}"${dash} ` +
        `clip-path="url(#plot)"><title>${esc(s.label)}</title></path>`);
    }
  }
  out.push("</g>");
  rows.forEach((row, r) => {
    const y = TITLE_H + u.height + 4 + r * LEGEND_ROW + 12;
    for (const [[colour, label], x] of row) {
      out.push(`<rect x="${8 + x}" y="${y - 5}" width="12" height="3" fill="${esc(colour)}"/>`,
        `<text x="${8 + x + 18}" y="${y}" fill="${esc(fg)}">${esc(label)}</text>`);
    }
  });
  out.push("</svg>");
  return out.join("\n");
}
