/** The SSE parser, whatever way the bytes are split (pure; no server). */

import assert from "node:assert/strict";
import { test } from "node:test";

import { SSEParser } from "runstream";

const STREAM =
  "retry: 3000\r\n\r\nid: 6\nevent: token\ndata: line one\ndata: line two\n\n" +
  ": keep-alive\n\nid: 7\r\nevent: progress\r\ndata: 0.75\r\n\r\nid: 9\n\nid: 10\revent: data\rdata:{\"a\":1}\r\r";

function parse(chunks: string[]): { messages: string[]; last: string; retry: number | null } {
  const parser = new SSEParser();
  const messages = chunks.flatMap((c) => parser.feed(c)).map((m) => `${m.id}|${m.event}|${m.data}`);
  return { messages, last: parser.lastEventId, retry: parser.retryMs };
}

test("frames parse the same however the text is split", () => {
  const whole = parse([STREAM]);
  assert.deepEqual(whole.messages, ["6|token|line one\nline two", "7|progress|0.75", '10|data|{"a":1}']);
  assert.equal(whole.last, "10");
  assert.equal(whole.retry, 3000);
  for (let size = 1; size < 12; size++) {
    const chunks = [];
    for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
    assert.deepEqual(parse(chunks), whole, `chunks of ${size}`);
  }
});

test("an id-only frame moves the resume point without dispatching", () => {
  const parser = new SSEParser();
  assert.deepEqual(parser.feed("id: 12\n\n"), []);
  assert.equal(parser.lastEventId, "12");
});

test("an empty data line is a message with empty data; a leading space is dropped once", () => {
  const parser = new SSEParser();
  assert.deepEqual(
    parser.feed("event: token\ndata:\n\nevent: token\ndata:  two spaces\n\n").map((m) => m.data),
    ["", " two spaces"],
  );
});

test("a frame cut before its blank line does not move the resume point", () => {
  const parser = new SSEParser();
  parser.feed("id: 3\nevent: token\ndata: a\n\n");
  assert.deepEqual(parser.feed("id: 4\nevent: token\ndata: b\n"), []);
  assert.equal(parser.lastEventId, "3");
});
