// Start an execution through the v0 API and follow it with EventSource (Node 20+).
//   cd docs/examples/node && npm install
//   node follow_v0.mjs http://127.0.0.1:8000 workflows greet '"Ada"'
//   node follow_v0.mjs http://127.0.0.1:8000 tasks compose '"Ada"'
import { EventSource } from "eventsource"; // browsers have EventSource built in

const [base = "http://127.0.0.1:8000", family = "workflows", name = "greet", input = "null"] =
  process.argv.slice(2);

const started = await fetch(`${base}/api/v0/${family}/${name}/executions`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ input: JSON.parse(input) }),
});
if (started.status !== 202) throw new Error(`start: ${started.status} ${await started.text()}`);
const { data } = await started.json(); // {exec_id, exec_url}

// Every frame has an id: after a drop, EventSource reconnects with Last-Event-ID and
// gets exactly the rest, text chunks included.
const source = new EventSource(`${base}${data.exec_url}/stream`);
let text = "";

source.addEventListener("workflow_start", (e) => {
  console.log(`workflow_start ${JSON.parse(e.data).workflowId}`);
});
for (const name of ["workflow_status", "task_status", "agent_status"]) {
  source.addEventListener(name, (e) => {
    const { status, step, event } = JSON.parse(e.data);
    console.log([name, status, step, event].filter(Boolean).join(" "));
  });
}
source.addEventListener("llm_chunk", (e) => {
  // Workflows (and agents with an output schema) send JSON; text agents and tasks plain text.
  const chunk = family === "workflows" ? JSON.parse(e.data).content : e.data;
  text += chunk;
  console.log(`llm_chunk ${JSON.stringify(chunk)}`);
});
source.addEventListener("complete", (e) => {
  const { status, result } = JSON.parse(e.data);
  console.log(`complete ${status} ${JSON.stringify(result)}`);
  console.log(`text ${JSON.stringify(text)}`);
  source.close(); // the server closes the stream too; close() stops the reconnect
});
source.addEventListener("error", (e) => {
  if (e.data) {
    // a v0 "error" frame: the execution failed or was canceled
    console.log(`error ${JSON.parse(e.data).message}`);
    source.close();
    process.exitCode = 1;
  } // no data: a network problem; EventSource reconnects by itself
});
