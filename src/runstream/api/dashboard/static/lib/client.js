/**
 * `RunstreamClient`: typed calls of the native API (start, get, list, cancel, messages,
 * promises) and its resumable streams, for browsers and Node.
 */
import { errorFromResponse } from "./errors.js";
import { ExecutionStream } from "./stream.js";
const SEGMENT = {
    workflow: "workflow-executions",
    task: "task-executions",
};
/** The native HTTP API of one runstream server, for one organisation. */
export class RunstreamClient {
    options;
    /** The organisation every call acts in. */
    org;
    baseUrl;
    fetch;
    headers;
    constructor(options = {}) {
        this.options = options;
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
    startWorkflow(kind, input) {
        return this.call("POST", this.path("workflow"), { kind, input: input ?? null });
    }
    /** Start a standalone task; its snapshot. */
    startTask(kind, input) {
        return this.call("POST", this.path("task"), { kind, input: input ?? null });
    }
    /** An execution's snapshot: status, tasks, state, promises, children. */
    get(id, type = "workflow") {
        return this.call("GET", this.path(type, id));
    }
    /** One page of executions, newest first. */
    list(options = {}) {
        const query = new URLSearchParams();
        if (options.status)
            query.set("status", options.status);
        if (options.kind)
            query.set("kind", options.kind);
        if (options.limit)
            query.set("limit", String(options.limit));
        if (options.cursor)
            query.set("cursor", options.cursor);
        const text = query.toString();
        return this.call("GET", `${this.path(options.type ?? "workflow")}${text ? `?${text}` : ""}`);
    }
    /** Stored events with every field (task id, attempt), in seq order. */
    events(id, options = {}) {
        const query = new URLSearchParams({
            after: String(options.after ?? 0),
            limit: String(options.limit ?? 100),
        });
        return this.call("GET", `${this.path(options.type ?? "workflow", id)}/events?${query}`);
    }
    /** Ask an execution to stop; idempotent. Its snapshot. */
    cancel(id, options = {}) {
        const body = options.reason === undefined ? {} : { reason: options.reason };
        return this.call("POST", `${this.path(options.type ?? "workflow", id)}/cancel`, body);
    }
    /** Run a `FAILED` execution again from where it failed (409 otherwise). */
    retry(id, options = {}) {
        const body = options.reason === undefined ? {} : { reason: options.reason };
        return this.call("POST", `${this.path(options.type ?? "workflow", id)}/retry`, body);
    }
    /** Queue a message for the workflow's next `ctx.receive()`. */
    sendMessage(id, message) {
        return this.call("POST", `${this.path("workflow", id)}/messages`, { message });
    }
    /** Settle `ctx.promise(name)` with a value; the first settlement wins. */
    resolvePromise(id, name, value = null) {
        const promise = encodeURIComponent(name);
        return this.call("POST", `${this.path("workflow", id)}/promises/${promise}/resolve`, { value });
    }
    /** Settle `ctx.promise(name)` with an error (`PromiseRejected` in the workflow). */
    rejectPromise(id, name, error) {
        const promise = encodeURIComponent(name);
        return this.call("POST", `${this.path("workflow", id)}/promises/${promise}/reject`, { error });
    }
    /** The workflows and tasks the server's app registers. */
    kinds() {
        return this.call("GET", `/api/orgs/${encodeURIComponent(this.org)}/kinds`);
    }
    /** Follow an execution's own log (a workflow's includes its tasks' events). */
    stream(id, options = {}) {
        return this.open(id, false, options);
    }
    /** Follow a workflow and every descendant, children started later included. */
    streamConsolidated(id, options = {}) {
        return this.open(id, true, options);
    }
    /** The absolute (or page-relative) URL of an API path. */
    url(path) {
        return `${this.baseUrl}${path}`;
    }
    open(id, consolidated, options) {
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
    path(type, id) {
        const base = `/api/orgs/${encodeURIComponent(this.org)}/${SEGMENT[type]}`;
        return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
    }
    async call(method, path, body) {
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
        if (!response.ok)
            throw await errorFromResponse(response);
        return (await response.json());
    }
}
