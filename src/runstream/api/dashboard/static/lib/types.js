/**
 * The native API's types (seed 003, SPEC §3 and §7.1): lifecycle events and their data,
 * the SSE event kinds, snapshots, and the type guards that tell them apart.
 */
/** Statuses an execution never leaves. */
export const TERMINAL_STATUSES = ["COMPLETED", "FAILED", "CANCELLED"];
/** Every SSE event kind, in the order the docs list them. */
export const SSE_EVENT_TYPES = ["token", "progress", "data", "error"];
export const WORKFLOW_EVENTS = [
    "WORKFLOW_CREATED",
    "WORKFLOW_STARTED",
    "WORKFLOW_COMPLETED",
    "WORKFLOW_FAILED",
    "WORKFLOW_SUSPENDED",
    "WORKFLOW_RESUMED",
    "WORKFLOW_CANCELLED",
];
export const TASK_EVENTS = [
    "TASK_CREATED",
    "TASK_STARTED",
    "TASK_COMPLETED",
    "TASK_FAILED",
    "TASK_CANCELLED",
];
export const TIMER_EVENTS = ["TIMER_STARTED", "TIMER_FIRED", "TIMER_CANCELLED"];
export const PROMISE_EVENTS = ["PROMISE_CREATED", "PROMISE_RESOLVED", "PROMISE_REJECTED"];
export const CHILD_WORKFLOW_EVENTS = [
    "CHILD_WORKFLOW_INITIATED",
    "CHILD_WORKFLOW_STARTED",
    "CHILD_WORKFLOW_COMPLETED",
    "CHILD_WORKFLOW_FAILED",
    "CHILD_WORKFLOW_CANCELLATION_REQUESTED",
    "CHILD_WORKFLOW_CANCELLATION_FAILED",
];
export const STATE_STORAGE_EVENTS = ["STATE_SET", "STATE_CLEARED"];
/** Every lifecycle event name, grouped as above. */
export const STATE_EVENTS = [
    ...WORKFLOW_EVENTS,
    ...TASK_EVENTS,
    ...TIMER_EVENTS,
    ...PROMISE_EVENTS,
    ...CHILD_WORKFLOW_EVENTS,
    "OPERATION_COMPLETED",
    "CANCELLATION_REQUESTED",
    ...STATE_STORAGE_EVENTS,
    "RETRY_REQUESTED",
];
export const TAGGED_EVENTS = [
    "agent_start",
    "tool_call",
    "tool_result",
    "structured_delta",
    "usage",
    "MESSAGE_RECEIVED",
    "MESSAGE_CONSUMED",
];
// Seed 003's type guards.
/** True for the JSON of a lifecycle `data` frame (`{"type": "Event", …}`). */
export function isStateEvent(payload) {
    return (typeof payload === "object" &&
        payload !== null &&
        "type" in payload &&
        payload.type === "Event" &&
        "event" in payload &&
        typeof payload.event === "string" &&
        "data" in payload);
}
export function isWorkflowEvent(event) {
    return event.startsWith("WORKFLOW_");
}
export function isTaskEvent(event) {
    return event.startsWith("TASK_");
}
export function isTimerEvent(event) {
    return event.startsWith("TIMER_");
}
export function isPromiseEvent(event) {
    return event.startsWith("PROMISE_");
}
export function isChildWorkflowEvent(event) {
    return event.startsWith("CHILD_WORKFLOW_");
}
export function isOperationEvent(event) {
    return event === "OPERATION_COMPLETED";
}
export function isCancellationEvent(event) {
    return event === "CANCELLATION_REQUESTED";
}
export function isStateStorageEvent(event) {
    return event.startsWith("STATE_");
}
export function isRetryEvent(event) {
    return event === "RETRY_REQUESTED";
}
const LIFECYCLE = new Set(STATE_EVENTS);
/** True for a decoded lifecycle event; narrows `data` by `type` afterwards. */
export function isLifecycle(event) {
    return LIFECYCLE.has(event.type);
}
/** True when a status is final. */
export function isTerminalStatus(status) {
    return status === "COMPLETED" || status === "FAILED" || status === "CANCELLED";
}
/**
 * True when `event` ends the log of execution `executionId`: its terminal workflow event,
 * or, for a standalone task, its last `TASK_*` (a failure that will be retried is not).
 */
export function endsExecution(event, executionId) {
    switch (event.type) {
        case "WORKFLOW_COMPLETED":
        case "WORKFLOW_FAILED":
        case "WORKFLOW_CANCELLED":
        case "TASK_COMPLETED":
        case "TASK_CANCELLED":
            return event.data.id === executionId;
        case "TASK_FAILED":
            return event.data.id === executionId && !event.data.willRetry;
        default:
            return false;
    }
}
