// Start a workflow and follow it to its end from Node:
//   node follow.js http://127.0.0.1:8000 story '{"words": 5}'
// Prints lifecycle events and streamed text; exits 0 when the workflow completes.

import { RunstreamClient } from "runstream";

const [baseUrl = "http://127.0.0.1:8000", kind = "greet", input = "null"] = process.argv.slice(2);
const client = new RunstreamClient({ baseUrl });
const started = await client.startWorkflow(kind, JSON.parse(input));
console.log(`started ${kind} ${started.id}`);

let status = "";
// One stream; it resumes by itself after a drop and ends after the terminal event.
for await (const event of client.stream(started.id)) {
  switch (event.type) {
    case "token":
      process.stdout.write(event.data);
      break;
    case "progress":
      break;
    case "TASK_STARTED":
      console.log(`\ntask ${event.data.kind} attempt ${event.data.executionCount}`);
      break;
    case "TASK_FAILED":
      console.log(`\ntask ${event.data.kind} failed: ${event.data.error}${event.data.willRetry ? " (retrying)" : ""}`);
      break;
    case "WORKFLOW_COMPLETED":
    case "WORKFLOW_FAILED":
    case "WORKFLOW_CANCELLED":
      status = event.data.status;
      console.log(`\n${status}: ${JSON.stringify(event.data.output ?? event.data.error)}`);
      break;
  }
}
process.exit(status === "COMPLETED" ? 0 : 1);
