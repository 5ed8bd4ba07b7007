// The execution's header: kind, status, id, live connection, timing, and Cancel.

import { explain } from "../api.js";
import { clock, duration, h, idLabel, isTerminal, setStatus, statusPill } from "../dom.js";

const CONNECTION = {
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  finished: "ended",
  closed: "closed",
  failed: "disconnected",
};

export function createHeader({ type, id, onCancel, onRetry }) {
  const title = h("h1.title-kind", {}, "…");
  const pill = statusPill("PENDING");
  const connection = h("span.connection", { dataset: { state: "connecting" } }, CONNECTION.connecting);
  const cancel = h("button.danger", { type: "button" }, "Cancel");
  const retry = h("button.primary", { type: "button", hidden: true, title: "run it again from where it failed" }, "Retry");
  const problem = h("p.problem", { role: "alert", hidden: true });
  const started = h("span");
  const took = h("span");
  const worker = h("span");
  const phase = h("span.phase", { hidden: true });
  const act = (button, call, what) =>
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await call();
        problem.hidden = true;
      } catch (error) {
        problem.textContent = `${what} failed: ${explain(error)}`;
        problem.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  act(cancel, onCancel, "cancel");
  act(retry, onRetry, "retry");
  const el = h(
    "header.execution-head",
    {},
    h("a.back", { href: "#/" }, "← Executions"),
    h("div.title-row", {}, h("span.badge", {}, type === "task" ? "task" : "workflow"), title, pill, phase, h("span.spacer"), connection, retry, cancel),
    h("div.meta", {}, idLabel(id), h("span.sep", {}, "·"), started, h("span.sep", {}, "·"), took, worker),
    problem,
  );

  let stateText = "";
  return {
    el,
    update(state, now) {
      const view = state.executions[state.rootId];
      connection.dataset.state = state.connection;
      connection.textContent = CONNECTION[state.connection] ?? state.connection;
      connection.title = state.connectionError ?? "";
      if (!view) return;
      title.textContent = view.kind;
      setStatus(pill, view.status);
      const done = isTerminal(view.status);
      cancel.hidden = done || view.cancelRequested;
      retry.hidden = view.status !== "FAILED";
      const phaseValue = view.state.phase;
      const text = phaseValue === undefined ? "" : `phase: ${typeof phaseValue === "string" ? phaseValue : JSON.stringify(phaseValue)}`;
      if (text !== stateText) {
        stateText = text;
        phase.textContent = text;
        phase.hidden = !text;
      }
      started.textContent = view.createdAtMs ? `started ${clock(view.createdAtMs)}` : "";
      const end = done ? view.updatedAtMs : now;
      took.textContent = view.createdAtMs ? `${done ? "took" : "running for"} ${duration(end - view.createdAtMs)}` : "";
      worker.textContent = view.workerId && !done ? ` · on ${view.workerId}` : "";
    },
  };
}
