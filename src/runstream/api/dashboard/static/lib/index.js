/**
 * runstream: typed, resumable streams of runstream executions, and the native API's calls.
 * The React hook is in `runstream/react`.
 */
export * from "./client.js";
export * from "./decode.js";
export * from "./errors.js";
export * from "./fold.js";
export * from "./sse.js";
export * from "./stream.js";
export * from "./types.js";
