#!/usr/bin/env bash
# The v0 API with nothing but curl: start a task, watch its stream, resume it, read its status.
#   bash docs/examples/v0_curl.sh http://127.0.0.1:8000
set -euo pipefail
BASE=${1:-http://127.0.0.1:8000}

# Start: 202 {"data": {"exec_id": "…", "exec_url": "/api/v0/executions/tasks/…"}, "message": "…"}
STARTED=$(curl -sf "$BASE/api/v0/tasks/compose/executions" \
  -H 'content-type: application/json' -d '{"input": "Ada"}')
EXEC_URL=$(printf '%s' "$STARTED" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["exec_url"])')

# Watch it live (-N: no buffering). A text task's chunks are plain "data:" lines;
# the stream ends after the "complete" (or "error") frame.
curl -sN "$BASE$EXEC_URL/stream"

# Resume after id 3, keeping only the text and the end (what EventSource does after a drop).
curl -sN -H 'Last-Event-ID: 3' "$BASE$EXEC_URL/stream?events=llm_chunk,complete"

# Nothing is left after the last id: 204 No Content, which stops EventSource reconnecting.
curl -s -o /dev/null -w '%{http_code}\n' -H 'Last-Event-ID: 999999' "$BASE$EXEC_URL/stream"

# The status, in the v0 vocabulary (PENDING, RUNNING, SUCCESS, FAILED, CANCELED).
curl -s "$BASE$EXEC_URL"
echo
