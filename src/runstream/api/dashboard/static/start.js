// The Start form: pick a registered workflow (or task), give its input as JSON, start it
// and open its view.

import { client, explain } from "./api.js";
import { h, parseInput } from "./dom.js";

export function startForm() {
  const kind = h("select", { name: "kind", "aria-label": "Kind", required: true });
  const input = h("textarea", { name: "input", rows: 1, spellcheck: false, placeholder: 'input as JSON, e.g. {"topic": "durable streams"}' });
  const about = h("p.hint");
  const problem = h("p.problem", { role: "alert", hidden: true });
  const button = h("button.primary", { type: "submit" }, "Start");
  const described = new Map();

  const form = h(
    "form.start",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const parsed = parseInput(input.value);
        if (!parsed.ok) return say(parsed.error);
        const [type, name] = kind.value.split(":");
        if (!name) return say("choose what to start");
        button.disabled = true;
        try {
          const api = client();
          const started = type === "task" ? await api.startTask(name, parsed.value) : await api.startWorkflow(name, parsed.value);
          location.hash = `#/${type === "task" ? "task" : "wf"}/${started.id}`;
        } catch (error) {
          say(explain(error));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", {}, "Start"),
    h("div.start-row", {}, kind, input, button),
    about,
    problem,
  );

  function say(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  kind.addEventListener("change", () => (about.textContent = described.get(kind.value) ?? ""));
  client()
    .kinds()
    .then((kinds) => {
      const group = (label, type, list) =>
        list.length ? h("optgroup", { label }, list.map((k) => (described.set(`${type}:${k.name}`, k.description), h("option", { value: `${type}:${k.name}` }, k.name)))) : null;
      kind.replaceChildren(group("Workflows", "workflow", kinds.workflows), group("Tasks", "task", kinds.tasks));
      about.textContent = described.get(kind.value) ?? "";
    })
    .catch((error) => say(`cannot list what can be started (${explain(error)})`));
  return form;
}
