// The dashboard's entry: hash routes (#/ the list, #/wf/<id> and #/task/<id> one
// execution), the Access form, and the server-reachability note.

import { credentials, saveCredentials } from "./api.js";
import { mountExecution } from "./execution.js";
import { mountList } from "./list.js";

const main = document.getElementById("main");
const serverState = document.getElementById("server-state");
let unmount = () => {};

function onServerState(problem) {
  serverState.hidden = !problem;
  serverState.textContent = problem ? `⚠ ${problem}` : "";
}

function route() {
  unmount();
  const [, kind, id] = location.hash.match(/^#\/(wf|task)\/([0-9a-fA-F-]{36})$/) ?? [];
  if (kind && id) {
    unmount = mountExecution(main, kind === "task" ? "task" : "workflow", id.toLowerCase());
    document.title = `runstream · ${id.slice(-12)}`;
  } else {
    unmount = mountList(main, { onServerState });
    document.title = "runstream";
  }
  window.scrollTo(0, 0);
}

const access = document.getElementById("access-form");
const saved = credentials();
access.apiKey.value = saved.apiKey ?? "";
access.token.value = saved.token ?? "";
access.addEventListener("submit", (event) => {
  event.preventDefault();
  saveCredentials({ apiKey: access.apiKey.value.trim(), token: access.token.value.trim() });
  document.getElementById("access").open = false;
  route();
});

window.addEventListener("hashchange", route);
route();
