/**
 * The fold of a stream into view state — a pure reducer, used by the React hook and the
 * dashboard alike and testable without either.
 *
 * `foldEvents(state, events)` returns a new state that shares every object the events did
 * not touch, so a renderer can skip what kept its identity.
 *
 * Attribution: a native `token`/`progress`/`data`/`error` frame does not say which task
 * sent it. The fold credits it to the task of its log that is running when exactly one
 * is (sequential tasks, the common case), and to the execution itself otherwise. When a
 * task's next attempt starts, the text of the superseded attempt is dropped (its length
 * is kept on the attempt), so `text` is always what the current attempt has streamed.
 */
import { isLifecycle } from "./types.js";
const MAX_DATA = 100;
const MAX_TIMELINE = 5000;
const MAX_ERRORS = 500;
/** The state before any event. */
export function initialState(rootId) {
    return {
        rootId,
        executions: {},
        order: [],
        paths: { "0": rootId },
        timeline: [],
        errors: [],
        lastEventId: "",
        eventCount: 0,
        connection: "connecting",
        connectionError: null,
    };
}
/** The state after a connection status change. */
export function withConnection(state, connection, error) {
    const connectionError = error === undefined ? (connection === "open" ? null : state.connectionError) : describe(error);
    if (state.connection === connection && state.connectionError === connectionError)
        return state;
    return { ...state, connection, connectionError };
}
/** The state after one event. */
export function foldEvent(state, event) {
    return foldEvents(state, [event]);
}
/** The state after a batch of events (each object touched is copied once per batch). */
export function foldEvents(state, events) {
    if (events.length === 0)
        return state;
    const draft = new Draft(state);
    for (const event of events)
        draft.apply(event);
    return draft.state;
}
/** The streamed execution's view, once its first event arrived. */
export function rootView(state) {
    return state.executions[state.rootId];
}
/** An execution's tasks in creation order. */
export function tasksOf(view) {
    return view.taskOrder.map((id) => view.tasks[id]).filter((t) => t !== undefined);
}
/** An execution's promises still waiting to be settled. */
export function pendingPromises(view) {
    return Object.values(view.promises).filter((p) => p.status === "PENDING");
}
/** The views of an execution's children that the stream has reached. */
export function childViews(state, view) {
    return view.childOrder
        .map((id) => state.executions[id])
        .filter((v) => v !== undefined);
}
function describe(error) {
    return error instanceof Error ? error.message : String(error);
}
function emptyExecution(id, path) {
    return {
        id,
        path,
        kind: "",
        status: "PENDING",
        parentId: null,
        workerId: null,
        error: null,
        output: null,
        suspendType: null,
        cancelRequested: false,
        createdAtMs: null,
        updatedAtMs: null,
        tasks: {},
        taskOrder: [],
        running: [],
        timers: {},
        promises: {},
        children: {},
        childOrder: [],
        state: {},
        operations: {},
        messages: { received: 0, consumed: 0 },
        text: "",
        progress: null,
        data: [],
    };
}
function emptyTask(id, kind) {
    return {
        id,
        kind,
        status: "PENDING",
        attempt: 0,
        maxRetries: 0,
        workerId: null,
        error: null,
        willRetry: false,
        attempts: [],
        text: "",
        progress: null,
        data: [],
        output: null,
        createdAtMs: null,
        updatedAtMs: null,
    };
}
function capped(items, max) {
    return items.length > max ? items.slice(items.length - max) : items;
}
/** Copy-on-write over one batch: everything it hands out may be mutated. */
class Draft {
    state;
    fresh = new WeakSet();
    constructor(base) {
        this.state = this.own(base);
    }
    apply(event) {
        const s = this.state;
        s.lastEventId = event.id;
        s.eventCount++;
        const path = event.source.path;
        if (isLifecycle(event) && event.type.startsWith("WORKFLOW_")) {
            const id = event.data.id;
            if (s.paths[path] !== id)
                s.paths = { ...s.paths, [path]: id };
        }
        const view = this.execution(s.paths[path] ?? `path:${path}`, path);
        view.updatedAtMs = "timestampMs" in event ? event.timestampMs : view.updatedAtMs;
        switch (event.type) {
            case "token":
                this.stream(view, (owner) => (owner.text += event.data));
                return;
            case "progress":
                this.stream(view, (owner) => (owner.progress = event.data));
                return;
            case "data":
                this.stream(view, (owner) => (owner.data = capped([...owner.data, event.data], MAX_DATA)));
                return;
            case "error": {
                const task = this.streamingTask(view);
                this.error(view.id, task?.id ?? null, task?.attempt ?? null, event.data);
                return;
            }
        }
        this.timeline(view.id, event);
        switch (event.type) {
            case "WORKFLOW_CREATED":
            case "WORKFLOW_STARTED":
            case "WORKFLOW_SUSPENDED":
            case "WORKFLOW_RESUMED":
            case "WORKFLOW_COMPLETED":
            case "WORKFLOW_FAILED":
            case "WORKFLOW_CANCELLED": {
                const d = event.data;
                view.kind = d.kind;
                view.status = d.status;
                view.parentId = d.parentWorkflowExecutionId;
                view.workerId = d.workerId;
                view.suspendType = event.type === "WORKFLOW_SUSPENDED" ? (d.suspendType ?? null) : null;
                view.createdAtMs ??= event.timestampMs;
                if (d.error)
                    view.error = d.error;
                if ("output" in d)
                    view.output = d.output;
                if (event.type === "WORKFLOW_FAILED" && d.error)
                    this.error(view.id, null, null, d.error);
                return;
            }
            case "TASK_CREATED":
            case "TASK_STARTED":
            case "TASK_COMPLETED":
            case "TASK_FAILED":
            case "TASK_CANCELLED":
                this.task(view, event.type, event.data, event.timestampMs);
                return;
            case "TIMER_STARTED":
            case "TIMER_FIRED":
            case "TIMER_CANCELLED": {
                const { timerId, fireAtMs } = event.data;
                const before = view.timers[timerId];
                const status = event.type === "TIMER_STARTED" ? "STARTED" : event.type === "TIMER_FIRED" ? "FIRED" : "CANCELLED";
                view.timers = { ...view.timers, [timerId]: { timerId, status, fireAtMs: fireAtMs ?? before?.fireAtMs ?? null } };
                return;
            }
            case "PROMISE_CREATED":
            case "PROMISE_RESOLVED":
            case "PROMISE_REJECTED": {
                const { promiseId } = event.data;
                const before = view.promises[promiseId];
                const status = event.type === "PROMISE_CREATED" ? "PENDING" : event.type === "PROMISE_RESOLVED" ? "RESOLVED" : "REJECTED";
                view.promises = {
                    ...view.promises,
                    [promiseId]: {
                        promiseId,
                        status,
                        result: event.data.result ?? before?.result ?? null,
                        error: event.data.error ?? null,
                        createdAtMs: before?.createdAtMs ?? event.timestampMs,
                    },
                };
                return;
            }
            case "CHILD_WORKFLOW_INITIATED":
            case "CHILD_WORKFLOW_STARTED":
            case "CHILD_WORKFLOW_COMPLETED":
            case "CHILD_WORKFLOW_FAILED":
            case "CHILD_WORKFLOW_CANCELLATION_REQUESTED":
            case "CHILD_WORKFLOW_CANCELLATION_FAILED": {
                const d = event.data;
                if (!(d.childWorkflowId in view.children))
                    view.childOrder = [...view.childOrder, d.childWorkflowId];
                const before = view.children[d.childWorkflowId];
                view.children = {
                    ...view.children,
                    [d.childWorkflowId]: {
                        childWorkflowId: d.childWorkflowId,
                        kind: d.kind,
                        status: d.status ?? before?.status ?? null,
                        error: d.error ?? before?.error ?? null,
                    },
                };
                return;
            }
            case "OPERATION_COMPLETED":
                view.operations = { ...view.operations, [event.data.operationId]: event.data.result };
                return;
            case "CANCELLATION_REQUESTED":
                view.cancelRequested = true;
                return;
            case "RETRY_REQUESTED":
                // A manual retry reopens a failed execution; the new run's events follow.
                if (event.data.targetId === view.id) {
                    view.status = "RUNNING";
                    view.error = null;
                    view.output = null;
                }
                return;
            case "STATE_SET":
                view.state = { ...view.state, [event.data.key]: event.data.value ?? null };
                return;
            case "STATE_CLEARED": {
                const rest = { ...view.state };
                delete rest[event.data.key];
                view.state = rest;
                return;
            }
            case "MESSAGE_RECEIVED":
                view.messages = { ...view.messages, received: view.messages.received + 1 };
                return;
            case "MESSAGE_CONSUMED":
                view.messages = { ...view.messages, consumed: view.messages.consumed + 1 };
                return;
        }
    }
    task(view, type, d, ts) {
        if (!(d.id in view.tasks))
            view.taskOrder = [...view.taskOrder, d.id];
        const task = this.ownTask(view, d.id, d.kind);
        const attempt = d.executionCount;
        task.kind = d.kind;
        task.maxRetries = d.maxRetries;
        task.workerId = d.workerId;
        task.createdAtMs ??= ts;
        task.updatedAtMs = ts;
        if (type === "TASK_STARTED") {
            if (attempt > task.attempt) {
                // A new attempt supersedes the last one: its partial output no longer counts.
                task.text = "";
                task.progress = null;
                task.data = [];
            }
            task.attempt = attempt;
            task.status = "RUNNING";
            task.error = null;
            task.willRetry = false;
            this.setAttempt(task, attempt, { status: "RUNNING", startedAtMs: ts, endedAtMs: null, error: null });
            if (!view.running.includes(d.id))
                view.running = [...view.running, d.id];
        }
        else if (type !== "TASK_CREATED") {
            const willRetry = type === "TASK_FAILED" && Boolean(d.willRetry);
            task.status = type === "TASK_COMPLETED" ? "COMPLETED" : type === "TASK_CANCELLED" ? "CANCELLED" : willRetry ? "PENDING" : "FAILED";
            task.error = d.error;
            task.willRetry = willRetry;
            if (type === "TASK_COMPLETED") {
                task.output = d.output ?? null;
                if (task.progress !== null)
                    task.progress = 1;
            }
            const outcome = type === "TASK_COMPLETED" ? "COMPLETED" : type === "TASK_CANCELLED" ? "CANCELLED" : "FAILED";
            if (attempt > 0)
                this.setAttempt(task, attempt, { status: outcome, endedAtMs: ts, error: d.error });
            view.running = view.running.filter((id) => id !== d.id);
            if (type === "TASK_FAILED" && d.error)
                this.error(view.id, d.id, attempt || null, d.error);
        }
        if (d.id === view.id) {
            // A standalone task's log: the task is the execution.
            view.kind = d.kind;
            view.status = task.status;
            view.error = task.error;
            view.createdAtMs ??= ts;
        }
    }
    setAttempt(task, attempt, fields) {
        const index = task.attempts.findIndex((a) => a.attempt === attempt);
        const before = index >= 0
            ? task.attempts[index]
            : { attempt, status: "RUNNING", error: null, startedAtMs: null, endedAtMs: null, chars: 0 };
        const next = { ...before, ...fields };
        if (next.status !== "RUNNING")
            next.chars = Math.max(next.chars, task.attempt === attempt ? task.text.length : next.chars);
        task.attempts = index >= 0
            ? task.attempts.map((a, i) => (i === index ? next : a))
            : [...task.attempts, next].sort((a, b) => a.attempt - b.attempt);
    }
    /** Credit streamed output to the one running task of the log, else to the execution. */
    stream(view, update) {
        const task = this.streamingTask(view);
        update(task ?? view);
    }
    streamingTask(view) {
        if (view.running.length !== 1)
            return null;
        const id = view.running[0];
        const base = view.tasks[id];
        return base ? this.ownTask(view, id, base.kind) : null;
    }
    error(executionId, taskId, attempt, message) {
        this.state.errors = capped([...this.state.errors, { executionId, taskId, attempt, message }], MAX_ERRORS);
    }
    timeline(executionId, event) {
        const entry = {
            id: event.id,
            executionId,
            type: event.type,
            data: event.data,
            timestampMs: "timestampMs" in event ? event.timestampMs : null,
        };
        this.state.timeline = capped([...this.state.timeline, entry], MAX_TIMELINE);
    }
    execution(id, path) {
        const s = this.state;
        const base = s.executions[id];
        if (base && this.fresh.has(base))
            return base;
        const view = this.own(base ?? emptyExecution(id, path));
        if (!base)
            s.order = [...s.order, id];
        s.executions = this.fresh.has(s.executions) ? s.executions : this.own({ ...s.executions });
        s.executions[id] = view;
        return view;
    }
    ownTask(view, id, kind) {
        const base = view.tasks[id];
        if (base && this.fresh.has(base))
            return base;
        const task = this.own(base ?? emptyTask(id, kind));
        view.tasks = this.fresh.has(view.tasks) ? view.tasks : this.own({ ...view.tasks });
        view.tasks[id] = task;
        return task;
    }
    own(value) {
        const copy = { ...value };
        this.fresh.add(copy);
        return copy;
    }
}
