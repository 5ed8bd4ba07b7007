// What a person can do to a running workflow: settle each pending promise (its own
// Resolve and Reject controls) and send messages.

import { explain } from "../api.js";
import { h, isTerminal, parseInput, show, statusPill } from "../dom.js";

/** One pending promise's controls, kept while it is pending so typed text survives renders. */
function promiseRow(api, executionId, promise, where) {
  const value = h("input.value", { type: "text", value: "true", spellcheck: false, "aria-label": `value for ${promise.promiseId}` });
  const reason = h("input.reason", { type: "text", placeholder: "reason", "aria-label": `reason for rejecting ${promise.promiseId}` });
  const problem = h("p.problem", { role: "alert", hidden: true });
  const resolve = h("button.primary", { type: "button" }, "Resolve");
  const reject = h("button.danger", { type: "button" }, "Reject");
  const act = async (call) => {
    resolve.disabled = reject.disabled = true;
    try {
      await call();
      problem.hidden = true;
    } catch (error) {
      problem.textContent = explain(error);
      problem.hidden = false;
      resolve.disabled = reject.disabled = false;
    }
  };
  resolve.addEventListener("click", () => {
    const parsed = parseInput(value.value, true);
    return act(() => api.resolvePromise(executionId, promise.promiseId, parsed.value));
  });
  reject.addEventListener("click", () => act(() => api.rejectPromise(executionId, promise.promiseId, reason.value.trim() || "rejected from the dashboard")));
  return h(
    "div.promise",
    { dataset: { promise: promise.promiseId } },
    h("div.promise-name", {}, h("code", {}, promise.promiseId), where ? h("span.where", {}, ` in ${where}`) : null),
    h("label.field", {}, "value (JSON)", value),
    h("div.buttons", {}, resolve, reason, reject),
    problem,
  );
}

export function createActions({ api, rootId }) {
  const pending = h("div.pending");
  const settled = h("ul.settled");
  const none = h("p.empty", {}, "Nothing is waiting on you.");
  const rows = new Map();

  const message = h("textarea", { rows: 2, spellcheck: false, placeholder: 'a message: JSON ({"ok": true}) or plain text', "aria-label": "message" });
  const send = h("button.primary", { type: "submit" }, "Send");
  const counts = h("span.hint");
  const sent = h("p.problem", { role: "status", hidden: true });
  const form = h(
    "form.message",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        if (!message.value.trim()) return;
        send.disabled = true;
        try {
          await api.sendMessage(rootId, parseInput(message.value, true).value);
          message.value = "";
          sent.hidden = true;
        } catch (error) {
          sent.textContent = explain(error);
          sent.hidden = false;
        } finally {
          send.disabled = false;
        }
      },
    },
    h("label", {}, "Send a message", message),
    h("div.buttons", {}, send, counts),
    sent,
  );
  const el = h("section.panel.actions", {}, h("h2", {}, "Waiting on you"), none, pending, settled, form);

  let settledKey = "";
  return {
    el,
    update(state) {
      const waiting = [];
      const done = [];
      for (const id of state.order) {
        const view = state.executions[id];
        for (const promise of Object.values(view.promises)) {
          const entry = { id, view, promise };
          (promise.status === "PENDING" && !isTerminal(view.status) ? waiting : done).push(entry);
        }
      }
      const keep = new Set(waiting.map((w) => `${w.id}/${w.promise.promiseId}`));
      for (const [key, row] of rows) if (!keep.has(key)) (row.remove(), rows.delete(key));
      for (const { id, view, promise } of waiting) {
        const key = `${id}/${promise.promiseId}`;
        if (!rows.has(key)) {
          const row = promiseRow(api, id, promise, id === rootId ? "" : `child ${view.kind}`);
          rows.set(key, row);
          pending.append(row);
        }
      }
      none.hidden = waiting.length > 0;
      const key = done.map((d) => `${d.id}/${d.promise.promiseId}:${d.promise.status}`).join();
      if (key !== settledKey) {
        settledKey = key;
        settled.replaceChildren(
          ...done.map(({ promise }) =>
            h("li", {}, h("code", {}, promise.promiseId), " ", statusPill(promise.status, "small"), " ", promise.status === "REJECTED" ? promise.error ?? "" : show(promise.result)),
          ),
        );
      }
      const root = state.executions[state.rootId];
      if (root) {
        form.hidden = isTerminal(root.status);
        counts.textContent = `${root.messages.received} received · ${root.messages.consumed} consumed`;
      }
    },
  };
}
