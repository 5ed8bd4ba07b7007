/** Streams against a real `runstream serve`: typed events, resume without gap or duplicate, 204. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { foldEvents, initialState, rootView, RunstreamApiError, RunstreamClient, type StreamEvent, tasksOf } from "runstream";

import { cuttingFetch } from "./cut.js";
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

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function seqs(events: StreamEvent[]): number[] {
  return events.map((e) => e.source.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

test("events arrive typed, in log order, and the stream ends after the terminal event", async () => {
  const started = await client.startWorkflow("story", { words: 6 });
  const stream = client.stream(started.id);
  const events = await collect(stream);

  assert.equal(stream.status, "finished");
  assert.equal(events[0]?.type, "WORKFLOW_CREATED");
  assert.equal(events.at(-1)?.type, "WORKFLOW_COMPLETED");
  assert.deepEqual(seqs(events), range(1, events.length));
  const page = await client.events(started.id, { limit: 1000 });
  assert.deepEqual(
    events.map((e) => (e.type === "data" ? "data" : e.type)),
    page.items.map((e) => e.type),
  );

  const retried = events.find((e) => e.type === "TASK_FAILED");
  assert.ok(retried && retried.type === "TASK_FAILED");
  // Narrowed by `type`: the task's fields are typed.
  assert.equal(retried.data.willRetry, true);
  assert.equal(retried.data.executionCount, 1);
  assert.equal(retried.data.error, "model overloaded");
  const tokens = events.flatMap((e) => (e.type === "token" ? [e.data] : []));
  assert.equal(tokens.join(""), "lost0 lost1 lost2 word0 word1 word2 word3 word4 word5 ");
  const progress = events.flatMap((e) => (e.type === "progress" ? [e.data] : []));
  assert.equal(progress.at(-1), 1);
  assert.ok(events.some((e) => e.type === "error" && e.data === "model overloaded"));
  assert.ok(events.some((e) => e.type === "data" && JSON.stringify(e.data) === '{"words":6}'));
  const state = events.find((e) => e.type === "STATE_SET");
  assert.ok(state?.type === "STATE_SET" && state.data.key === "phase");
  const end = events.at(-1);
  assert.ok(end?.type === "WORKFLOW_COMPLETED");
  assert.deepEqual(end.data.output, { words: 6, lines: 3, approval: null });
  assert.ok(end.timestampMs > 0);
});

test("resumes after forced disconnects mid-frame with no gap and no duplicate", async () => {
  const started = await client.startWorkflow("ticker", 400);
  const cut = cuttingFetch(() => 200 + Math.floor(Math.random() * 600));
  const cutting = new RunstreamClient({ baseUrl: server.url, fetch: cut.fetch });
  const stream = cutting.stream(started.id, { backoff: { initialDelayMs: 5, maxDelayMs: 20 } });
  const events = await collect(stream);

  assert.ok(stream.reconnects >= 5, `only ${stream.reconnects} reconnects`);
  assert.equal(cut.connections(), stream.reconnects + 1);
  assert.deepEqual(seqs(events), range(1, events.length));
  const text = events.flatMap((e) => (e.type === "token" ? [e.data] : [])).join("");
  assert.equal(text, range(0, 399).map((i) => `${i},`).join(""));
  assert.equal(events.at(-1)?.type, "WORKFLOW_COMPLETED");
});

test("a consolidated stream resumes across cuts and covers the child", async () => {
  const started = await client.startWorkflow("story", { words: 30 });
  const cut = cuttingFetch(() => 300 + Math.floor(Math.random() * 500));
  const cutting = new RunstreamClient({ baseUrl: server.url, fetch: cut.fetch });
  const stream = cutting.streamConsolidated(started.id, { backoff: { initialDelayMs: 5 } });
  const events = await collect(stream);

  assert.ok(stream.reconnects >= 3);
  assert.equal(stream.status, "finished");
  const byPath = new Map<string, number[]>();
  for (const e of events) byPath.set(e.source.path, [...(byPath.get(e.source.path) ?? []), e.source.seq]);
  assert.deepEqual([...byPath.keys()].sort(), ["0", "0.0"]);
  for (const [path, got] of byPath) assert.deepEqual(got, range(1, got.length), `log ${path}`);
  const child = events.find((e) => e.source.path === "0.0" && e.type === "WORKFLOW_CREATED");
  assert.ok(child?.type === "WORKFLOW_CREATED");
  assert.equal(child.data.parentWorkflowExecutionId, started.id);
  const recited = events.filter((e) => e.source.path === "0.0" && e.type === "token").map((e) => e.data);
  assert.equal(recited.join(""), "first line\nsecond line\nthird line\n");
});

test("a finished execution with nothing left answers 204 and the stream just finishes", async () => {
  const started = await client.startWorkflow("story", { words: 2 });
  const all = await collect(client.stream(started.id));
  const last = all.at(-1)!.id;

  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests++;
    return fetch(input, init);
  };
  const statuses: string[] = [];
  const resumed = new RunstreamClient({ baseUrl: server.url, fetch: counting }).stream(started.id, {
    after: last,
    onStatus: (status) => statuses.push(status),
  });
  assert.deepEqual(await collect(resumed), []);
  assert.equal(resumed.status, "finished");
  assert.equal(requests, 1, "a 204 must not be retried");
  assert.deepEqual(statuses, ["finished"]);

  // The consolidated stream of a finished workflow ends the same way.
  const consolidated = client.streamConsolidated(started.id, { after: "0:999,0.0:999" });
  assert.deepEqual(await collect(consolidated), []);
  assert.equal(consolidated.status, "finished");
});

test("a stream survives the server going away and coming back", async () => {
  const own = await startServer();
  try {
    const ownClient = new RunstreamClient({ baseUrl: own.url });
    const started = await ownClient.startWorkflow("inbox");
    const statuses: string[] = [];
    const stream = ownClient.stream(started.id, {
      backoff: { initialDelayMs: 50, maxDelayMs: 300 },
      onStatus: (status) => statuses.push(status),
    });
    const events = collect(stream);
    await new Promise((r) => setTimeout(r, 300));
    await own.restart(500);
    await ownClient.resolvePromise(started.id, "go", 1);
    await ownClient.sendMessage(started.id, "back");
    const got = await events;
    assert.ok(stream.reconnects >= 1);
    assert.ok(statuses.includes("reconnecting"), statuses.join());
    assert.deepEqual(seqs(got), range(1, got.length));
    const end = got.at(-1);
    assert.ok(end?.type === "WORKFLOW_COMPLETED");
    assert.deepEqual(end.data.output, { go: 1, message: "back" });
  } finally {
    await own.stop();
  }
});

test("an unknown or malformed id fails the stream with the API's error, without retrying", async () => {
  const missing = client.stream("01a00000-0000-7000-8000-000000000000");
  await assert.rejects(missing.done, (error: unknown) => {
    assert.ok(error instanceof RunstreamApiError);
    assert.equal(error.status, 404);
    return true;
  });
  assert.equal(missing.status, "failed");
  assert.equal(missing.reconnects, 0);

  const malformed = client.stream("nope");
  await assert.rejects(collect(malformed), (error: unknown) => {
    assert.ok(error instanceof RunstreamApiError);
    assert.equal(error.status, 400);
    assert.equal(error.param, "id");
    return true;
  });
});

test("a standalone task's stream ends with the task", async () => {
  const started = await client.startTask("shout", "hey");
  const events = await collect(client.stream(started.id, { type: "task" }));
  assert.equal(events.map((e) => (e.type === "token" ? e.data : "")).join(""), "HEY");
  const end = events.at(-1);
  assert.ok(end?.type === "TASK_COMPLETED");
  assert.equal(end.data.id, started.id);
});

test("types= filters frames and a filtered stream still resumes", async () => {
  const started = await client.startWorkflow("story", { words: 4 });
  const cut = cuttingFetch(() => 400 + Math.floor(Math.random() * 400));
  const stream = new RunstreamClient({ baseUrl: server.url, fetch: cut.fetch }).stream(started.id, {
    types: ["workflow"],
    backoff: { initialDelayMs: 5 },
  });
  const events = await collect(stream);
  assert.ok(events.every((e) => e.type.startsWith("WORKFLOW_")));
  assert.equal(events.at(-1)?.type, "WORKFLOW_COMPLETED");
  const ids = events.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
});

test("a failure reopened by a manual retry is read through, not taken for the end", async () => {
  const started = await client.startWorkflow("fragile");
  const first = await collect(client.stream(started.id));
  assert.equal(first.at(-1)?.type, "WORKFLOW_FAILED");

  assert.deepEqual(await client.retry(started.id, { reason: "deployed the fix" }), { attempt: 1 });
  const resumed = await collect(client.stream(started.id, { after: first.at(-1)!.id }));
  assert.equal(resumed[0]?.type, "RETRY_REQUESTED");
  assert.equal(resumed.at(-1)?.type, "WORKFLOW_COMPLETED");

  const whole = await collect(client.stream(started.id));
  assert.deepEqual(seqs(whole), range(1, first.length + resumed.length));
  assert.ok(whole.findIndex((e) => e.type === "WORKFLOW_FAILED") < whole.findIndex((e) => e.type === "RETRY_REQUESTED"));
  const state = foldEvents(initialState(started.id), whole);
  const root = rootView(state)!;
  assert.equal(root.status, "COMPLETED");
  const [step] = tasksOf(root);
  assert.deepEqual(step?.attempts.map((a) => a.status), ["FAILED", "COMPLETED"]);
  assert.equal(step?.text, "fixed");
});
