/** The typed calls of `RunstreamClient` against a real `runstream serve`. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { RunstreamApiError, RunstreamClient, type StreamEvent } from "runstream";

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

async function last(id: string): Promise<StreamEvent | undefined> {
  let end: StreamEvent | undefined;
  for await (const event of client.stream(id)) end = event;
  return end;
}

test("start, resolve a promise, send a message, read the result", async () => {
  const started = await client.startWorkflow("inbox");
  assert.equal(started.kind, "inbox");
  assert.equal(started.type, "workflow");
  const waiting = await waitFor(started.id, (s) => s.promises.some((p) => p.status === "PENDING"));
  assert.deepEqual(waiting.promises.map((p) => p.promiseId), ["go"]);

  const resolved = await client.resolvePromise(started.id, "go", { ok: true });
  assert.equal(resolved.promises[0]?.status, "RESOLVED");
  const { messageId } = await client.sendMessage(started.id, { text: "hello" });
  assert.match(messageId, /\S/);
  const end = await last(started.id);
  assert.ok(end?.type === "WORKFLOW_COMPLETED");
  const done = await client.get(started.id);
  assert.equal(done.status, "COMPLETED");
  assert.deepEqual(done.output, { go: { ok: true }, message: { text: "hello" } });

  await assert.rejects(client.sendMessage(started.id, "late"), (e: unknown) => e instanceof RunstreamApiError && e.status === 409);
});

test("reject a promise, cancel a workflow", async () => {
  const rejected = await client.startWorkflow("inbox");
  await waitFor(rejected.id, (s) => s.promises.length > 0);
  const after = await client.rejectPromise(rejected.id, "go", "not today");
  assert.equal(after.promises[0]?.status, "REJECTED");
  assert.equal((await last(rejected.id))?.type, "WORKFLOW_FAILED");

  const cancelled = await client.startWorkflow("inbox");
  const snapshot = await client.cancel(cancelled.id, { reason: "changed my mind" });
  assert.equal(snapshot.cancelRequested, true);
  assert.equal((await last(cancelled.id))?.type, "WORKFLOW_CANCELLED");
  assert.equal((await client.get(cancelled.id)).status, "CANCELLED");
});

test("list filters by kind and pages newest first", async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await client.startWorkflow("story", { words: 1 })).id);
  const page = await client.list({ kind: "story", limit: 2 });
  assert.equal(page.items.length, 2);
  assert.ok(page.items.every((s) => s.kind === "story"));
  assert.deepEqual(page.items.map((s) => s.id), [ids[2], ids[1]]);
  assert.ok(page.nextCursor);
  const next = await client.list({ kind: "story", limit: 2, cursor: page.nextCursor ?? "" });
  assert.equal(next.items[0]?.id, ids[0]);

  const task = await client.startTask("shout", "x");
  const tasks = await client.list({ type: "task", kind: "shout" });
  assert.equal(tasks.items[0]?.id, task.id);
  assert.equal((await client.get(task.id, "task")).type, "task");
});

test("kinds lists what the app registers", async () => {
  const kinds = await client.kinds();
  assert.ok(kinds.workflows.some((k) => k.name === "story" && k.description.startsWith("A retried draft")));
  assert.ok(kinds.tasks.some((k) => k.name === "shout"));
});

test("errors are typed and name the parameter", async () => {
  await assert.rejects(client.startWorkflow("no-such-kind"), (e: unknown) => {
    assert.ok(e instanceof RunstreamApiError);
    assert.equal(e.status, 400);
    assert.equal(e.code, "unknown_kind");
    return true;
  });
  await assert.rejects(client.get("not-a-uuid"), (e: unknown) => e instanceof RunstreamApiError && e.param === "id");
  await assert.rejects(
    client.list({ limit: 100000 }),
    (e: unknown) => e instanceof RunstreamApiError && e.status === 400 && e.param === "limit",
  );
});

async function waitFor(
  id: string,
  check: (s: Awaited<ReturnType<RunstreamClient["get"]>>) => boolean,
): Promise<Awaited<ReturnType<RunstreamClient["get"]>>> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const snapshot = await client.get(id);
    if (check(snapshot)) return snapshot;
    if (Date.now() > deadline) throw new Error(`${id} never got there: ${JSON.stringify(snapshot)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
