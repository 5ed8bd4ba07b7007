// Small DOM and formatting helpers shared by the views. Text always goes in through
// textContent, never as HTML: event data is untrusted.

/**
 * Create an element: h("div.card", {title: "x", onclick}, child, "text", …).
 * Attributes starting with "on" are listeners; false/null attributes are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A status word in a coloured pill: the word itself is the text (COMPLETED, RUNNING, …). */
export function statusPill(status, extra = "") {
  const word = status || "PENDING";
  return h(`span.pill.status-${word.toLowerCase()}${extra ? `.${extra}` : ""}`, { "data-status": word }, word);
}

/** Update a pill made by statusPill in place. */
export function setStatus(pill, status) {
  const word = status || "PENDING";
  if (pill.dataset.status === word) return;
  pill.dataset.status = word;
  pill.className = `pill status-${word.toLowerCase()}`;
  pill.textContent = word;
}

/**
 * An id people can tell apart: UUIDv7 ids started in the same minute share their first
 * characters, so the whole id is shown with its distinctive end emphasised.
 */
export function idLabel(id) {
  const cut = Math.max(0, id.length - 12);
  return h("span.id", { title: id }, h("span.id-head", {}, id.slice(0, cut)), h("span.id-tail", {}, id.slice(cut)));
}

/** "3.2 s", "1 min 5 s", "2 h 3 min". */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "14:03:22" today, else the date too. */
export function clock(ms) {
  if (!ms) return "";
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

/** "12 s ago", "5 min ago". */
export function ago(ms, now = Date.now()) {
  if (!ms) return "";
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** A JSON value as readable text; strings as themselves. */
export function show(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

/** Parse what a person typed as JSON; plain words become a string when `lenient`. */
export function parseInput(text, lenient = false) {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch (error) {
    if (lenient) return { ok: true, value: text };
    return { ok: false, error: `not JSON: ${error.message}` };
  }
}

/** True when a status is final. */
export function isTerminal(status) {
  return status === "COMPLETED" || status === "FAILED" || status === "CANCELLED";
}
