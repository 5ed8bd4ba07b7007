// One execution's view: follows its stream (consolidated for workflows, so children are
// included), folds events with the client's reducer, and renders at most once a frame.

import { client, explain } from "./api.js";
import { h } from "./dom.js";
import { foldEvents, initialState, withConnection } from "./lib/index.js";
import { recordFrame } from "./metrics.js";
import { createActions } from "./panels/actions.js";
import { createFacts } from "./panels/facts.js";
import { createHeader } from "./panels/header.js";
import { createTimeline } from "./panels/timeline.js";
import { createTree } from "./panels/tasks.js";

/** Mount the view of execution `id` (`type` "workflow" or "task"); returns its unmount. */
export function mountExecution(main, type, id) {
  const api = client();
  let state = initialState(id);
  const header = createHeader({
    type,
    id,
    onCancel: () => api.cancel(id, { type, reason: "cancelled from the dashboard" }),
    onRetry: async () => {
      await api.retry(id, { type, reason: "retried from the dashboard" });
      // The stream ended with the failure; the retry's events follow it in the same log.
      stream.close();
      stream = follow(state.lastEventId);
    },
  });
  const tree = createTree();
  const facts = createFacts();
  const timeline = createTimeline();
  const actions = type === "workflow" ? createActions({ api, rootId: id }) : null;
  const problem = h("p.problem.banner", { role: "alert", hidden: true });
  main.replaceChildren(
    h(
      "section.execution",
      { dataset: { id } },
      header.el,
      problem,
      h("div.columns", {}, h("div.main-column", {}, tree.el, timeline.el), h("aside.side-column", {}, actions?.el, facts.el)),
    ),
  );

  let pending = [];
  let arrivedAt = 0;
  let frame = 0;
  const render = () => {
    frame = 0;
    const start = performance.now();
    const batch = pending;
    pending = [];
    state = foldEvents(state, batch);
    paint();
    if (batch.length) recordFrame(arrivedAt, start, performance.now(), batch.length);
  };
  const paint = () => {
    const wall = Date.now();
    header.update(state, wall);
    tree.update(state, wall);
    actions?.update(state);
    facts.update(state);
    timeline.update(state);
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };

  api
    .get(id, type)
    .then((snapshot) => facts.setInput(snapshot.input))
    .catch((error) => {
      problem.textContent = `cannot load this execution: ${explain(error)}`;
      problem.hidden = false;
    });

  const options = {
    backoff: { initialDelayMs: 250, maxDelayMs: 2000 },
    onEvent: (event) => {
      if (!pending.length) arrivedAt = performance.now();
      pending.push(event);
      schedule();
    },
    onStatus: (status, error) => {
      state = withConnection(state, status, error);
      if (status === "failed") {
        problem.textContent = `the stream stopped: ${explain(error)}`;
        problem.hidden = false;
      }
      schedule();
    },
  };
  const follow = (after) => {
    const resume = { ...options, ...(after ? { after } : {}) };
    return type === "workflow" ? api.streamConsolidated(id, resume) : api.stream(id, { ...resume, type });
  };
  let stream = follow("");
  // Durations of running things tick even when no event arrives.
  const ticker = setInterval(() => document.hidden || schedule(), 1000);

  return () => {
    clearInterval(ticker);
    if (frame) cancelAnimationFrame(frame);
    stream.close();
  };
}
