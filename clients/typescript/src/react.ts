/**
 * `useExecutionStream(org, id)`: a React hook that follows an execution and folds its
 * stream into state (`fold.ts`): the workflow's status, tasks by id with their attempts,
 * the assembled text of each task, progress, children, state, promises and errors.
 *
 * Events are folded in batches, at most once per animation frame, so a task streaming
 * thousands of tokens a second costs one render per frame, not one per token.
 */

import { useEffect, useState } from "react";

import { type ExecutionType, RunstreamClient } from "./client.js";
import { foldEvents, initialState, type StreamState, withConnection } from "./fold.js";
import type { Backoff } from "./stream.js";
import type { StreamEvent } from "./types.js";

/** Options of `useExecutionStream`. */
export interface UseExecutionStreamOptions {
  /** Server URL; the page's own origin when omitted. */
  baseUrl?: string;
  /** An API key (sent as a Bearer header; the stream then uses `fetch`). */
  apiKey?: string;
  /** A scoped stream token (sent as `?token=`, fine for `EventSource`). */
  token?: string;
  /** `workflow` (default) or `task`. */
  type?: ExecutionType;
  /** Follow children too (default for workflows: true). */
  consolidated?: boolean;
  /** Reconnection policy. */
  backoff?: Backoff;
  /** Force a transport (default: `EventSource` in browsers without an API key). */
  transport?: "auto" | "eventsource" | "fetch";
}

/** Follow execution `id` of organisation `org`; `null` follows nothing. */
export function useExecutionStream(
  org: string,
  id: string | null | undefined,
  options: UseExecutionStreamOptions = {},
): StreamState {
  const { baseUrl, apiKey, token, type = "workflow", transport } = options;
  const consolidated = options.consolidated ?? type === "workflow";
  const [state, setState] = useState<StreamState>(() => initialState(id ?? ""));
  // The policy object may be a new literal on every render; its numbers are what count.
  const { initialDelayMs, maxDelayMs, maxAttempts } = options.backoff ?? {};

  useEffect(() => {
    setState(initialState(id ?? ""));
    if (!id) return undefined;
    const client = new RunstreamClient({
      org,
      ...(baseUrl !== undefined ? { baseUrl } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(token !== undefined ? { token } : {}),
    });
    let pending: StreamEvent[] = [];
    let scheduled: (() => void) | null = null;
    const flush = (): void => {
      scheduled = null;
      const batch = pending;
      pending = [];
      setState((previous) => foldEvents(previous, batch));
    };
    const schedule = (): void => {
      if (scheduled) return;
      if (typeof requestAnimationFrame === "function") {
        const frame = requestAnimationFrame(flush);
        scheduled = () => cancelAnimationFrame(frame);
      } else {
        const timer = setTimeout(flush, 16);
        scheduled = () => clearTimeout(timer);
      }
    };
    const streamOptions = {
      ...(transport ? { transport } : {}),
      backoff: {
        ...(initialDelayMs !== undefined ? { initialDelayMs } : {}),
        ...(maxDelayMs !== undefined ? { maxDelayMs } : {}),
        ...(maxAttempts !== undefined ? { maxAttempts } : {}),
      },
      onEvent: (event: StreamEvent) => {
        pending.push(event);
        schedule();
      },
      onStatus: (status: StreamState["connection"], error?: unknown) => {
        // Flush first so that "finished" never overtakes the last events.
        if (pending.length) {
          scheduled?.();
          flush();
        }
        setState((previous) => withConnection(previous, status, error));
      },
    };
    const stream = consolidated
      ? client.streamConsolidated(id, streamOptions)
      : client.stream(id, { ...streamOptions, type });
    return () => {
      scheduled?.();
      stream.close();
    };
  }, [org, id, baseUrl, apiKey, token, type, consolidated, transport, initialDelayMs, maxDelayMs, maxAttempts]);

  return state;
}
