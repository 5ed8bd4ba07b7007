/**
 * The native API's types (seed 003, SPEC §3 and §7.1): lifecycle events and their data,
 * the SSE event kinds, snapshots, and the type guards that tell them apart.
 */

/** Status of an execution or a task. */
export type Status = "PENDING" | "RUNNING" | "WAITING" | "COMPLETED" | "FAILED" | "CANCELLED";

/** Statuses an execution never leaves. */
export const TERMINAL_STATUSES: readonly Status[] = ["COMPLETED", "FAILED", "CANCELLED"];

/** The `event:` field of an SSE frame. */
export type SSEEventType = "token" | "progress" | "data" | "error";

/** Every SSE event kind, in the order the docs list them. */
export const SSE_EVENT_TYPES: readonly SSEEventType[] = ["token", "progress", "data", "error"];

export const WORKFLOW_EVENTS = [
  "WORKFLOW_CREATED",
  "WORKFLOW_STARTED",
  "WORKFLOW_COMPLETED",
  "WORKFLOW_FAILED",
  "WORKFLOW_SUSPENDED",
  "WORKFLOW_RESUMED",
  "WORKFLOW_CANCELLED",
] as const;
export const TASK_EVENTS = [
  "TASK_CREATED",
  "TASK_STARTED",
  "TASK_COMPLETED",
  "TASK_FAILED",
  "TASK_CANCELLED",
] as const;
export const TIMER_EVENTS = ["TIMER_STARTED", "TIMER_FIRED", "TIMER_CANCELLED"] as const;
export const PROMISE_EVENTS = ["PROMISE_CREATED", "PROMISE_RESOLVED", "PROMISE_REJECTED"] as const;
export const CHILD_WORKFLOW_EVENTS = [
  "CHILD_WORKFLOW_INITIATED",
  "CHILD_WORKFLOW_STARTED",
  "CHILD_WORKFLOW_COMPLETED",
  "CHILD_WORKFLOW_FAILED",
  "CHILD_WORKFLOW_CANCELLATION_REQUESTED",
  "CHILD_WORKFLOW_CANCELLATION_FAILED",
] as const;
export const STATE_STORAGE_EVENTS = ["STATE_SET", "STATE_CLEARED"] as const;

export type WorkflowEvent = (typeof WORKFLOW_EVENTS)[number];
export type TaskEvent = (typeof TASK_EVENTS)[number];
export type TimerEvent = (typeof TIMER_EVENTS)[number];
export type PromiseEvent = (typeof PROMISE_EVENTS)[number];
export type ChildWorkflowEvent = (typeof CHILD_WORKFLOW_EVENTS)[number];
export type StateStorageEvent = (typeof STATE_STORAGE_EVENTS)[number];

/** Every lifecycle event name (seed 003 calls this `StateEvent`). */
export type StateEvent =
  | WorkflowEvent
  | TaskEvent
  | TimerEvent
  | PromiseEvent
  | ChildWorkflowEvent
  | "OPERATION_COMPLETED"
  | "CANCELLATION_REQUESTED"
  | StateStorageEvent
  | "RETRY_REQUESTED";

/** Every lifecycle event name, grouped as above. */
export const STATE_EVENTS: readonly StateEvent[] = [
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

/** Data of `WORKFLOW_*` events. */
export interface WorkflowSnapshot {
  id: string;
  kind: string;
  status: Status;
  workerId: string | null;
  error: string | null;
  parentWorkflowExecutionId: string | null;
  /** What the workflow waits on (`WORKFLOW_SUSPENDED` only). */
  suspendType?: string | null;
  /** The return value (terminal events only). */
  output?: unknown;
}

/** Data of `TASK_*` events. */
export interface TaskSnapshot {
  id: string;
  kind: string;
  status: Status;
  /** The attempt this event concerns, from 1 (0 before the first start). */
  executionCount: number;
  maxRetries: number;
  workerId: string | null;
  error: string | null;
  /** On `TASK_FAILED`: another attempt follows. */
  willRetry?: boolean;
  /** The return value (`TASK_COMPLETED` only). */
  output?: unknown;
}

/** Data of `TIMER_*` events. */
export interface TimerSnapshot {
  timerId: string;
  /** When the timer fires (`TIMER_STARTED` only), epoch ms. */
  fireAtMs?: number | null;
}

/** Data of `PROMISE_*` events. */
export interface PromiseSnapshot {
  promiseId: string;
  /** The value (`PROMISE_RESOLVED` only): any JSON value. */
  result?: unknown;
  /** Why (`PROMISE_REJECTED` only). */
  error?: string | null;
}

/** Data of `CHILD_WORKFLOW_*` events. */
export interface ChildWorkflowSnapshot {
  childWorkflowId: string;
  kind: string;
  status: Status | null;
  error: string | null;
}

/** Data of `OPERATION_COMPLETED`. */
export interface OperationSnapshot {
  operationId: string;
  result: unknown;
}

/** Data of `CANCELLATION_REQUESTED`. */
export interface CancellationSnapshot {
  workflowExecutionId: string;
  reason: string | null;
}

/** Data of `STATE_SET` and `STATE_CLEARED`. */
export interface StateSnapshot {
  key: string;
  /** The new value (`STATE_SET` only): any JSON value. */
  value?: unknown;
}

/** Data of `RETRY_REQUESTED`. */
export interface RetrySnapshot {
  targetId: string;
  targetType: string;
  attempt: number | null;
  /** Why, as given to `POST …/retry`. */
  reason?: string | null;
}

/** The data each lifecycle event carries. */
export interface EventDataMap {
  WORKFLOW_CREATED: WorkflowSnapshot;
  WORKFLOW_STARTED: WorkflowSnapshot;
  WORKFLOW_COMPLETED: WorkflowSnapshot;
  WORKFLOW_FAILED: WorkflowSnapshot;
  WORKFLOW_SUSPENDED: WorkflowSnapshot;
  WORKFLOW_RESUMED: WorkflowSnapshot;
  WORKFLOW_CANCELLED: WorkflowSnapshot;
  TASK_CREATED: TaskSnapshot;
  TASK_STARTED: TaskSnapshot;
  TASK_COMPLETED: TaskSnapshot;
  TASK_FAILED: TaskSnapshot;
  TASK_CANCELLED: TaskSnapshot;
  TIMER_STARTED: TimerSnapshot;
  TIMER_FIRED: TimerSnapshot;
  TIMER_CANCELLED: TimerSnapshot;
  PROMISE_CREATED: PromiseSnapshot;
  PROMISE_RESOLVED: PromiseSnapshot;
  PROMISE_REJECTED: PromiseSnapshot;
  CHILD_WORKFLOW_INITIATED: ChildWorkflowSnapshot;
  CHILD_WORKFLOW_STARTED: ChildWorkflowSnapshot;
  CHILD_WORKFLOW_COMPLETED: ChildWorkflowSnapshot;
  CHILD_WORKFLOW_FAILED: ChildWorkflowSnapshot;
  CHILD_WORKFLOW_CANCELLATION_REQUESTED: ChildWorkflowSnapshot;
  CHILD_WORKFLOW_CANCELLATION_FAILED: ChildWorkflowSnapshot;
  OPERATION_COMPLETED: OperationSnapshot;
  CANCELLATION_REQUESTED: CancellationSnapshot;
  STATE_SET: StateSnapshot;
  STATE_CLEARED: StateSnapshot;
  RETRY_REQUESTED: RetrySnapshot;
}

/** The JSON of a lifecycle `data` frame, narrowed by `event`. */
export type StateEventPayload = {
  [E in StateEvent]: { type: "Event"; event: E; data: EventDataMap[E]; timestampMs: number };
}[StateEvent];

/** Agent and message events: `data` frames whose JSON has one of these as `type`. */
export type TaggedEvent =
  | "agent_start"
  | "tool_call"
  | "tool_result"
  | "structured_delta"
  | "usage"
  | "MESSAGE_RECEIVED"
  | "MESSAGE_CONSUMED";

export const TAGGED_EVENTS: readonly TaggedEvent[] = [
  "agent_start",
  "tool_call",
  "tool_result",
  "structured_delta",
  "usage",
  "MESSAGE_RECEIVED",
  "MESSAGE_CONSUMED",
];

/** Where an event sits: the log it belongs to and its seq there. */
export interface EventOrigin {
  /** The log's path: `0` for the stream's own execution, `0.1` for its second child, … */
  path: string;
  /** The event's seq in that log. */
  seq: number;
}

interface Base {
  /** The SSE id: a seq, or an opaque cursor on a consolidated stream. Resume after it. */
  id: string;
  /** Which log the event comes from (consolidated streams merge several). */
  source: EventOrigin;
}

/** A lifecycle event, narrowed by `type`. */
export type LifecycleStreamEvent = {
  [E in StateEvent]: Base & { type: E; data: EventDataMap[E]; timestampMs: number };
}[StateEvent];

/** A streamed text chunk. */
export interface TokenStreamEvent extends Base {
  type: "token";
  data: string;
}

/** A progress value in [0, 1]. */
export interface ProgressStreamEvent extends Base {
  type: "progress";
  data: number;
}

/** An error message reported by code (the execution goes on). */
export interface ErrorStreamEvent extends Base {
  type: "error";
  data: string;
}

/** A JSON value emitted by code with `ctx.data(…)`. */
export interface DataStreamEvent extends Base {
  type: "data";
  data: unknown;
}

/** An agent or message event: its fields without `type`. */
export interface TaggedStreamEvent extends Base {
  type: TaggedEvent;
  data: Record<string, unknown>;
}

/** One decoded frame of a native stream. */
export type StreamEvent =
  | LifecycleStreamEvent
  | TokenStreamEvent
  | ProgressStreamEvent
  | ErrorStreamEvent
  | DataStreamEvent
  | TaggedStreamEvent;

/** A task as listed in a snapshot. */
export interface SnapshotTask {
  id: string;
  kind: string;
  status: Status;
  executionCount: number;
  maxRetries: number;
  workerId: string | null;
  error: string | null;
}

/** A promise as listed in a snapshot. */
export interface SnapshotPromise {
  promiseId: string;
  status: "PENDING" | "RESOLVED" | "REJECTED";
  result: unknown;
  error: string | null;
}

/** A child workflow as listed in a snapshot. */
export interface SnapshotChild {
  childWorkflowId: string;
  kind: string;
  status: Status;
}

/** What a listing holds of an execution: no input, output or detail (`get` has them). */
export interface ExecutionSummary {
  id: string;
  kind: string;
  type: "workflow" | "task";
  org: string;
  status: Status;
  error: string | null;
  parentWorkflowExecutionId: string | null;
  createdAtMs: number;
  updatedAtMs: number;
  /** Seq of the newest event; resume a stream from here. */
  lastEventId: number;
  cancelRequested: boolean;
}

/** What `GET …/{id}` answers: the state of an execution. */
export interface ExecutionSnapshot extends ExecutionSummary {
  input: unknown;
  output: unknown;
  tasks: SnapshotTask[];
  state: Record<string, unknown>;
  promises: SnapshotPromise[];
  children: SnapshotChild[];
}

/** One page of a listing, newest first. */
export interface ExecutionPage {
  items: ExecutionSummary[];
  /** Pass as `cursor` for the next page. */
  nextCursor: string | null;
}

/** One stored event, as the events page has it (every field, unlike a frame). */
export interface StoredEvent {
  executionId: string;
  seq: number;
  type: string;
  ts: number;
  data: unknown;
  taskId: string | null;
  attempt: number | null;
}

/** What `GET …/{id}/events` answers. */
export interface EventPage {
  items: StoredEvent[];
  nextAfter: number;
  hasMore: boolean;
}

/** A registered workflow or task. */
export interface KindInfo {
  name: string;
  /** The function's docstring, first paragraph; empty when it has none. */
  description: string;
}

/** What `GET /api/orgs/{org}/kinds` answers: what the server's app can run. */
export interface Kinds {
  workflows: KindInfo[];
  tasks: KindInfo[];
}

// Seed 003's type guards.

/** True for the JSON of a lifecycle `data` frame (`{"type": "Event", …}`). */
export function isStateEvent(payload: unknown): payload is StateEventPayload {
  return (
    typeof payload === "object" &&
    payload !== null &&
    "type" in payload &&
    payload.type === "Event" &&
    "event" in payload &&
    typeof payload.event === "string" &&
    "data" in payload
  );
}

export function isWorkflowEvent(event: string): event is WorkflowEvent {
  return event.startsWith("WORKFLOW_");
}

export function isTaskEvent(event: string): event is TaskEvent {
  return event.startsWith("TASK_");
}

export function isTimerEvent(event: string): event is TimerEvent {
  return event.startsWith("TIMER_");
}

export function isPromiseEvent(event: string): event is PromiseEvent {
  return event.startsWith("PROMISE_");
}

export function isChildWorkflowEvent(event: string): event is ChildWorkflowEvent {
  return event.startsWith("CHILD_WORKFLOW_");
}

export function isOperationEvent(event: string): event is "OPERATION_COMPLETED" {
  return event === "OPERATION_COMPLETED";
}

export function isCancellationEvent(event: string): event is "CANCELLATION_REQUESTED" {
  return event === "CANCELLATION_REQUESTED";
}

export function isStateStorageEvent(event: string): event is StateStorageEvent {
  return event.startsWith("STATE_");
}

export function isRetryEvent(event: string): event is "RETRY_REQUESTED" {
  return event === "RETRY_REQUESTED";
}

const LIFECYCLE = new Set<string>(STATE_EVENTS);

/** True for a decoded lifecycle event; narrows `data` by `type` afterwards. */
export function isLifecycle(event: StreamEvent): event is LifecycleStreamEvent {
  return LIFECYCLE.has(event.type);
}

/** True when a status is final. */
export function isTerminalStatus(status: string | null | undefined): boolean {
  return status === "COMPLETED" || status === "FAILED" || status === "CANCELLED";
}

/**
 * True when `event` ends the log of execution `executionId`: its terminal workflow event,
 * or, for a standalone task, its last `TASK_*` (a failure that will be retried is not).
 */
export function endsExecution(event: StreamEvent, executionId: string): boolean {
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
