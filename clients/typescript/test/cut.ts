/** A `fetch` that drops stream connections after a few hundred bytes, mid-frame or not. */

/** Wrap `fetch` so that each stream body breaks after `limit()` bytes. */
export function cuttingFetch(limit: () => number): { fetch: typeof fetch; connections: () => number } {
  let connections = 0;
  const wrapped: typeof fetch = async (input, init) => {
    const abort = new AbortController();
    init?.signal?.addEventListener("abort", () => abort.abort());
    const response = await fetch(input, { ...init, signal: abort.signal });
    if (!response.body || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      return response;
    }
    connections++;
    let left = limit();
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        if (value.length >= left) {
          controller.enqueue(value.slice(0, left));
          abort.abort();
          controller.error(new TypeError("connection cut by the test"));
          return;
        }
        left -= value.length;
        controller.enqueue(value);
      },
      cancel() {
        abort.abort();
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch: wrapped, connections: () => connections };
}
