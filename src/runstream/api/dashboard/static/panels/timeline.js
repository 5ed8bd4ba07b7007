// The timeline: every lifecycle event in log order, with its time since the first.

import { h, show } from "../dom.js";

const SHOWN = 400;

function detail(entry, state) {
  const d = entry.data ?? {};
  const view = state.executions[entry.executionId];
  const where = entry.executionId !== state.rootId && view ? `child ${view.kind}: ` : "";
  const type = entry.type;
  if (type.startsWith("TASK_")) {
    const attempt = d.executionCount ? ` · attempt ${d.executionCount}` : "";
    const error = d.error ? ` · ${d.error}${d.willRetry ? " (will retry)" : ""}` : "";
    return `${where}${d.kind}${attempt}${error}`;
  }
  if (type.startsWith("WORKFLOW_")) return `${where ? where.slice(0, -2) : d.kind}${d.suspendType ? ` · waits on ${d.suspendType}` : ""}${d.error ? ` · ${d.error}` : ""}`;
  if (type.startsWith("CHILD_WORKFLOW_")) return `${where}${d.kind}`;
  if (type === "STATE_SET") return `${where}${d.key} = ${show(d.value)}`;
  if (type === "STATE_CLEARED") return `${where}${d.key}`;
  if (type.startsWith("PROMISE_")) return `${where}${d.promiseId}${type === "PROMISE_RESOLVED" ? ` = ${show(d.result)}` : d.error ? ` · ${d.error}` : ""}`;
  if (type.startsWith("TIMER_")) return `${where}${d.timerId}`;
  if (type === "OPERATION_COMPLETED") return `${where}${d.operationId}`;
  if (type === "CANCELLATION_REQUESTED") return `${where}${d.reason ?? ""}`;
  if (type === "RETRY_REQUESTED") return `${where}manual retry ${d.attempt ?? ""}${d.reason ? ` · ${d.reason}` : ""}`;
  return where + (typeof d === "object" ? Object.values(d).map((v) => show(v)).join(" · ") : show(d));
}

export function createTimeline() {
  const list = h("ol.timeline");
  const el = h("section.panel.timeline-panel", {}, h("h2", {}, "Timeline"), list);
  let rendered = 0;
  let first = null;
  let origin = null;

  return {
    el,
    update(state) {
      const entries = state.timeline;
      if (entries.length < rendered || (entries.length && entries[0] !== first)) {
        list.replaceChildren();
        rendered = 0;
      }
      if (entries.length === rendered) return;
      first = entries[0];
      origin ??= first.timestampMs;
      const follow = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
      const start = Math.max(rendered, entries.length - SHOWN);
      for (const entry of entries.slice(start)) {
        const offset = entry.timestampMs && origin ? `+${((entry.timestampMs - origin) / 1000).toFixed(2)}s` : "";
        list.append(
          h(
            "li",
            { dataset: { type: entry.type } },
            h("span.offset", {}, offset),
            h("span.event", {}, entry.type),
            h("span.detail", {}, detail(entry, state)),
          ),
        );
      }
      while (list.childElementCount > SHOWN) list.firstElementChild.remove();
      rendered = entries.length;
      if (follow) list.scrollTop = list.scrollHeight;
    },
  };
}
