/** Errors the client raises: the API's JSON errors, and streams that cannot go on. */

/** A JSON error answer: `{"error": {"code", "message", "param"}}` with its HTTP status. */
export class RunstreamApiError extends Error {
  /** The HTTP status (400, 404, 409, …). */
  readonly status: number;
  /** The error code, e.g. `unknown_kind`, `invalid_parameter`, `not_found`, `invalid_state`. */
  readonly code: string;
  /** The offending parameter, when the error names one. */
  readonly param: string | null;

  constructor(status: number, code: string, message: string, param: string | null = null) {
    super(message);
    this.name = "RunstreamApiError";
    this.status = status;
    this.code = code;
    this.param = param;
  }

  /** Worth retrying: the server or a proxy is unavailable, or asks to slow down. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** A stream gave up after too many failed reconnection attempts in a row. */
export class StreamGaveUpError extends Error {
  /** The last failure. */
  override readonly cause: unknown;

  constructor(url: string, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause ?? "the stream kept closing");
    super(`gave up on ${url} after ${attempts} failed attempts: ${reason}`);
    this.name = "StreamGaveUpError";
    this.cause = cause;
  }
}

/** The error an answer stands for, read from its JSON body when it has one. */
export async function errorFromResponse(response: Response): Promise<RunstreamApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  let param: string | null = null;
  try {
    const body: unknown = await response.json();
    const error = typeof body === "object" && body !== null && "error" in body ? body.error : null;
    if (typeof error === "object" && error !== null) {
      const fields = error as Record<string, unknown>;
      if (typeof fields.code === "string") code = fields.code;
      if (typeof fields.message === "string") message = fields.message;
      if (typeof fields.param === "string") param = fields.param;
    }
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new RunstreamApiError(response.status, code, message, param);
}
