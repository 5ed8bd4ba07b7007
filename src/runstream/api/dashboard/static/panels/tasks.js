// The task tree: each task with its attempts, progress and streamed text; a workflow's
// own text; children (from the consolidated stream) nested with their tasks.

import { childViews, tasksOf } from "../lib/index.js";
import { duration, h, idLabel, isTerminal, setStatus, show, statusPill } from "../dom.js";

/** A task's card; `update` does nothing when the task object kept its identity. */
class TaskCard {
  constructor(task) {
    this.task = null;
    this.pill = statusPill(task.status);
    this.attempt = h("span.attempt");
    this.note = h("span.note");
    this.took = h("span.took");
    this.fill = h("div.bar-fill");
    this.bar = h("div.bar", { role: "progressbar", "aria-label": `${task.kind} progress` }, this.fill);
    this.attempts = h("ol.attempts");
    this.text = new StreamedText(`${task.kind} output`);
    this.data = h("div.task-data", { hidden: true });
    this.outputText = h("pre");
    this.output = h("details.task-output", { hidden: true }, h("summary", {}, "output"), this.outputText);
    this.el = h(
      "article.task",
      { dataset: { task: task.id } },
      h("header.task-head", {}, h("span.task-kind", {}, task.kind), this.pill, this.attempt, this.note, h("span.spacer"), this.took),
      this.bar,
      this.attempts,
      this.text.el,
      this.data,
      this.output,
    );
  }

  update(task, now) {
    const ended = isTerminal(task.status) ? task.updatedAtMs : now;
    this.took.textContent = task.createdAtMs ? duration(ended - task.createdAtMs) : "";
    if (task !== this.task) this.render(task);
  }

  render(task) {
    this.task = task;
    this.el.dataset.status = task.status;
    setStatus(this.pill, task.willRetry ? "RETRYING" : task.status);
    const tries = task.maxRetries + 1;
    this.attempt.textContent = task.attempt ? `attempt ${task.attempt} of ${tries}` : `up to ${tries} attempts`;
    this.note.textContent = task.willRetry && task.error ? `failed: ${task.error}` : task.status === "FAILED" && task.error ? task.error : "";
    const progress = task.status === "COMPLETED" ? 1 : task.progress;
    this.bar.hidden = progress === null;
    if (progress !== null) {
      this.fill.style.width = `${Math.round(progress * 100)}%`;
      this.bar.setAttribute("aria-valuenow", String(Math.round(progress * 100)));
    }
    const history = task.attempts.filter((a) => a.attempt !== task.attempt || a.status === "FAILED");
    this.attempts.hidden = history.length === 0;
    this.attempts.replaceChildren(
      ...history.map((a) =>
        h(
          "li",
          {},
          `attempt ${a.attempt} `,
          statusPill(a.status, "small"),
          a.error ? ` ${a.error}` : "",
          a.attempt !== task.attempt && a.chars ? h("span.dropped", {}, ` (its ${a.chars} streamed characters were dropped)`) : "",
        ),
      ),
    );
    this.text.update(task.text, task.attempt);
    const data = task.data.length ? `data: ${JSON.stringify(task.data.at(-1))}${task.data.length > 1 ? ` (${task.data.length} values)` : ""}` : "";
    this.data.hidden = !data;
    this.data.textContent = data;
    // Output that is not just the streamed text again (a count, an object) is worth a look.
    const same = typeof task.output === "string" && task.output.trim() === task.text.trim();
    const output = task.status === "COMPLETED" && task.output !== null && !same ? show(task.output) : "";
    this.output.hidden = !output;
    if (this.outputText.textContent !== output) this.outputText.textContent = output;
  }
}

const TAIL = 20000;

/**
 * Streamed text that grows by appending and starts over when a new attempt begins. Only
 * the last TAIL characters stay in the page (laying out a huge text on every frame would
 * stall it); "show all" lifts the cap.
 */
export class StreamedText {
  constructor(label) {
    this.pre = h("pre.stream-text", { "aria-label": label, tabindex: 0 });
    this.more = h("button.link", { type: "button", onclick: () => this.showAll() }, "show all");
    this.note = h("p.hint.elided", { hidden: true }, h("span"), " ", this.more);
    this.el = h("div.streamed", { hidden: true }, this.note, this.pre);
    this.text = "";
    this.start = 0;
    this.length = 0;
    this.attempt = null;
    this.capped = true;
  }

  update(text, attempt = null) {
    this.text = text;
    if (attempt !== this.attempt || text.length < this.length) {
      this.attempt = attempt;
      this.redraw();
      return;
    }
    if (text.length === this.length) return;
    if (this.capped && text.length - this.start > TAIL * 1.5) {
      this.redraw();
      return;
    }
    const follow = this.atBottom();
    this.pre.append(text.slice(this.length));
    this.length = text.length;
    this.el.hidden = false;
    if (follow) this.pre.scrollTop = this.pre.scrollHeight;
  }

  showAll() {
    this.capped = false;
    this.redraw();
  }

  atBottom() {
    return this.pre.scrollHeight - this.pre.scrollTop - this.pre.clientHeight < 24;
  }

  redraw() {
    const follow = this.length === 0 || this.atBottom();
    this.start = this.capped ? Math.max(0, this.text.length - TAIL) : 0;
    this.pre.textContent = this.text.slice(this.start);
    this.length = this.text.length;
    this.note.hidden = this.start === 0;
    this.note.firstChild.textContent = `showing the last ${TAIL.toLocaleString()} of ${this.text.length.toLocaleString()} characters`;
    this.el.hidden = this.text.length === 0;
    if (follow) this.pre.scrollTop = this.pre.scrollHeight;
  }
}

/** The tasks of one execution, in creation order. */
class TaskList {
  constructor() {
    this.el = h("div.tasks");
    this.cards = new Map();
  }

  update(view, now) {
    for (const task of tasksOf(view)) {
      let card = this.cards.get(task.id);
      if (!card) {
        card = new TaskCard(task);
        this.cards.set(task.id, card);
        this.el.append(card.el);
      }
      card.update(task, now);
    }
  }
}

/** One execution's body: its own text and progress, its tasks, then its children. */
class ExecutionBody {
  constructor(label) {
    this.fill = h("div.bar-fill");
    this.percent = h("span");
    this.bar = h("div.bar", { role: "progressbar", "aria-label": `${label} progress` }, this.fill);
    this.progress = h("div.own-progress", { hidden: true }, h("span.bar-label", {}, `${label} progress `, this.percent), this.bar);
    this.text = new StreamedText(`${label} output`);
    this.tasks = new TaskList();
    this.children = h("div.children");
    this.sections = new Map();
    this.el = h("div.body", {}, this.progress, this.text.el, this.tasks.el, this.children);
  }

  update(state, view, now) {
    this.progress.hidden = view.progress === null;
    if (view.progress !== null) {
      this.fill.style.width = `${Math.round(view.progress * 100)}%`;
      this.percent.textContent = `${Math.round(view.progress * 100)}%`;
    }
    this.text.update(view.text);
    this.tasks.update(view, now);
    for (const child of childViews(state, view)) {
      let section = this.sections.get(child.id);
      if (!section) {
        section = new ChildSection(child);
        this.sections.set(child.id, section);
        this.children.append(section.el);
      }
      section.update(state, child, now);
    }
  }
}

/** A child workflow, nested under its parent. */
class ChildSection {
  constructor(child) {
    this.pill = statusPill(child.status);
    this.body = new ExecutionBody(`child ${child.kind}`);
    this.el = h(
      "section.child",
      { dataset: { child: child.id } },
      h(
        "header.child-head",
        {},
        h("span.badge", {}, "child workflow"),
        h("span.task-kind", {}, child.kind),
        this.pill,
        h("span.spacer"),
        h("a", { href: `#/wf/${child.id}`, title: "open this child on its own" }, idLabel(child.id)),
      ),
      this.body.el,
    );
  }

  update(state, child, now) {
    setStatus(this.pill, child.status);
    this.body.update(state, child, now);
  }
}

/** The tree of the streamed execution. */
export function createTree() {
  const body = new ExecutionBody("workflow");
  const empty = h("p.empty", {}, "Waiting for the first event…");
  const el = h("section.panel.tree", {}, h("h2", {}, "Tasks"), empty, body.el);
  return {
    el,
    update(state, now) {
      const root = state.executions[state.rootId];
      if (!root) return;
      empty.hidden = true;
      body.update(state, root, now);
    },
  };
}
