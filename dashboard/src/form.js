// Instrument settings forms: each input's name is the wire's field name.
// Numbers take SI prefixes; an empty field is left out (the service's
// default). A service error whose message starts with a field's name is
// shown next to that field, in the service's own words.

import { parseSI } from "./si.js";

/** A local input error, shown like the service's. */
export class FieldError extends Error {
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/**
 * The settings of form: inputs with data-kind="number" through parseSI,
 * checkboxes as booleans, data-kind="list" as comma-separated strings,
 * selects and text as strings. Inputs with data-local are the page's own
 * (not sent); inputs with data-save go only when the save box is ticked. A field named by a select
 * data-choose (e.g. duration|decimation) takes the value of its input.
 */
export function readSettings(form) {
  const out = {};
  // Name and tags without save are a 400: they go only with it.
  const saving = form.querySelector('[name="save"]')?.checked ?? false;
  for (const el of form.querySelectorAll("[name]")) {
    if (el.dataset.local !== undefined || el.disabled) continue;
    if (el.dataset.save !== undefined && !saving) continue;
    let name = el.name;
    if (el.dataset.chooser) name = form.querySelector(`[name="${el.dataset.chooser}"]`).value;
    if (el.dataset.choose !== undefined) continue; // the chooser itself
    if (el.type === "checkbox") {
      out[name] = el.checked;
      continue;
    }
    const text = el.value.trim();
    if (text === "") continue;
    if (el.dataset.kind === "list") {
      out[name] = splitList(text);
    } else if (el.dataset.kind === "number") {
      const v = parseSI(text);
      if (!Number.isFinite(v)) throw new FieldError(name, `${JSON.stringify(text)} is not a number (e.g. 1.5M, 200u, 10e-3)`);
      out[name] = v;
    } else {
      out[name] = text;
    }
  }
  return out;
}

/** "a, b,,c" -> ["a", "b", "c"]: tags as typed, comma-separated. */
export function splitList(text) {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

/** Settings without the curve store's fields: repeated acquisitions are not saved. */
export function withoutSave({ save, name, tags, ...rest }) {
  return rest;
}

/** Clears the field errors of form and its general error line. */
export function clearErrors(form) {
  for (const e of form.querySelectorAll(".field-error")) {
    e.textContent = "";
    e.hidden = true;
  }
  form.querySelectorAll(".bad").forEach((e) => e.classList.remove("bad"));
}

/**
 * Shows err next to the field its message names ("decimation: 3 is not
 * allowed ..."), or in the panel's error line when it names none.
 * Returns the field's name, or "".
 */
export function showError(form, general, err) {
  const message = err?.message ?? String(err);
  const m = /^([a-z_0-9]+)(?:\[\d+\])?[: ]/.exec(message);
  const field = err?.field ?? m?.[1];
  let input = field && form.querySelector(`[name="${field}"]:not([data-choose])`);
  if (field && !input) {
    const chooser = form.querySelector(`[data-choose] option[value="${field}"]`);
    if (chooser) input = form.querySelector(`[data-chooser="${chooser.parentElement.name}"]`);
  }
  const slot = input?.closest("label")?.querySelector(".field-error");
  if (slot) {
    slot.textContent = message;
    slot.hidden = false;
    input.classList.add("bad");
    return field;
  }
  general.textContent = err?.code ? `${err.code}: ${message}` : message;
  general.hidden = false;
  return "";
}
