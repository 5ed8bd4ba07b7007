/**
 * `ExecutionStream`: one execution's SSE stream, resumed after every drop with the id of
 * the last event, so each event is seen once, in order.
 *
 * Two transports: `EventSource` (browsers; a scoped token travels as `?token=`) and
 * `fetch` (Node, or whenever headers such as `Authorization` must be sent). The stream
 * ends when the server closes it after the execution's terminal event (a failure that a
 * manual retry reopened is not the end: `RETRY_REQUESTED` and the new run follow), when
 * the server answers 204 (finished, nothing left to send), on `close()`, or — with an
 * error — on a 4xx answer or after `maxAttempts` failed attempts in a row.
 */

import { decodeFrame, Positions } from "./decode.js";
import { errorFromResponse, RunstreamApiError, StreamGaveUpError } from "./errors.js";
import { SSEParser } from "./sse.js";
import type { StreamEvent } from "./types.js";
import { endsExecution, SSE_EVENT_TYPES } from "./types.js";

/** How a stream reconnects after a dropped connection. */
export interface Backoff {
  /** Wait before the first retry after a failure, doubled on each further one (100). */
  initialDelayMs?: number;
  /** Longest wait between attempts (5000). */
  maxDelayMs?: number;
  /** Failed attempts in a row before giving up (unlimited). A connection that delivers
   * an event, or stays open a second, resets the count. */
  maxAttempts?: number;
}

/** Where a stream stands. */
export type ConnectionStatus =
  | "connecting"
  | "open"
  | "reconnecting"
  | "finished"
  | "closed"
  | "failed";

/** Options of `ExecutionStream` (and of the client's `stream*` calls). */
export interface StreamOptions {
  /** Resume after this id (a seq, or a consolidated cursor); from the start when omitted. */
  after?: string;
  /** Only these SSE types, event names or prefixes (the API's `types=`). */
  types?: readonly string[];
  /** `auto` (default): `EventSource` when it exists and no headers are given, else `fetch`. */
  transport?: "auto" | "eventsource" | "fetch";
  /** Extra request headers, e.g. `Authorization`; they need the `fetch` transport. */
  headers?: Record<string, string>;
  /** A scoped stream token, sent as `?token=` (what `EventSource` can send). */
  token?: string;
  /** Reconnection policy. */
  backoff?: Backoff;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Called with every event, in order. */
  onEvent?: (event: StreamEvent) => void;
  /** Called when the connection status changes. */
  onStatus?: (status: ConnectionStatus, error?: unknown) => void;
}

const HEALTHY_AFTER_MS = 1000;

type Outcome = "finished" | "dropped" | { failure: unknown };

/** A resumable stream of one execution's events; iterate it or pass `onEvent`. */
export class ExecutionStream implements AsyncIterable<StreamEvent> {
  /** The resume point: the id of the last event seen (or skipped by a `types` filter). */
  lastEventId: string;
  /** How many times the stream reconnected. */
  reconnects = 0;
  /** Where the stream stands now. */
  status: ConnectionStatus = "connecting";
  /** Settles when the stream ends: resolves when finished or closed, rejects on failure. */
  readonly done: Promise<void>;

  private readonly listeners = new Set<(event: StreamEvent | null) => void>();
  private readonly positions: Positions;
  private readonly fetch: typeof fetch;
  private readonly backoff: Required<Backoff>;
  private readonly useEventSource: boolean;
  private abort: AbortController | null = null;
  private source: EventSource | null = null;
  private wake: (() => void) | null = null;
  private closed = false;

  /**
   * @param url The stream URL (`…/stream` or `…/stream/consolidated`), absolute or relative.
   * @param executionId The execution the stream belongs to (its terminal event ends it).
   * @param consolidated The URL is a consolidated stream: read on after the root's end,
   *   since descendants may still be finishing, until the server has nothing left (204).
   */
  constructor(
    readonly url: string,
    readonly executionId: string,
    readonly consolidated: boolean,
    private readonly options: StreamOptions = {},
  ) {
    this.lastEventId = options.after ?? "";
    this.positions = new Positions(this.lastEventId);
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.backoff = {
      initialDelayMs: options.backoff?.initialDelayMs ?? 100,
      maxDelayMs: options.backoff?.maxDelayMs ?? 5000,
      maxAttempts: options.backoff?.maxAttempts ?? Number.POSITIVE_INFINITY,
    };
    const transport = options.transport ?? "auto";
    this.useEventSource =
      transport === "eventsource" ||
      (transport === "auto" && typeof EventSource !== "undefined" && !options.headers);
    if (options.onEvent) {
      const onEvent = options.onEvent;
      this.listeners.add((event) => event && onEvent(event));
    }
    this.done = this.run();
    // Whoever needs the outcome awaits `done`; nobody waiting must not be an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Stop reading; `done` resolves. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort?.abort();
    this.source?.close();
    this.wake?.();
    this.setStatus("closed");
  }

  /**
   * The events from now on; iteration ends with the stream (and throws if it failed).
   * Leaving the loop early (`break`, an exception) closes the stream.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    const queue: Array<StreamEvent | null> = [];
    let notify: (() => void) | null = null;
    const listener = (event: StreamEvent | null): void => {
      queue.push(event);
      notify?.();
    };
    this.listeners.add(listener);
    if (this.isOver()) listener(null);
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (notify = resolve));
        const event = queue.shift() ?? null;
        if (event === null) break;
        yield event;
      }
      await this.done;
    } finally {
      this.listeners.delete(listener);
      this.close();
    }
  }

  private isOver(): boolean {
    return this.status === "finished" || this.status === "failed" || this.status === "closed";
  }

  private async run(): Promise<void> {
    let failures = 0;
    let probe = false;
    for (let attempt = 0; !this.closed; attempt++) {
      if (attempt > 0) this.reconnects++;
      this.setStatus(attempt === 0 ? "connecting" : "reconnecting");
      const opened = Date.now();
      const before = this.lastEventId;
      let outcome: Outcome;
      try {
        outcome = this.useEventSource ? await this.viaEventSource(probe) : await this.viaFetch();
      } catch (error) {
        if (this.closed) return;
        if (error instanceof RunstreamApiError && !error.transient) {
          this.setStatus("failed", error);
          throw error;
        }
        outcome = { failure: error };
      }
      if (this.closed) return;
      if (outcome === "finished") {
        this.setStatus("finished");
        return;
      }
      probe = true;
      const delivered = this.lastEventId !== before;
      if (delivered || (outcome === "dropped" && Date.now() - opened >= HEALTHY_AFTER_MS)) {
        failures = 0;
        continue;
      }
      failures++;
      if (failures > this.backoff.maxAttempts) {
        const error = new StreamGaveUpError(
          this.url,
          failures,
          outcome === "dropped" ? null : outcome.failure,
        );
        this.setStatus("failed", error);
        throw error;
      }
      this.setStatus("reconnecting", outcome === "dropped" ? undefined : outcome.failure);
      await this.sleep(this.delay(failures));
    }
  }

  /** One connection with `fetch`: headers allowed, the body parsed as it arrives. */
  private async viaFetch(): Promise<Outcome> {
    this.abort = new AbortController();
    const headers: Record<string, string> = { Accept: "text/event-stream", ...this.options.headers };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    const response = await this.fetch(this.target(false), {
      headers,
      signal: this.abort.signal,
      cache: "no-store",
    });
    if (response.status === 204) return "finished";
    if (!response.ok || !response.body) throw await errorFromResponse(response);
    this.setStatus("open");
    const parser = new SSEParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // The server closes the stream after the terminal event: reading to the close (rather
    // than stopping at the event) lets a retry that reopened the log come through.
    let ended = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const message of parser.feed(value)) {
          const seen = this.deliver(message.event, message.data, message.id);
          if (seen === "end") ended = true;
          else if (seen === "reopened" || !this.consolidated) ended = false;
        }
        // An id-only frame (events filtered out by `types`) still moves the resume point.
        if (parser.lastEventId && parser.lastEventId !== this.lastEventId) {
          this.positions.advance(parser.lastEventId);
          this.lastEventId = parser.lastEventId;
        }
      }
    } finally {
      this.abort.abort();
    }
    return ended ? "finished" : "dropped";
  }

  /**
   * One connection with `EventSource`. It cannot tell a 204 from a failure, so after a
   * drop a `fetch` probe asks first: 204 ends the stream, a 4xx fails it with the API's
   * message, a 200 (closed at once) means "reconnect".
   */
  private async viaEventSource(probe: boolean): Promise<Outcome> {
    if (probe) {
      this.abort = new AbortController();
      const response = await this.fetch(this.target(true), {
        headers: { Accept: "text/event-stream" },
        signal: this.abort.signal,
        cache: "no-store",
      });
      if (response.status === 204) return "finished";
      if (!response.ok) throw await errorFromResponse(response);
      this.abort.abort();
    }
    return new Promise<Outcome>((resolve) => {
      const source = new EventSource(this.target(true));
      this.source = source;
      const end = (outcome: Outcome): void => {
        source.close();
        this.wake = null;
        resolve(outcome);
      };
      this.wake = () => end("dropped");
      source.onopen = () => this.setStatus("open");
      for (const type of SSE_EVENT_TYPES) {
        source.addEventListener(type, (event: Event) => {
          // A frame named `error` is a MessageEvent with data; a connection error is not.
          if (!(event instanceof MessageEvent)) {
            end("dropped");
            return;
          }
          // After the terminal event the server closes the stream and the probe gets 204.
          this.deliver(type, String(event.data), event.lastEventId);
        });
      }
    });
  }

  /** Decode and hand out one frame; says whether it ended or reopened the execution. */
  private deliver(event: string, data: string, id: string): "end" | "reopened" | null {
    const decoded = decodeFrame(event, data, id, this.positions.advance(id));
    this.lastEventId = id;
    for (const listener of this.listeners) listener(decoded);
    if (decoded.source.path !== "0") return null;
    if (endsExecution(decoded, this.executionId)) return "end";
    if (decoded.type === "RETRY_REQUESTED" && decoded.data.targetId === this.executionId) return "reopened";
    return null;
  }

  /** The URL with the query an `EventSource` needs (it cannot send headers). */
  private target(withResumePoint: boolean): string {
    const query = new URLSearchParams();
    if (this.options.types?.length) query.set("types", this.options.types.join(","));
    if (this.options.token) query.set("token", this.options.token);
    if (withResumePoint && this.lastEventId) query.set("lastEventId", this.lastEventId);
    const text = query.toString();
    return text ? `${this.url}${this.url.includes("?") ? "&" : "?"}${text}` : this.url;
  }

  private delay(failures: number): number {
    const base = Math.min(
      this.backoff.maxDelayMs,
      this.backoff.initialDelayMs * 2 ** Math.max(0, failures - 1),
    );
    // A little jitter keeps many dashboards from reconnecting in step after a restart.
    return base * (1 + Math.random() * 0.2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private setStatus(status: ConnectionStatus, error?: unknown): void {
    if (this.status === status && error === undefined) return;
    if (this.isOver()) return;
    this.status = status;
    this.options.onStatus?.(status, error);
    if (this.isOver()) {
      for (const listener of this.listeners) listener(null);
    }
  }
}
