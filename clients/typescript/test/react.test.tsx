/** `useExecutionStream` in a real React tree (react-test-renderer), against a real server. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { create, type ReactTestRenderer } from "react-test-renderer";
import { rootView, RunstreamClient, type StreamState, tasksOf } from "runstream";
import { useExecutionStream } from "runstream/react";

import { eventually, type Server, startServer } from "./server.js";

let server: Server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

test("the hook folds a workflow with a retry, a child and tokens, and stops at the end", async () => {
  const client = new RunstreamClient({ baseUrl: server.url });
  const started = await client.startWorkflow("story", { words: 12 });
  const seen: StreamState[] = [];
  function Probe({ id }: { id: string }) {
    const state = useExecutionStream("default", id, { baseUrl: server.url });
    seen.push(state);
    return null;
  }
  const renderer: ReactTestRenderer = create(<Probe id={started.id} />);
  try {
    const state = await eventually(() => {
      const latest = seen.at(-1);
      return latest?.connection === "finished" ? latest : undefined;
    });
    const root = rootView(state)!;
    assert.equal(root.status, "COMPLETED");
    const [draft] = tasksOf(root);
    assert.equal(draft?.text, Array.from({ length: 12 }, (_, i) => `word${i} `).join(""));
    assert.deepEqual(draft?.attempts.map((a) => a.status), ["FAILED", "COMPLETED"]);
    assert.equal(state.order.length, 2, "the child is followed too");
    const child = state.executions[state.order[1]!]!;
    assert.equal(tasksOf(child)[0]?.text, "first line\nsecond line\nthird line\n");
    assert.ok(seen.length < state.eventCount, `batched: ${seen.length} renders for ${state.eventCount} events`);
  } finally {
    renderer.unmount();
  }
});

test("changing the id starts over; null follows nothing", async () => {
  const client = new RunstreamClient({ baseUrl: server.url });
  const first = await client.startTask("shout", "one");
  const second = await client.startTask("shout", "two");
  let latest: StreamState | undefined;
  function Probe({ id }: { id: string | null }) {
    latest = useExecutionStream("default", id, { baseUrl: server.url, type: "task" });
    return null;
  }
  const renderer = create(<Probe id={first.id} />);
  try {
    await eventually(() => (latest?.connection === "finished" ? true : undefined));
    assert.equal(rootView(latest!)?.tasks[first.id]?.text, "ONE");
    renderer.update(<Probe id={second.id} />);
    await eventually(() => (latest?.rootId === second.id && latest.connection === "finished" ? true : undefined));
    assert.equal(rootView(latest!)?.tasks[second.id]?.text, "TWO");
    assert.equal(latest!.executions[first.id], undefined);
    renderer.update(<Probe id={null} />);
    await eventually(() => (latest?.rootId === "" ? true : undefined));
    assert.equal(latest!.eventCount, 0);
  } finally {
    renderer.unmount();
  }
});
