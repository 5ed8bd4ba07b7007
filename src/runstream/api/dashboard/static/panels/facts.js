// What an execution holds: its input, its output or error, its state and its timers.

import { clock, h, isTerminal, show } from "../dom.js";

export function createFacts() {
  const input = h("pre.json");
  const output = h("pre.json");
  const outputTitle = h("h3", {}, "Output");
  const outputBox = h("div", { hidden: true }, outputTitle, output);
  const state = h("dl.kv");
  const timers = h("ul.timers");
  const timersBox = h("div", { hidden: true }, h("h3", {}, "Timers"), timers);
  const el = h("section.panel.facts", {}, outputBox, h("h3", {}, "State"), state, timersBox, h("h3", {}, "Input"), input);
  let last = { state: null, timers: null, status: null };

  return {
    el,
    setInput(value) {
      input.textContent = show(value) || "null";
    },
    update(snapshot) {
      const view = snapshot.executions[snapshot.rootId];
      if (!view) return;
      if (view.status !== last.status) {
        last.status = view.status;
        outputBox.hidden = !isTerminal(view.status);
        const failed = view.status !== "COMPLETED";
        outputTitle.textContent = failed ? (view.status === "FAILED" ? "Error" : "Cancelled") : "Output";
        output.classList.toggle("error", failed);
        output.textContent = failed ? view.error ?? "cancelled" : show(view.output) || "null";
      }
      if (view.state !== last.state) {
        last.state = view.state;
        const entries = Object.entries(view.state);
        state.replaceChildren(...(entries.length ? entries.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, show(v))]) : [h("dd.empty", {}, "no state")]));
      }
      if (view.timers !== last.timers) {
        last.timers = view.timers;
        const list = Object.values(view.timers);
        timersBox.hidden = list.length === 0;
        timers.replaceChildren(...list.map((t) => h("li", {}, h("code", {}, t.timerId), ` ${t.status.toLowerCase()}`, t.fireAtMs ? ` · fires ${clock(t.fireAtMs)}` : "")));
      }
    },
  };
}
