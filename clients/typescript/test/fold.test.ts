/** The fold (the hook's reducer): a real workflow with a retry, a child and tokens, and
 * hand-made events for the cases a server run cannot force. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  childViews,
  foldEvent,
  foldEvents,
  initialState,
  pendingPromises,
  rootView,
  RunstreamClient,
  type StreamEvent,
  type StreamState,
  tasksOf,
  withConnection,
} from "runstream";

import { type Server, startServer } from "./server.js";

let server: Server;
let client: RunstreamClient;

before(async () => {
  server = await startServer();
  client = new RunstreamClient({ baseUrl: server.url });
});

after(async () => {
  await server.stop();
});

test("a workflow with a retried task, a child, tokens and a promise folds into its view", async () => {
  const started = await client.startWorkflow("story", { words: 8, approve: true });
  let state = initialState(started.id);
  let resolved = false;
  const stream = client.streamConsolidated(started.id, {
    onStatus: (status, error) => (state = withConnection(state, status, error)),
  });
  for await (const event of stream) {
    state = foldEvent(state, event);
    const root = rootView(state)!;
    if (!resolved && pendingPromises(root).length === 1) {
      // What the dashboard's Resolve button does.
      assert.equal(pendingPromises(root)[0]?.promiseId, "approval");
      await client.resolvePromise(started.id, "approval", "ship it");
      resolved = true;
    }
  }
  assert.equal(state.connection, "finished");

  const root = rootView(state)!;
  assert.equal(root.status, "COMPLETED");
  assert.equal(root.kind, "story");
  assert.deepEqual(root.output, { words: 8, lines: 3, approval: "ship it" });
  assert.deepEqual(root.state, { phase: "done" });
  assert.equal(root.promises.approval?.status, "RESOLVED");
  assert.equal(root.promises.approval?.result, "ship it");
  assert.equal(root.text, "", "every token belongs to a task");

  const [draft] = tasksOf(root);
  assert.ok(draft);
  assert.equal(draft.kind, "draft");
  assert.equal(draft.status, "COMPLETED");
  assert.equal(draft.attempt, 2);
  assert.deepEqual(draft.attempts.map((a) => [a.attempt, a.status, a.error]), [
    [1, "FAILED", "model overloaded"],
    [2, "COMPLETED", null],
  ]);
  assert.equal(draft.attempts[0]?.chars, "lost0 lost1 lost2 lost3 ".length, "attempt 1's text is dropped, its size kept");
  assert.equal(draft.text, "word0 word1 word2 word3 word4 word5 word6 word7 ");
  assert.equal(draft.progress, 1);
  assert.deepEqual(draft.data, [{ words: 8 }]);
  assert.equal(draft.output, draft.text);

  assert.deepEqual(root.childOrder.length, 1);
  const [child] = childViews(state, root);
  assert.ok(child);
  assert.equal(child.kind, "chapter");
  assert.equal(child.path, "0.0");
  assert.equal(child.parentId, started.id);
  assert.equal(child.status, "COMPLETED");
  assert.equal(root.children[child.id]?.status, "COMPLETED");
  assert.equal(tasksOf(child)[0]?.text, "first line\nsecond line\nthird line\n");

  assert.deepEqual(
    state.errors.map((e) => [e.taskId, e.attempt, e.message]),
    [
      [draft.id, 1, "model overloaded"],
      [draft.id, 1, "model overloaded"],
    ],
    "the reported error and the failure, both on attempt 1",
  );
  const types = state.timeline.map((t) => t.type);
  assert.equal(types[0], "WORKFLOW_CREATED");
  assert.equal(types.at(-1), "WORKFLOW_COMPLETED");
  assert.ok(!types.includes("token"));
  assert.ok(
    state.timeline.some((t) => t.type === "WORKFLOW_SUSPENDED" && (t.data as { suspendType?: string }).suspendType === "promise"),
  );
  assert.deepEqual(state.order, [started.id, child.id]);
});

// Hand-made events: attribution when no or several tasks run, batches, standalone tasks.

let seq = 0;
function ev(type: string, data: unknown, path = "0"): StreamEvent {
  seq++;
  const base = { id: String(seq), source: { path, seq } };
  if (type === "token" || type === "progress" || type === "data" || type === "error") {
    return { ...base, type, data } as StreamEvent;
  }
  return { ...base, type, data, timestampMs: 1000 + seq } as StreamEvent;
}
const wf = (status: string) => ({ id: "w", kind: "flow", status, workerId: null, error: null, parentWorkflowExecutionId: null });
const task = (id: string, executionCount: number, extra: object = {}) => ({
  id, kind: `k${id}`, status: "RUNNING", executionCount, maxRetries: 1, workerId: null, error: null, ...extra,
});

test("tokens go to the one running task, else to the execution; a batch copies only what it touches", () => {
  let state: StreamState = initialState("w");
  state = foldEvents(state, [
    ev("WORKFLOW_STARTED", wf("RUNNING")),
    ev("token", "intro "),
    ev("TASK_STARTED", task("a", 1)),
    ev("token", "A1 "),
    ev("TASK_STARTED", task("b", 1)),
    ev("token", "either "),
    ev("TASK_COMPLETED", task("b", 1, { status: "COMPLETED" })),
    ev("token", "A2 "),
  ]);
  const view = rootView(state)!;
  assert.equal(view.text, "intro either ");
  assert.equal(view.tasks.a?.text, "A1 A2 ");
  assert.equal(view.tasks.b?.text, "");

  const before = state;
  const after = foldEvent(state, ev("token", "A3"));
  assert.notEqual(after, before);
  assert.equal(after.executions.w?.tasks.b, before.executions.w?.tasks.b, "untouched task keeps its identity");
  assert.equal(before.executions.w?.tasks.a?.text, "A1 A2 ", "the previous state is not mutated");
  assert.equal(foldEvents(after, []), after);
});

test("a new attempt drops the superseded attempt's text, progress and data", () => {
  let state = initialState("w");
  state = foldEvents(state, [
    ev("TASK_STARTED", task("a", 1)),
    ev("token", "partial"),
    ev("progress", 0.4),
    ev("data", { step: 1 }),
    ev("TASK_FAILED", task("a", 1, { status: "PENDING", error: "boom", willRetry: true })),
  ]);
  let a = rootView(state)!.tasks.a!;
  assert.equal(a.willRetry, true);
  assert.equal(a.status, "PENDING");
  assert.equal(a.text, "partial", "kept until the next attempt starts");
  state = foldEvents(state, [ev("TASK_STARTED", task("a", 2)), ev("token", "fresh")]);
  a = rootView(state)!.tasks.a!;
  assert.equal(a.text, "fresh");
  assert.equal(a.progress, null);
  assert.deepEqual(a.data, []);
  assert.deepEqual(a.attempts.map((x) => [x.attempt, x.status, x.chars]), [
    [1, "FAILED", 7],
    [2, "RUNNING", 0],
  ]);
});

test("a standalone task's log makes the task the execution", () => {
  let state = initialState("t");
  state = foldEvents(state, [
    ev("TASK_CREATED", { ...task("t", 0), status: "PENDING" }),
    ev("TASK_STARTED", task("t", 1)),
    ev("token", "hi"),
    ev("TASK_COMPLETED", task("t", 1, { status: "COMPLETED", output: "hi" })),
  ]);
  const view = rootView(state)!;
  assert.equal(view.status, "COMPLETED");
  assert.equal(view.kind, "kt");
  assert.equal(view.tasks.t?.text, "hi");
  assert.equal(view.tasks.t?.output, "hi");
});

test("state, timers, cancellation and messages", () => {
  let state = initialState("w");
  state = foldEvents(state, [
    ev("STATE_SET", { key: "a", value: 1 }),
    ev("STATE_SET", { key: "b", value: { x: true } }),
    ev("STATE_CLEARED", { key: "a" }),
    ev("TIMER_STARTED", { timerId: "t1", fireAtMs: 5 }),
    ev("TIMER_FIRED", { timerId: "t1" }),
    ev("MESSAGE_RECEIVED", { messageId: "m" }),
    ev("CANCELLATION_REQUESTED", { workflowExecutionId: "w", reason: null }),
  ]);
  const view = rootView(state)!;
  assert.deepEqual(view.state, { b: { x: true } });
  assert.deepEqual(view.timers.t1, { timerId: "t1", status: "FIRED", fireAtMs: 5 });
  assert.deepEqual(view.messages, { received: 1, consumed: 0 });
  assert.equal(view.cancelRequested, true);
});
