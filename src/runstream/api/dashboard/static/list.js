// The executions list: workflows and standalone tasks of the org, newest first, polled
// so that new executions and status changes show up within a couple of seconds.

import { client, explain } from "./api.js";
import { ago, duration, fill, h, idLabel, isTerminal, setStatus, statusPill } from "./dom.js";
import { startForm } from "./start.js";

const POLL_MS = 1500;
const LIMIT = 200;

/** Mount the list into `main`; returns a function that unmounts it. */
export function mountList(main, { onServerState }) {
  const rows = new Map();
  const filters = { status: "", type: "" };
  const tbody = h("tbody");
  const empty = h("p.empty", { hidden: true }, "No executions yet: start one above, or with ", h("code", {}, "runstream run"), ".");
  const count = h("span.count");
  const table = h(
    "table.executions",
    {},
    h("thead", {}, h("tr", {}, ["Status", "Kind", "Type", "Id", "Started", "Duration"].map((c) => h("th", {}, c)))),
    tbody,
  );
  const statusFilter = h(
    "select",
    { "aria-label": "Status", onchange: (e) => ((filters.status = e.target.value), render()) },
    h("option", { value: "" }, "any status"),
    ["RUNNING", "WAITING", "PENDING", "COMPLETED", "FAILED", "CANCELLED"].map((s) => h("option", { value: s }, s)),
  );
  const typeFilter = h(
    "select",
    { "aria-label": "Type", onchange: (e) => ((filters.type = e.target.value), render()) },
    h("option", { value: "" }, "workflows and tasks"),
    h("option", { value: "workflow" }, "workflows"),
    h("option", { value: "task" }, "tasks"),
  );
  main.replaceChildren(
    h("section.list-page", {}, startForm(), h("div.list-head", {}, h("h2", {}, "Executions"), count, h("span.spacer"), statusFilter, typeFilter), table, empty),
  );

  let items = [];
  let timer = null;
  let stopped = false;

  function render() {
    const now = Date.now();
    const shown = items.filter((s) => (!filters.status || s.status === filters.status) && (!filters.type || s.type === filters.type));
    const keep = new Set(shown.map((s) => s.id));
    for (const [id, row] of rows) if (!keep.has(id)) (row.el.remove(), rows.delete(id));
    let previous = null;
    for (const snapshot of shown) {
      let row = rows.get(snapshot.id);
      if (!row) rows.set(snapshot.id, (row = createRow(snapshot)));
      updateRow(row, snapshot, now);
      const expected = previous ? previous.nextSibling : tbody.firstChild;
      if (expected !== row.el) tbody.insertBefore(row.el, expected);
      previous = row.el;
    }
    empty.hidden = shown.length > 0;
    count.textContent = `${shown.length} shown`;
  }

  async function poll() {
    if (stopped) return;
    if (!document.hidden) {
      try {
        const api = client();
        const [workflows, tasks] = await Promise.all([
          api.list({ type: "workflow", limit: LIMIT }),
          api.list({ type: "task", limit: LIMIT }),
        ]);
        items = [...workflows.items, ...tasks.items].sort((a, b) => b.createdAtMs - a.createdAtMs).slice(0, LIMIT);
        onServerState(null);
        if (!stopped) render();
      } catch (error) {
        onServerState(explain(error));
      }
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function href(snapshot) {
  return `#/${snapshot.type === "task" ? "task" : "wf"}/${snapshot.id}`;
}

function createRow(snapshot) {
  const pill = statusPill(snapshot.status);
  const kind = h("td.kind");
  const started = h("td.when");
  const took = h("td.took");
  const el = h(
    "tr",
    { dataset: { id: snapshot.id }, onclick: () => (location.hash = href(snapshot)) },
    h("td", {}, pill),
    kind,
    h("td.type", {}, snapshot.type),
    h("td", {}, h("a", { href: href(snapshot) }, idLabel(snapshot.id))),
    started,
    took,
  );
  return { el, pill, kind, started, took, key: "" };
}

function updateRow(row, snapshot, now) {
  setStatus(row.pill, snapshot.status);
  const key = `${snapshot.kind}|${snapshot.parentWorkflowExecutionId ?? ""}`;
  if (row.key !== key) {
    row.key = key;
    fill(
      row.kind,
      h("span", {}, snapshot.kind),
      snapshot.parentWorkflowExecutionId ? h("span.badge", { title: `child of ${snapshot.parentWorkflowExecutionId}` }, "child") : null,
    );
  }
  row.started.textContent = ago(snapshot.createdAtMs, now);
  row.started.title = new Date(snapshot.createdAtMs).toLocaleString();
  const end = isTerminal(snapshot.status) ? snapshot.updatedAtMs : now;
  row.took.textContent = duration(end - snapshot.createdAtMs);
}
