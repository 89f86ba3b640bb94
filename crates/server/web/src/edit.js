// Editing in place, through the REST endpoints MLflow's UI uses (so the
// server's sign-in and permission checks apply as they do to MLflow's
// clients): a description, a name, tags. Each editor shows the value,
// turns into a form on "Edit", and shows the server's refusal under it.
import { el } from "./dom.js";

/** A form's error line, set from a failed save. */
function errorLine() {
  return el("div", {class: "error edit-error", role: "alert"});
}

/**
 * A description (markdown-free text, line breaks kept) with an Edit button
 * that opens a text area; `save(text)` stores it (and may throw).
 */
export function noteEditor(id, text, save) {
  const box = el("div", {class: "note", id});
  const show = (value) => {
    box.replaceChildren(
      value ? el("div", {class: "note-text"}, value) : el("p", {class: "muted"}, "No description."),
      el("button", {class: "edit-note", onclick: () => edit(value)}, value ? "Edit description" : "Add a description"));
  };
  const edit = (value) => {
    const area = el("textarea", {rows: 5, "aria-label": "description"});
    area.value = value;
    const error = errorLine();
    const saveButton = el("button", {class: "save-note", onclick: async () => {
      saveButton.disabled = true;
      try {
        await save(area.value);
        show(area.value);
      } catch (e) {
        error.textContent = e.message;
        saveButton.disabled = false;
      }
    }}, "Save");
    box.replaceChildren(area, el("div", {class: "toolbar"}, saveButton,
      el("button", {onclick: () => show(value)}, "Cancel")), error);
    area.focus();
  };
  show(text || "");
  return box;
}

/** A name shown as a heading, with a Rename button; `save(name)` stores it. */
export function nameEditor(name, save) {
  const box = el("div", {class: "name-editor"});
  const show = (value) => {
    box.replaceChildren(el("h2", {id: "run-name"}, value),
      el("button", {id: "rename", onclick: () => edit(value)}, "Rename"));
  };
  const edit = (value) => {
    const input = el("input", {type: "text", id: "new-name", value, "aria-label": "new name"});
    const error = errorLine();
    const commit = async () => {
      try {
        await save(input.value.trim());
        show(input.value.trim());
      } catch (e) {
        error.textContent = e.message;
      }
    };
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") commit();
      if (ev.key === "Escape") show(value);
    });
    box.replaceChildren(input, el("button", {id: "save-name", onclick: commit}, "Save"),
      el("button", {onclick: () => show(value)}, "Cancel"), error);
    input.focus();
    input.select();
  };
  show(name);
  return box;
}

/**
 * A table of tags, each with a Delete button, and a form adding one (or
 * setting a new value on an existing key). `set(key, value)` and
 * `remove(key)` store the change; the table is redrawn from `tags` as it
 * then is.
 */
export function tagsEditor(tags, set, remove) {
  const current = new Map(tags.map((t) => [t.key, t.value]));
  const box = el("div", {class: "tags-editor"});
  const error = errorLine();
  const attempt = async (work) => {
    error.textContent = "";
    try {
      await work();
      draw();
    } catch (e) {
      error.textContent = e.message;
    }
  };
  const draw = () => {
    const key = el("input", {type: "text", id: "tag-key", placeholder: "key", "aria-label": "tag key"});
    const value = el("input", {type: "text", id: "tag-value", placeholder: "value", "aria-label": "tag value"});
    const add = () => attempt(async () => {
      const k = key.value.trim();
      if (!k) throw new Error("A tag needs a key.");
      await set(k, value.value);
      current.set(k, value.value);
    });
    value.addEventListener("keydown", (ev) => { if (ev.key === "Enter") add(); });
    const rows = [...current.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) =>
      el("tr", {"data-tag": k}, el("td", {}, k), el("td", {}, v),
        el("td", {}, el("button", {class: "delete-tag", "aria-label": `delete tag ${k}`,
          onclick: () => attempt(async () => { await remove(k); current.delete(k); })}, "Delete"))));
    box.replaceChildren(
      rows.length ? el("table", {class: "kv", id: "user-tags"}, el("tbody", {}, rows)) : el("p", {class: "muted"}, "none"),
      el("div", {class: "toolbar"}, key, value, el("button", {id: "add-tag", onclick: add}, "Set tag")), error);
  };
  draw();
  return box;
}
