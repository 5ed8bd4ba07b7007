/**
 * `RunstreamClient`: typed calls of the native API (start, get, list, cancel, messages,
 * promises) and its resumable streams, for browsers and Node.
 */

import { errorFromResponse } from "./errors.js";
import { ExecutionStream, type StreamOptions } from "./stream.js";
import type { EventPage, ExecutionPage, ExecutionSnapshot, Kinds, Status } from "./types.js";

/** Workflow executions or standalone task executions. */
export type ExecutionType = "workflow" | "task";

/** Options of `RunstreamClient`. */
export interface ClientOptions {
  /** Server URL, e.g. `http://127.0.0.1:8000`; `""` (default) for the page's own origin. */
  baseUrl?: string;
  /** Organisation (`default`). */
  org?: string;
  /** An API key, sent as `Authorization: Bearer …` (streams then use `fetch`). */
  apiKey?: string;
  /** A scoped stream token: `?token=` on streams (works with `EventSource`), Bearer elsewhere. */
  token?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Filters and paging of a listing. */
export interface ListOptions {
  type?: ExecutionType;
  status?: Status;
  kind?: string;
  /** Page size, 1–500 (50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Options of the `stream*` calls. */
export interface ClientStreamOptions extends Omit<StreamOptions, "fetch" | "token" | "headers"> {
  type?: ExecutionType;
}

const SEGMENT: Record<ExecutionType, string> = {
  workflow: "workflow-executions",
  task: "task-executions",
};

/** The native HTTP API of one runstream server, for one organisation. */
export class RunstreamClient {
  /** The organisation every call acts in. */
  readonly org: string;
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.org = options.org ?? "default";
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const bearer = options.apiKey ?? options.token;
    this.headers = {
      ...options.headers,
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
    };
  }

  /** Start a workflow; its snapshot. */
  startWorkflow(kind: string, input?: unknown): Promise<ExecutionSnapshot> {
    return this.call("POST", this.path("workflow"), { kind, input: input ?? null });
  }

  /** Start a standalone task; its snapshot. */
  startTask(kind: string, input?: unknown): Promise<ExecutionSnapshot> {
    return this.call("POST", this.path("task"), { kind, input: input ?? null });
  }

  /** An execution's snapshot: status, tasks, state, promises, children. */
  get(id: string, type: ExecutionType = "workflow"): Promise<ExecutionSnapshot> {
    return this.call("GET", this.path(type, id));
  }

  /** One page of executions, newest first. */
  list(options: ListOptions = {}): Promise<ExecutionPage> {
    const query = new URLSearchParams();
    if (options.status) query.set("status", options.status);
    if (options.kind) query.set("kind", options.kind);
    if (options.limit) query.set("limit", String(options.limit));
    if (options.cursor) query.set("cursor", options.cursor);
    const text = query.toString();
    return this.call("GET", `${this.path(options.type ?? "workflow")}${text ? `?${text}` : ""}`);
  }

  /** Stored events with every field (task id, attempt), in seq order. */
  events(
    id: string,
    options: { type?: ExecutionType; after?: number; limit?: number } = {},
  ): Promise<EventPage> {
    const query = new URLSearchParams({
      after: String(options.after ?? 0),
      limit: String(options.limit ?? 100),
    });
    return this.call("GET", `${this.path(options.type ?? "workflow", id)}/events?${query}`);
  }

  /** Ask an execution to stop; idempotent. Its snapshot. */
  cancel(
    id: string,
    options: { type?: ExecutionType; reason?: string } = {},
  ): Promise<ExecutionSnapshot> {
    const body = options.reason === undefined ? {} : { reason: options.reason };
    return this.call("POST", `${this.path(options.type ?? "workflow", id)}/cancel`, body);
  }

  /** Run a `FAILED` execution again from where it failed (409 otherwise). */
  retry(
    id: string,
    options: { type?: ExecutionType; reason?: string } = {},
  ): Promise<{ attempt: number }> {
    const body = options.reason === undefined ? {} : { reason: options.reason };
    return this.call("POST", `${this.path(options.type ?? "workflow", id)}/retry`, body);
  }

  /** Queue a message for the workflow's next `ctx.receive()`. */
  sendMessage(id: string, message: unknown): Promise<{ messageId: string }> {
    return this.call("POST", `${this.path("workflow", id)}/messages`, { message });
  }

  /** Settle `ctx.promise(name)` with a value; the first settlement wins. */
  resolvePromise(id: string, name: string, value: unknown = null): Promise<ExecutionSnapshot> {
    const promise = encodeURIComponent(name);
    return this.call("POST", `${this.path("workflow", id)}/promises/${promise}/resolve`, { value });
  }

  /** Settle `ctx.promise(name)` with an error (`PromiseRejected` in the workflow). */
  rejectPromise(id: string, name: string, error: string): Promise<ExecutionSnapshot> {
    const promise = encodeURIComponent(name);
    return this.call("POST", `${this.path("workflow", id)}/promises/${promise}/reject`, { error });
  }

  /** The workflows and tasks the server's app registers. */
  kinds(): Promise<Kinds> {
    return this.call("GET", `/api/orgs/${encodeURIComponent(this.org)}/kinds`);
  }

  /** Follow an execution's own log (a workflow's includes its tasks' events). */
  stream(id: string, options: ClientStreamOptions = {}): ExecutionStream {
    return this.open(id, false, options);
  }

  /** Follow a workflow and every descendant, children started later included. */
  streamConsolidated(id: string, options: Omit<ClientStreamOptions, "type"> = {}): ExecutionStream {
    return this.open(id, true, options);
  }

  /** The absolute (or page-relative) URL of an API path. */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  private open(id: string, consolidated: boolean, options: ClientStreamOptions): ExecutionStream {
    const { type = "workflow", ...rest } = options;
    const url = this.url(`${this.path(type, id)}/stream${consolidated ? "/consolidated" : ""}`);
    const headers = this.options.apiKey ? this.headers : undefined;
    return new ExecutionStream(url, id, consolidated, {
      ...rest,
      fetch: this.fetch,
      ...(headers ? { headers } : {}),
      ...(this.options.token ? { token: this.options.token } : {}),
    });
  }

  private path(type: ExecutionType, id?: string): string {
    const base = `/api/orgs/${encodeURIComponent(this.org)}/${SEGMENT[type]}`;
    return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(this.url(path), {
      method,
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...this.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      cache: "no-store",
    });
    if (!response.ok) throw await errorFromResponse(response);
    return (await response.json()) as T;
  }
}
