// The experiments page: every experiment with its run count, what is
// running and when it last logged; tick several to see their runs together.
import { api } from "./api.js";
import { el } from "./dom.js";
import { fmtTime } from "./numbers.js";
import { setParams } from "./router.js";

export async function experimentsView(_rest, params, {view, crumbs}) {
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
