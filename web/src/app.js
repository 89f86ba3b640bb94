// runlog's dashboard: experiments, the runs of one or more experiments
// with their charts, and one run. Hand-written, no framework; charts by
// uPlot (embedded by the build). Every view's state lives in the URL's
// fragment, so a view is shared as a link. Data comes from MLflow's REST
// API as `runlog server` serves it, and from runlog's own endpoints under
// /ajax-api/2.0/runlog/ (experiments with run counts; downsampled series).
"use strict";

const API = "/ajax-api/2.0/";
const PAGE_SIZE = 100;
const LIVE_MS = 1000;
// Distinct colours for at least 10 runs (then they repeat, dashed).
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
  "#0891b2", "#c026d3", "#65a30d", "#92400e", "#475569",
  "#e11d48", "#0d9488", "#7c3aed", "#ca8a04", "#1e40af"];

const mainArea = document.getElementById("view");
const crumbsArea = document.getElementById("crumbs");
const statusLine = document.getElementById("status");

// ---- helpers --------------------------------------------------------------

/** An element: el("td", {class: "num"}, "1.5", child...). */
function el(tag, attrs, ...children) {
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

/** A call to the server's JSON API; an MLflow error becomes an Error. */
async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  };
  const res = await fetch(API + path, init);
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : {}; } catch (e) { json = {message: text}; }
  if (!res.ok) {
    const err = new Error(json.message || `${res.status} ${res.statusText}`);
    err.code = json.error_code;
    throw err;
  }
  return json;
}

function fmtTime(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A run's status in MLflow's words, coloured: a green dot for Running,
 * red for Failed, amber for Killed. */
function statusBadge(status) {
  const word = {RUNNING: "Running", SCHEDULED: "Scheduled", FINISHED: "Finished", FAILED: "Failed",
    KILLED: "Killed"}[status] || String(status || "");
  const cls = `status status-${String(status || "").toLowerCase()}`;
  return el("span", {class: cls, title: status}, status === "RUNNING" ? `\u25CF ${word}` : word);
}

/** The fragment as a route and its parameters: "#/runs?e=1" -> ["runs", params]. */
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?", 2);
  return [path || "", new URLSearchParams(query || "")];
}

/**
 * MLflow's UI URLs (the "View run at ..." link MLflow's clients print, and
 * links people share) as this dashboard's: "#/experiments/<id>/runs/<run>"
 * (and its tabs) is the run's page, "#/experiments/<id>" (and its tabs) the
 * experiment's runs, "#/compare-runs?runs=[..]&experiments=[..]" the runs
 * side by side. Null for any other fragment.
 */
function fromMlflowUrl(path, params) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "experiments" && parts.length >= 4 && parts[2] === "models") {
    return `#/model/${encodeURIComponent(parts[3])}`;
  }
  if (parts[0] === "models" && parts.length >= 2) {
    return `#/registered/${encodeURIComponent(parts[1])}`;
  }
  if (parts[0] === "experiments" && parts.length >= 4 && parts[2] === "runs") {
    return `#/run/${encodeURIComponent(parts[3])}`;
  }
  if (parts[0] === "experiments" && parts.length >= 2) {
    return `#/runs?e=${encodeURIComponent(parts[1])}`;
  }
  if (parts[0] === "compare-runs") {
    const ids = (name) => {
      try {
        const list = JSON.parse(params.get(name) || "[]");
        return Array.isArray(list) ? list.map(String) : [];
      } catch (_) {
        return [];
      }
    };
    const experiments = ids("experiments");
    const runs = ids("runs");
    if (experiments.length === 0) return null;
    const sel = runs.length ? `&sel=${runs.map(encodeURIComponent).join(",")}` : "";
    return `#/runs?e=${experiments.map(encodeURIComponent).join(",")}${sel}`;
  }
  return null;
}

/** Changes parameters of the current view (null removes one) in the URL. */
function setParams(patch, push) {
  const [path, params] = route();
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined || v === "") params.delete(k);
    else params.set(k, v);
  }
  const hash = `#/${path}${params.toString() ? "?" + params : ""}`;
  if (push) location.hash = hash;
  else history.replaceState(null, "", hash);
}

function list(params, name) {
  return (params.get(name) || "").split(",").filter(Boolean);
}

function showError(where, e) {
  where.replaceChildren(el("div", {class: "error", role: "alert"}, e.message || String(e)));
}

function tagOf(run, key) {
  const t = (run.data.tags || []).find((t) => t.key === key);
  return t ? t.value : undefined;
}

function metricsOf(run) {
  const out = {};
  for (const m of run.data.metrics || []) out[m.key] = m.value;
  return out;
}

function paramsOf(run) {
  const out = {};
  for (const p of run.data.params || []) out[p.key] = p.value;
  return out;
}

// ---- the router -----------------------------------------------------------

let current = null; // the view on screen: {stop()}
let navigation = 0; // counts the pages asked for; only the latest one draws

/**
 * Where the view of navigation `mine` draws: the page's main area and its
 * crumbs, for as long as `mine` is the latest navigation. A view still
 * waiting for the server when the user moves on draws nothing, so it cannot
 * replace the page that was asked for after it.
 */
function screenOf(mine) {
  const drawn = (area) => ({replaceChildren(...nodes) { if (mine === navigation) area.replaceChildren(...nodes); }});
  return {view: drawn(mainArea), crumbs: drawn(crumbsArea)};
}

async function render() {
  if (current && current.stop) current.stop();
  current = null;
  const mine = ++navigation;
  const screen = screenOf(mine);
  const [path, params] = route();
  statusLine.textContent = "";
  let shown = null;
  try {
    if (path === "" || path === "experiments") shown = await experimentsView(params, screen);
    else if (path === "runs") shown = await runsView(params, screen);
    else if (path.startsWith("run/")) shown = await runView(decodeURIComponent(path.slice(4)), screen);
    // models.js
    else if (path === "models") shown = await modelsView(screen);
    else if (path.startsWith("model/")) shown = await modelView(decodeURIComponent(path.slice(6)), screen);
    else if (path.startsWith("registered/")) shown = await registeredView(decodeURIComponent(path.slice(11)), screen);
    else if (fromMlflowUrl(path, params)) {
      // The page MLflow would show, under this dashboard's address.
      history.replaceState(null, "", fromMlflowUrl(path, params));
      return render();
    } else screen.view.replaceChildren(el("p", {}, "No such page. ", el("a", {href: "#/"}, "Experiments")));
  } catch (e) {
    showError(screen.view, e);
  }
  // A page asked for since has its own view; this one stops (its live updates too).
  if (mine === navigation) current = shown;
  else if (shown && shown.stop) shown.stop();
}

window.addEventListener("hashchange", render);

// ---- experiments ----------------------------------------------------------

async function experimentsView(params, {view, crumbs}) {
  crumbs.replaceChildren(el("span", {}, "Experiments"));
  const deleted = params.get("deleted") === "1";
  const q = params.get("q") || "";
  const data = await api(`runlog/experiments?view_type=${deleted ? "ALL" : "ACTIVE_ONLY"}`);
  const search = el("input", {type: "search", placeholder: "Search by name", value: q,
    "aria-label": "Search experiments by name"});
  const toggle = el("input", {type: "checkbox", id: "show-deleted", checked: deleted});
  const body = el("tbody");
  const chosen = new Set();
  const compare = el("button", {id: "compare-experiments", disabled: true, onclick: () => {
    location.hash = `#/runs?e=${[...chosen].map(encodeURIComponent).join(",")}`;
  }}, "Runs of the ticked experiments");
  const fill = () => {
    const needle = search.value.toLowerCase();
    body.replaceChildren(...data.experiments
      .filter((e) => e.name.toLowerCase().includes(needle))
      .map((e) => el("tr", {"data-experiment-id": e.experiment_id},
        el("td", {}, el("input", {type: "checkbox", checked: chosen.has(e.experiment_id),
          "aria-label": `tick ${e.name}`, onchange: (ev) => {
            if (ev.target.checked) chosen.add(e.experiment_id); else chosen.delete(e.experiment_id);
            compare.disabled = chosen.size === 0;
          }})),
        el("td", {}, el("a", {href: `#/runs?e=${encodeURIComponent(e.experiment_id)}`}, e.name)),
        el("td", {class: "num"}, e.experiment_id),
        el("td", {class: "num"}, e.run_count),
        el("td", {class: "num"}, e.running ? el("span", {class: "live"}, `${e.running} running`) : ""),
        el("td", {}, fmtTime(e.last_activity)),
        el("td", {class: "muted"}, e.lifecycle_stage === "deleted" ? "deleted" : ""))));
  };
  search.addEventListener("input", () => { setParams({q: search.value}); fill(); });
  toggle.addEventListener("change", () => setParams({deleted: toggle.checked ? "1" : null}, true));
  fill();
  view.replaceChildren(
    el("div", {class: "toolbar"}, search,
      el("label", {}, toggle, " show deleted"), compare,
      el("span", {class: "muted"}, `${data.experiments.length} experiments`)),
    el("table", {id: "experiments"},
      el("thead", {}, el("tr", {}, [["", ""], ["Name", ""], ["Id", "num"], ["Runs", "num"], ["Running", "num"],
        ["Last activity", ""], ["", ""]].map(([h, cls]) => el("th", {class: cls || null}, h)))),
      body));
  return {};
}

// ---- runs and charts ------------------------------------------------------

/** The columns of the runs table: [id, header, value(run), sort key or null]. */
function runColumns(runs) {
  const params = new Set(), metrics = new Set();
  for (const r of runs) {
    for (const p of r.data.params || []) params.add(p.key);
    for (const m of r.data.metrics || []) metrics.add(m.key);
  }
  const cols = [
    ["name", "Run", (r) => r.info.run_name, "attributes.run_name"],
    ["status", "Status", (r) => r.info.status, "attributes.status"],
    ["start", "Started", (r) => r.info.start_time, "attributes.start_time"],
    ["duration", "Duration", (r) => (r.info.end_time || Date.now()) - r.info.start_time, null],
    ["user", "User", (r) => r.info.user_id, "attributes.user_id"],
  ];
  for (const k of [...params].sort()) cols.push([`p.${k}`, k, (r) => paramsOf(r)[k], `params.\`${k}\``]);
  for (const k of [...metrics].sort()) cols.push([`m.${k}`, k, (r) => metricsOf(r)[k], `metrics.\`${k}\``]);
  return cols;
}

/** Children right after their parent when both are on the page. */
function grouped(runs) {
  const ids = new Set(runs.map((r) => r.info.run_id));
  const children = new Map();
  const top = [];
  for (const r of runs) {
    const parent = tagOf(r, "mlflow.parentRunId");
    if (parent && ids.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(r);
    } else top.push(r);
  }
  const out = [];
  const visit = (r, depth) => {
    out.push([r, depth]);
    for (const c of children.get(r.info.run_id) || []) visit(c, depth + 1);
  };
  top.forEach((r) => visit(r, 0));
  return out;
}

async function runsView(params, {view, crumbs}) {
  const experimentIds = list(params, "e");
  if (experimentIds.length === 0) throw new Error("No experiment chosen: open one from the experiments page.");
  const names = await Promise.all(experimentIds.map((id) =>
    api(`mlflow/experiments/get?experiment_id=${encodeURIComponent(id)}`).then((r) => r.experiment.name, () => id)));
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ", names.join(", "));

  const known = new Map(); // run id -> run, every run seen
  const tokens = [""]; // page tokens: tokens[i] opens page i
  let page = 0;
  let stopped = false;
  let runs = [];

  const filter = el("input", {type: "text", id: "filter", value: params.get("f") || "",
    placeholder: "MLflow filter, e.g. metrics.loss < 0.5 and params.lr = '0.01'",
    "aria-label": "Filter runs"});
  const filterError = el("div", {class: "error", id: "filter-error", role: "alert"});
  const tableBox = el("div", {id: "runs-box"});
  const pager = el("span", {class: "muted", id: "pager"});
  const columnsBox = el("details", {class: "columns"}, el("summary", {}, "Columns"), el("div"));
  const chartsBox = el("div", {id: "charts"});
  filter.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { setParams({f: filter.value}); tokens.length = 1; page = 0; load(); }
  });
  const prev = el("button", {onclick: () => { if (page > 0) { page--; load(); } }}, "Previous");
  const next = el("button", {onclick: () => { if (tokens[page + 1]) { page++; load(); } }}, "Next");

  view.replaceChildren(
    el("div", {class: "toolbar"}, filter, el("button", {onclick: () => {
      setParams({f: filter.value}); tokens.length = 1; page = 0; load();
    }}, "Search"), columnsBox, prev, next, pager),
    filterError, tableBox, chartsBox);

  async function load(withCharts = true) {
    const [, p] = route();
    const body = {experiment_ids: experimentIds, filter: p.get("f") || "",
      max_results: PAGE_SIZE, order_by: p.get("o") ? [p.get("o")] : ["attributes.start_time DESC"]};
    if (tokens[page]) body.page_token = tokens[page];
    let res;
    try {
      res = await api("mlflow/runs/search", body);
    } catch (e) {
      filterError.textContent = e.message;
      tableBox.replaceChildren();
      // Nothing is listed: no page count, no paging, as of an old answer.
      runs = [];
      pager.textContent = "";
      prev.disabled = next.disabled = true;
      return;
    }
    filterError.textContent = "";
    runs = res.runs || [];
    for (const r of runs) known.set(r.info.run_id, r);
    tokens[page + 1] = res.next_page_token || "";
    pager.textContent = `page ${page + 1}, ${runs.length} runs`;
    prev.disabled = page === 0;
    next.disabled = !res.next_page_token;
    drawTable();
    if (withCharts) await charts.update();
  }

  function drawTable() {
    const [, p] = route();
    const selected = new Set(list(p, "sel"));
    const hidden = new Set(list(p, "hide"));
    const cols = runColumns(runs);
    const order = p.get("o") || "attributes.start_time DESC";
    columnsBox.lastChild.replaceChildren(...cols.slice(1).map(([id, head]) => el("label", {style: "display:block"},
      el("input", {type: "checkbox", checked: !hidden.has(id), onchange: (ev) => {
        if (ev.target.checked) hidden.delete(id); else hidden.add(id);
        setParams({hide: [...hidden].join(",")});
        drawTable();
      }}), ` ${id.startsWith("p.") ? "param " : id.startsWith("m.") ? "metric " : ""}${head}`)));
    const shown = cols.filter(([id]) => !hidden.has(id));
    const head = el("tr", {}, el("th", {}, ""), shown.map(([id, title, , sortKey]) => {
      const sorted = sortKey && order.startsWith(sortKey + " ") ? (order.endsWith("ASC") ? "sorted-asc" : "sorted-desc") : "";
      const numeric = id === "duration" || id.startsWith("m.") ? "num" : "";
      const cls = [sortKey ? "sortable" : "", sorted, numeric].filter(Boolean).join(" ") || null;
      return el("th", {class: cls, "data-column": id, title: sortKey ? "Sort" : "", onclick: () => {
        if (!sortKey) return;
        const dir = order === `${sortKey} DESC` ? "ASC" : "DESC";
        setParams({o: `${sortKey} ${dir}`});
        tokens.length = 1; page = 0; load();
      }}, title);
    }));
    const rows = grouped(runs).map(([r, depth]) => {
      const id = r.info.run_id;
      const box = el("input", {type: "checkbox", checked: selected.has(id), "aria-label": `select ${r.info.run_name}`,
        onchange: (ev) => {
          const [, q] = route();
          const sel = list(q, "sel").filter((x) => x !== id);
          if (ev.target.checked) sel.push(id);
          setParams({sel: sel.join(","), z: null});
          charts.update();
        }});
      return el("tr", {class: depth ? "child" : null, "data-run-id": id}, el("td", {}, box), shown.map(([cid, , value]) => {
        const v = value(r);
        if (cid === "name") return el("td", {class: "name"}, el("a", {href: `#/run/${encodeURIComponent(id)}`}, v || id));
        if (cid === "status") return el("td", {}, statusBadge(v));
        if (cid === "start") return el("td", {}, fmtTime(v));
        if (cid === "duration") return el("td", {class: "num"}, fmtDuration(v));
        if (cid.startsWith("m.")) return el("td", {class: "num"}, fmtNumber(v));
        return el("td", {title: v ?? ""}, v ?? "");
      }));
    });
    tableBox.replaceChildren(el("table", {id: "runs"}, el("thead", {}, head), el("tbody", {}, rows)));
  }

  const charts = chartPanel(chartsBox, known);
  await load();

  // Live: while runs on the page are RUNNING, the table refreshes every
  // second; the charts get new points pushed by the server (chartPanel).
  let busy = false;
  const timer = setInterval(async () => {
    if (stopped || busy || document.hidden) return;
    busy = true;
    try {
      if (runs.some((r) => r.info.status === "RUNNING")) await load(false);
    } catch (e) {
      statusLine.textContent = `live update failed: ${e.message}`;
    } finally {
      busy = false;
    }
  }, LIVE_MS);
  return {stop() { stopped = true; clearInterval(timer); charts.stop(); }};
}

/** Exponential moving average (debiased, as TensorBoard's smoothing). */
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
function chartPanel(box, known) {
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

// ---- one run --------------------------------------------------------------

async function runView(runId, {view, crumbs}) {
  const {run} = await api(`mlflow/runs/get?run_id=${encodeURIComponent(runId)}`);
  const info = run.info;
  const exp = await api(`mlflow/experiments/get?experiment_id=${encodeURIComponent(info.experiment_id)}`)
    .then((r) => r.experiment, () => ({name: info.experiment_id}));
  crumbs.replaceChildren(el("a", {href: "#/"}, "Experiments"), " / ",
    el("a", {href: `#/runs?e=${encodeURIComponent(info.experiment_id)}`}, exp.name), " / ",
    info.run_name || runId);
  const parent = tagOf(run, "mlflow.parentRunId");
  const children = await api("mlflow/runs/search", {experiment_ids: [info.experiment_id],
    filter: `tags.mlflow.parentRunId = '${runId.replace(/'/g, "")}'`, max_results: 1000})
    .then((r) => r.runs || [], () => []);
  const kv = (rows) => el("table", {class: "kv"}, el("tbody", {}, rows.map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", {}, v)))));
  const inputs = ((run.inputs || {}).dataset_inputs || []).map((d) => [d.dataset.name, datasetSummary(d)]);
  const tags = run.data.tags || [];
  const userTags = tags.filter((t) => !t.key.startsWith("mlflow."));
  const systemTags = tags.filter((t) => t.key.startsWith("mlflow."));
  view.replaceChildren(
    el("section", {}, el("h2", {}, info.run_name || runId), kv([
      ["Run id", runId],
      ["Status", statusBadge(info.status)],
      ["Started", fmtTime(info.start_time)],
      ["Duration", fmtDuration((info.end_time || Date.now()) - info.start_time)],
      ["User", info.user_id],
      ["Artifacts", info.artifact_uri],
      ["Parent", parent ? el("a", {href: `#/run/${encodeURIComponent(parent)}`}, parent) : "none"],
      ["Children", children.length ? children.map((c) => el("a", {href: `#/run/${encodeURIComponent(c.info.run_id)}`,
        style: "margin-right:8px"}, c.info.run_name || c.info.run_id)) : "none"],
      ["Compare", el("a", {href: `#/runs?e=${encodeURIComponent(info.experiment_id)}&sel=${encodeURIComponent(runId)}`},
        "charts of this run")],
    ])),
    el("section", {}, el("h2", {}, "Metrics (latest)"),
      kv((run.data.metrics || []).map((m) => [m.key, `${fmtNumber(m.value)} at step ${m.step}, ${fmtTime(m.timestamp)}`]))),
    el("section", {}, el("h2", {}, "Parameters"), kv((run.data.params || []).map((p) => [p.key, p.value]))),
    el("section", {id: "run-tags"}, el("h2", {}, "Tags"),
      userTags.length ? kv(userTags.map((t) => [t.key, t.value])) : el("p", {class: "muted"}, "none"),
      systemTags.length ? el("details", {id: "system-tags"}, el("summary", {}, `System tags (${systemTags.length})`),
        kv(systemTags.map((t) => [t.key, t.value]))) : null),
    el("section", {}, el("h2", {}, "Dataset inputs"), inputs.length ? kv(inputs) : el("p", {class: "muted"}, "none")),
    el("section", {}, el("h2", {}, "Artifacts"), await artifactTree(runId, "")));
  return {};
}

/** A parsed JSON document, or null. */
function parseJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}

/** A dataset input in words: where it came from (the source's URI, path
 * or table rather than its JSON), its size when profiled, its context
 * (training, eval) and digest. */
function datasetSummary(input) {
  const d = input.dataset;
  const source = parseJson(d.source);
  const where = source && typeof source === "object"
    ? source.uri || source.url || source.path || source.table_name || source.file ||
      Object.entries(source).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")
    : d.source;
  const profile = parseJson(d.profile || "") || {};
  const rows = profile.num_rows ?? profile.num_elements;
  const context = (input.tags || []).find((t) => t.key === "mlflow.data.context");
  return [
    context ? `${context.value}: ` : "",
    `${where} (${d.source_type})`,
    rows !== undefined ? `, ${Number(rows).toLocaleString("en-US")} ${profile.num_rows !== undefined ? "rows" : "elements"}` : "",
    `, digest ${d.digest}`,
  ].join("");
}

const TEXT = /\.(txt|log|md|csv|tsv|json|ya?ml|toml|py|sh|cfg|ini|html?|xml)$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;

/** The artifacts under `path`: directories open on click, text files and
 * images are shown inline, every file can be downloaded. */
async function artifactTree(runId, path) {
  const q = (p) => `run_id=${encodeURIComponent(runId)}&path=${encodeURIComponent(p)}`;
  const {files = []} = await api(`runlog/artifacts?${q(path)}`);
  if (files.length === 0) return el("p", {class: "muted"}, path ? "empty" : "none");
  return el("ul", {class: "artifacts"}, files.map((f) => {
    const full = path ? `${path}/${f.path}` : f.path;
    const url = `${API}runlog/artifact?${q(full)}`;
    if (f.is_dir) {
      const item = el("li", {}, el("a", {href: "#", onclick: async (ev) => {
        ev.preventDefault();
        if (item.childNodes.length > 1) { item.lastChild.remove(); return; }
        item.append(await artifactTree(runId, full));
      }}, `${f.path}/`));
      return item;
    }
    const item = el("li", {"data-artifact": full}, el("a", {href: url, download: f.path.split("/").pop()}, f.path),
      el("span", {class: "muted", title: `${f.file_size ?? 0} bytes`}, ` ${fmtBytes(f.file_size ?? 0)} `));
    if (IMAGE.test(f.path)) item.append(el("div", {}, el("img", {src: url, alt: f.path, style: "max-width:480px"})));
    else if (TEXT.test(f.path) && (f.file_size ?? 0) <= 1 << 20) {
      const pre = el("pre", {class: "artifact"}, "");
      item.append(pre);
      fetch(url).then((r) => r.text()).then((t) => { pre.textContent = t; });
    }
    return item;
  }));
}

// After every script of the page has run (models.js routes too).
window.addEventListener("DOMContentLoaded", render);
