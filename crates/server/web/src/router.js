// The router: every view's state lives in the URL's fragment
// ("#/runs?e=1&sel=..."), so a view is shared as a link. MLflow's own UI
// URLs open the matching view. Only the latest navigation draws.
import { el, showError, statusLine } from "./dom.js";

const mainArea = document.getElementById("view");
const crumbsArea = document.getElementById("crumbs");

/** The fragment as a route and its parameters: "#/runs?e=1" -> ["runs", params]. */
export function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?", 2);
  return [path || "", new URLSearchParams(query || "")];
}

/**
 * MLflow's UI URLs (the "View run at ..." link MLflow's clients print, and
 * links people share) as this dashboard's: "#/experiments/<id>/runs/<run>"
 * (and its tabs) is the run's page, "#/experiments/<id>" (and its tabs) the
 * experiment's runs, "#/compare-runs?runs=[..]&experiments=[..]" the runs
 * side by side (the compare page). Null for any other fragment.
 */
export function fromMlflowUrl(path, params) {
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
    const e = experiments.map(encodeURIComponent).join(",");
    if (runs.length === 0) return `#/runs?e=${e}`;
    return `#/compare?e=${e}&runs=${runs.map(encodeURIComponent).join(",")}`;
  }
  return null;
}

/** Changes parameters of the current view (null removes one) in the URL. */
export function setParams(patch, push) {
  const [path, params] = route();
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined || v === "") params.delete(k);
    else params.set(k, v);
  }
  const hash = `#/${path}${params.toString() ? "?" + params : ""}`;
  if (push) location.hash = hash;
  else history.replaceState(null, "", hash);
}

export function list(params, name) {
  return (params.get(name) || "").split(",").filter(Boolean);
}

let current = null; // the view on screen: {stop()}
let render = () => {}; // draws the view the URL names (set by startRouter)
let navigation = 0; // counts the pages asked for; only the latest one draws

/** Draws the current view again (after an edit changed what it shows). */
export function redraw() {
  return render();
}

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

/**
 * Draws the view the fragment names, now and on every change of it.
 * `views` maps a path ("" for the start page, "runs") or a path's first
 * part with its slash ("run/" for "run/<id>") to the view:
 * `view(rest, params, screen)` draws on `screen` and returns `{stop()}`
 * (or nothing) once drawn; `rest` is the decoded remainder of the path.
 */
export function startRouter(views) {
  const pick = (path) => {
    if (Object.hasOwn(views, path)) return [views[path], ""];
    const slash = path.indexOf("/");
    const head = path.slice(0, slash + 1);
    if (slash > 0 && Object.hasOwn(views, head)) return [views[head], decodeURIComponent(path.slice(slash + 1))];
    return [null, ""];
  };
  render = async () => {
    if (current && current.stop) current.stop();
    current = null;
    const mine = ++navigation;
    const screen = screenOf(mine);
    const [path, params] = route();
    statusLine.textContent = "";
    let shown = null;
    try {
      const [view, rest] = pick(path);
      if (view) shown = await view(rest, params, screen);
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
  };
  window.addEventListener("hashchange", render);
  render();
}
