// A React component that shows one workflow live: status, tasks with their attempts and
// streamed text, and children — everything comes from `useExecutionStream`.

import { childViews, type ExecutionView as View, type StreamState, tasksOf } from "runstream";
import { useExecutionStream } from "runstream/react";

export function ExecutionView({ id, baseUrl }: { id: string; baseUrl?: string }) {
  const state = useExecutionStream("default", id, baseUrl ? { baseUrl } : {});
  const root = state.executions[state.rootId];
  if (!root) return <p>connecting…</p>;
  return (
    <section>
      <h1>
        {root.kind} <span className="status">{root.status}</span> <small>{state.connection}</small>
      </h1>
      <Execution state={state} view={root} />
      {state.errors.map((e, i) => (
        <p key={i} className="error">{e.message}</p>
      ))}
    </section>
  );
}

function Execution({ state, view }: { state: StreamState; view: View }) {
  return (
    <>
      {tasksOf(view).map((task) => (
        <article key={task.id}>
          <h2>
            {task.kind} <span className="status">{task.status}</span> attempt {task.attempt} of{" "}
            {task.maxRetries + 1}
          </h2>
          {task.progress !== null && <progress value={task.progress} />}
          <pre>{task.text}</pre>
        </article>
      ))}
      {childViews(state, view).map((child) => (
        <section key={child.id} className="child">
          <h2>
            child {child.kind} <span className="status">{child.status}</span>
          </h2>
          <Execution state={state} view={child} />
        </section>
      ))}
    </>
  );
}
