// Building the page: elements, errors, the status line, two-column tables
// and run statuses.
import { fmtTime } from "./numbers.js";

/** The status line at the top right (points drawn, live updates). */
export const statusLine = document.getElementById("status");

/** An element: el("td", {class: "num"}, "1.5", child...). */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "style") e.style.cssText = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}


export function showError(where, e) {
  where.replaceChildren(el("div", {class: "error", role: "alert"}, e.message || String(e)));
}

/** A run's status in MLflow's words, coloured: a green dot for Running,
 * red for Failed, amber for Killed. */
export function statusBadge(status) {
  const word = {RUNNING: "Running", SCHEDULED: "Scheduled", FINISHED: "Finished", FAILED: "Failed",
    KILLED: "Killed"}[status] || String(status || "");
  const cls = `status status-${String(status || "").toLowerCase()}`;
  return el("span", {class: cls, title: status}, status === "RUNNING" ? `\u25CF ${word}` : word);
}

/** A two-column table of [label, value] rows. */
export function kvTable(rows) {
  return el("table", {class: "kv"}, el("tbody", {}, rows.map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", {}, v)))));
}

/** Offers `text` as a file named `name` to download. */
export function download(name, text, type) {
  const url = URL.createObjectURL(text instanceof Blob ? text : new Blob([text], {type}));
  const a = el("a", {href: url, download: name, style: "display:none"});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** `canvas` sized to `width` x `height` CSS pixels at the screen's pixel
 * ratio, cleared; its context, drawing in CSS pixels. */
export function fitCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}
