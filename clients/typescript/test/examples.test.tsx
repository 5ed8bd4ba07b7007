/** The examples of docs/typescript.md, run against a real server. */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { create } from "react-test-renderer";
import { RunstreamClient } from "runstream";

import { ExecutionView } from "../../../docs/examples/typescript/ExecutionView.js";
import { eventually, type Server, startServer } from "./server.js";

const EXAMPLES = resolve(fileURLToPath(import.meta.url), "../../../../docs/examples/typescript");

let server: Server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

test("follow.ts starts a workflow, prints its text and exits 0 when it completes", () => {
  const run = spawnSync(process.execPath, [resolve(EXAMPLES, "follow.js"), server.url, "story", '{"words": 3}'], {
    encoding: "utf8",
    timeout: 30000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^started story /);
  assert.match(run.stdout, /task draft failed: model overloaded \(retrying\)/);
  assert.match(run.stdout, /word0 word1 word2 /);
  assert.match(run.stdout, /COMPLETED: \{"words":3,"lines":3,"approval":null\}/);
});

test("ExecutionView.tsx renders the workflow, its tasks and its child", async () => {
  const started = await new RunstreamClient({ baseUrl: server.url }).startWorkflow("story", { words: 4 });
  const renderer = create(<ExecutionView id={started.id} baseUrl={server.url} />);
  try {
    const text = () => JSON.stringify(renderer.toJSON());
    await eventually(() => (text().includes("finished") ? true : undefined));
    const json = text();
    assert.ok(json.includes('"story"," ",{"type":"span","props":{"className":"status"},"children":["COMPLETED"]}'), json);
    assert.ok(json.includes("word0 word1 word2 word3 "), json);
    assert.ok(json.includes("child "), json);
    assert.ok(json.includes("first line\\nsecond line\\nthird line\\n"), json);
    assert.ok(json.includes("model overloaded"), json);
  } finally {
    renderer.unmount();
  }
});
