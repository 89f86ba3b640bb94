// The runs table, made for hundreds of runs: it scrolls inside its box
// with the tick and name columns pinned; columns come in groups (the run's
// attributes, Params, Metrics, Tags), each chosen and ordered in the
// Columns picker and remembered in the URL; a header tick selects every
// listed run and a shift-click ticks a range; nested runs fold under
// their parent.
import { el, statusBadge } from "./dom.js";
import { metricsOf, paramsOf, tagOf } from "./entities.js";
import { fmtDuration, fmtNumber, fmtTime } from "./numbers.js";

/** The column groups, in the order they are shown: [group, heading]. */
export const GROUPS = [["a", "Attributes"], ["p", "Params"], ["m", "Metrics"], ["t", "Tags"]];

/**
 * The columns the runs could show, in their default order: the run's
 * attributes, then every param, metric and (user) tag key, sorted. A
 * column is {id, group, title, value(run), sortKey (MLflow's order_by
 * name, or null), numeric}; ids are "name", "status"..., "p.<key>",
 * "m.<key>", "t.<key>".
 */
export function runColumns(runs) {
  const keys = {p: new Set(), m: new Set(), t: new Set()};
  for (const r of runs) {
    for (const p of r.data.params || []) keys.p.add(p.key);
    for (const m of r.data.metrics || []) keys.m.add(m.key);
    for (const t of r.data.tags || []) if (!t.key.startsWith("mlflow.")) keys.t.add(t.key);
  }
  const cols = [
    {id: "name", group: "a", title: "Run", value: (r) => r.info.run_name, sortKey: "attributes.run_name"},
    {id: "status", group: "a", title: "Status", value: (r) => r.info.status, sortKey: "attributes.status"},
    {id: "start", group: "a", title: "Started", value: (r) => r.info.start_time, sortKey: "attributes.start_time"},
    {id: "duration", group: "a", title: "Duration", numeric: true,
      value: (r) => (r.info.end_time || Date.now()) - r.info.start_time, sortKey: null},
    {id: "user", group: "a", title: "User", value: (r) => r.info.user_id, sortKey: "attributes.user_id"},
  ];
  const quoted = (k) => `\`${k.replace(/`/g, "")}\``;
  for (const k of [...keys.p].sort()) {
    cols.push({id: `p.${k}`, group: "p", title: k, value: (r) => paramsOf(r)[k], sortKey: `params.${quoted(k)}`});
  }
  for (const k of [...keys.m].sort()) {
    cols.push({id: `m.${k}`, group: "m", title: k, numeric: true, value: (r) => metricsOf(r)[k],
      sortKey: `metrics.${quoted(k)}`});
  }
  for (const k of [...keys.t].sort()) {
    cols.push({id: `t.${k}`, group: "t", title: k, value: (r) => tagOf(r, k), sortKey: `tags.${quoted(k)}`});
  }
  return cols;
}

/**
 * The columns as the user arranged them: within each group, those named in
 * `order` first and in its order, then the rest as they come; the name
 * column always first. `hidden` columns are left out.
 */
export function arrangedColumns(cols, order, hidden) {
  const rank = new Map(order.map((id, i) => [id, i]));
  const out = [];
  for (const [group] of GROUPS) {
    const mine = cols.filter((c) => c.group === group && c.id !== "name");
    const placed = mine.filter((c) => rank.has(c.id)).sort((a, b) => rank.get(a.id) - rank.get(b.id));
    out.push(...placed, ...mine.filter((c) => !rank.has(c.id)));
  }
  const name = cols.find((c) => c.id === "name");
  return [name, ...out.filter((c) => !hidden.has(c.id))];
}

/**
 * The runs in table order, each with its depth and the number of its
 * children on the page: children right after their parent, and only
 * under the parents in `open` (the others fold them away).
 */
export function nestedRows(runs, open) {
  const ids = new Set(runs.map((r) => r.info.run_id));
  const children = new Map();
  const top = [];
  for (const r of runs) {
    const parent = tagOf(r, "mlflow.parentRunId");
    if (parent && ids.has(parent) && parent !== r.info.run_id) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(r);
    } else top.push(r);
  }
  const out = [];
  const seen = new Set();
  const visit = (r, depth) => {
    if (seen.has(r.info.run_id)) return; // a cycle of parent tags
    seen.add(r.info.run_id);
    const kids = children.get(r.info.run_id) || [];
    out.push({run: r, depth, children: kids.length});
    if (open.has(r.info.run_id)) for (const c of kids) visit(c, depth + 1);
  };
  top.forEach((r) => visit(r, 0));
  return out;
}

/** One cell of a run's row. */
function cell(col, run, row, onFold, open) {
  const v = col.value(run);
  const id = run.info.run_id;
  if (col.id === "name") {
    const fold = row.children ? el("button", {class: "fold", "aria-expanded": String(open.has(id)),
      title: open.has(id) ? "Fold its child runs" : "Show its child runs",
      onclick: () => onFold(id)}, `${open.has(id) ? "\u25BE" : "\u25B8"} ${row.children}`) : null;
    return el("td", {class: "name pin pin-1", style: row.depth ? `padding-left:${8 + 20 * row.depth}px` : null},
      fold, el("a", {href: `#/run/${encodeURIComponent(id)}`, title: v || id}, v || id));
  }
  if (col.id === "status") return el("td", {}, statusBadge(v));
  if (col.id === "start") return el("td", {}, fmtTime(v));
  if (col.id === "duration") return el("td", {class: "num"}, fmtDuration(v));
  if (col.numeric) return el("td", {class: "num", title: v ?? ""}, fmtNumber(v));
  return el("td", {title: v ?? ""}, v ?? "");
}

/**
 * The table of `runs` with the `shown` columns. `state` holds the ticked
 * ids (`selected`), the unfolded parents (`open`), the sort (`order`,
 * MLflow's "key DIR") and the run a shift-click's range starts from
 * (`anchor.id`, kept across redraws); `on` is told of sorting (`sort(key)`), ticks
 * (`select(ids, ticked)`, with a shift-click's whole range) and folding
 * (`fold(id)`).
 */
export function runsTable(runs, shown, state, on) {
  const rows = nestedRows(runs, state.open);
  const visibleIds = rows.map((r) => r.run.info.run_id);
  const ticked = visibleIds.filter((id) => state.selected.has(id)).length;
  const all = el("input", {type: "checkbox", id: "select-all", "aria-label": "select every listed run",
    checked: ticked > 0 && ticked === visibleIds.length,
    onchange: (ev) => on.select(visibleIds, ev.target.checked)});
  all.indeterminate = ticked > 0 && ticked < visibleIds.length;
  // The group headings over the columns after the pinned name.
  const spans = [];
  for (const c of shown.slice(1)) {
    const last = spans[spans.length - 1];
    if (last && last.group === c.group) last.n++;
    else spans.push({group: c.group, n: 1});
  }
  const groupRow = el("tr", {class: "groups"}, el("th", {class: "pin pin-0"}, ""), el("th", {class: "pin pin-1"}, ""),
    spans.map((s) => el("th", {colspan: s.n, class: `group group-${s.group}`, "data-group": s.group},
      GROUPS.find(([g]) => g === s.group)[1])));
  const head = el("tr", {}, el("th", {class: "pin pin-0"}, all), shown.map((c) => {
    const dir = c.sortKey && state.order.startsWith(c.sortKey + " ")
      ? (state.order.endsWith("ASC") ? "sorted-asc" : "sorted-desc") : "";
    const cls = [c.sortKey ? "sortable" : "", dir, c.numeric ? "num" : "", c.id === "name" ? "pin pin-1" : ""]
      .filter(Boolean).join(" ") || null;
    return el("th", {class: cls, "data-column": c.id, title: c.sortKey ? `Sort by ${c.title}` : null,
      onclick: () => { if (c.sortKey) on.sort(c.sortKey); }}, c.title);
  }));
  const body = rows.map((row, index) => {
    const id = row.run.info.run_id;
    const box = el("input", {type: "checkbox", checked: state.selected.has(id),
      "aria-label": `select ${row.run.info.run_name || id}`,
      onclick: (ev) => {
        const from = visibleIds.indexOf(state.anchor.id);
        if (ev.shiftKey && from >= 0 && from !== index) {
          const [a, b] = from < index ? [from, index] : [index, from];
          on.select(visibleIds.slice(a, b + 1), ev.target.checked);
        } else on.select([id], ev.target.checked);
        state.anchor.id = id;
      }});
    return el("tr", {class: row.depth ? "child" : null, "data-run-id": id},
      el("td", {class: "pin pin-0"}, box), shown.map((c) => cell(c, row.run, row, on.fold, state.open)));
  });
  return el("table", {id: "runs"}, el("thead", {}, groupRow, head), el("tbody", {}, body));
}

/**
 * The Columns picker's list: per group, each column with a tick (shown or
 * not) and buttons moving it up and down within its group, and a search
 * box narrowing the list. `on.hide(id, hidden)` and `on.move(id, by)` are
 * told of changes.
 */
export function columnPicker(cols, order, hidden, on, needle = "") {
  const arranged = arrangedColumns(cols, order, new Set());
  const search = el("input", {type: "search", id: "column-search", placeholder: "Find a column", value: needle,
    "aria-label": "Find a column"});
  const listBox = el("div", {class: "column-list"});
  const fill = () => {
    const n = search.value.toLowerCase();
    listBox.replaceChildren(...GROUPS.map(([group, heading]) => {
      const mine = arranged.filter((c) => c.group === group && c.id !== "name");
      const hits = mine.filter((c) => c.title.toLowerCase().includes(n));
      if (hits.length === 0) return null;
      return el("div", {"data-group": group}, el("h4", {}, heading), hits.map((c) => el("div", {class: "column-row",
        "data-column": c.id},
      el("label", {}, el("input", {type: "checkbox", checked: !hidden.has(c.id),
        onchange: (ev) => on.hide(c.id, !ev.target.checked)}), " ", c.title),
      el("button", {class: "move", title: "Move left", "aria-label": `move ${c.title} left`,
        disabled: mine[0] === c, onclick: () => on.move(c.id, -1)}, "\u2191"),
      el("button", {class: "move", title: "Move right", "aria-label": `move ${c.title} right`,
        disabled: mine[mine.length - 1] === c, onclick: () => on.move(c.id, 1)}, "\u2193"))));
    }).filter(Boolean));
  };
  search.addEventListener("input", fill);
  fill();
  return [search, listBox];
}

/** The ids of `cols` in group order after moving `id` by `by` places within its group. */
export function movedOrder(cols, order, id, by) {
  const arranged = arrangedColumns(cols, order, new Set()).filter((c) => c.id !== "name");
  const col = arranged.find((c) => c.id === id);
  if (!col) return order;
  const mine = arranged.filter((c) => c.group === col.group);
  const i = mine.indexOf(col);
  const j = i + by;
  if (j < 0 || j >= mine.length) return order;
  [mine[i], mine[j]] = [mine[j], mine[i]];
  const others = arranged.filter((c) => c.group !== col.group).map((c) => c.id);
  // The moved group in full, the others as they were named.
  return [...order.filter((o) => others.includes(o)), ...mine.map((c) => c.id)];
}

/** A value as a CSV field (quoted when it holds a comma, quote or line break). */
export function csvField(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The runs as CSV with the shown columns (full precision, ISO times),
 * headed "params.lr", "metrics.loss", "tags.team" so that keys stay apart. */
export function runsCsv(runs, shown) {
  const prefix = {a: "", p: "params.", m: "metrics.", t: "tags."};
  const head = ["run_id", ...shown.map((c) => `${prefix[c.group]}${c.group === "a" ? c.id : c.title}`)];
  const lines = [head.map(csvField).join(",")];
  for (const r of runs) {
    lines.push([r.info.run_id, ...shown.map((c) => {
      const v = c.value(r);
      if (c.id === "start") return v ? new Date(v).toISOString() : "";
      if (c.id === "duration") return Number.isFinite(v) ? v / 1000 : "";
      return v;
    })].map(csvField).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

