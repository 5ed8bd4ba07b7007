-- The queries of store/sqlite/queries.sql under the same names, in PostgreSQL's dialect.
-- Rows several processes race for are taken with FOR UPDATE (SKIP LOCKED for claims): READ
-- COMMITTED re-reads a locked row once it is free, so every check-then-write of the
-- transitions sees the latest committed version.

-- name: bump_seq
-- The row lock taken here serialises appenders to one log until they commit.
UPDATE executions SET last_seq = last_seq + %(n)s, updated_at = %(now)s
WHERE id = %(id)s AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
RETURNING last_seq;

-- name: append_events
-- bump_seq and insert_event in one round trip: the seqs follow the bumped counter.
WITH bumped AS (
  UPDATE executions SET last_seq = last_seq + %(n)s, updated_at = %(now)s
  WHERE id = %(id)s AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
  RETURNING last_seq
)
INSERT INTO events (execution_id, seq, type, ts, data, task_id, attempt)
SELECT %(id)s, bumped.last_seq - %(n)s + e.ord, e.type, %(now)s, e.data, e.task_id, e.attempt
FROM bumped,
     unnest(%(types)s::text[], %(datas)s::bytea[], %(task_ids)s::text[],
            %(attempts)s::integer[]) WITH ORDINALITY AS e(type, data, task_id, attempt, ord)
RETURNING seq;

-- name: append_event
-- append_events for one event.
WITH bumped AS (
  UPDATE executions SET last_seq = last_seq + 1, updated_at = %(now)s
  WHERE id = %(id)s AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
  RETURNING last_seq
)
INSERT INTO events (execution_id, seq, type, ts, data, task_id, attempt)
SELECT %(id)s, bumped.last_seq, %(type)s::text, %(now)s, %(data)s::bytea, %(task_id)s::text,
       %(attempt)s::integer
FROM bumped
RETURNING seq;

-- name: insert_event
INSERT INTO events (execution_id, seq, type, ts, data, task_id, attempt)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::bytea[],
                     %s::text[], %s::integer[]);

-- name: read_events
SELECT execution_id, seq, type, ts, data, task_id, attempt FROM events
WHERE execution_id = %(id)s AND seq > %(after)s ORDER BY seq LIMIT %(limit)s;

-- name: event_sizes
SELECT length(data) FROM events
WHERE execution_id = %(id)s AND seq > %(after)s ORDER BY seq LIMIT %(limit)s;

-- name: insert_execution
INSERT INTO executions (id, org, kind, type, status, input, parent_id, parent_step,
                        created_at, updated_at, ready_at, trace)
VALUES (%(id)s, %(org)s, %(kind)s, %(type)s, 'PENDING', %(input)s, %(parent_id)s,
        %(parent_step)s, %(now)s, %(now)s, %(ready_at)s, %(trace)s)
RETURNING *;

-- name: get_execution
SELECT * FROM executions WHERE id = %(id)s;

-- name: lock_execution
SELECT * FROM executions WHERE id = %(id)s FOR UPDATE;

-- name: log_position
SELECT status, last_seq FROM executions WHERE id = %(id)s;

-- name: log_positions
SELECT id, last_seq FROM executions WHERE id = ANY(%(ids)s::text[]);

-- name: list_executions
-- Summaries: input and output can be large, and a page does not show them.
SELECT id, kind, type, org, status, NULL::bytea AS input, NULL::bytea AS output, error,
       parent_id, created_at, updated_at, last_seq, cancel_requested
FROM executions
WHERE org = %(org)s AND type = %(type)s
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
  AND (%(cursor)s::text IS NULL OR id < %(cursor)s::text)
ORDER BY id DESC LIMIT %(limit)s;

-- name: children_of
SELECT id, kind, status FROM executions WHERE parent_id = %(id)s ORDER BY created_at, id;

-- name: set_status
UPDATE executions SET status = %(status)s, updated_at = %(now)s WHERE id = %(id)s;

-- name: finish_execution
UPDATE executions
SET status = %(status)s, output = %(output)s, error = %(error)s, updated_at = %(now)s,
    ready_at = NULL, lease_owner = NULL, lease_expires = NULL
WHERE id = %(id)s;

-- name: make_ready
UPDATE executions SET ready_at = %(now)s
WHERE id = %(id)s AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') AND ready_at IS NULL;

-- name: request_cancel
UPDATE executions SET cancel_requested = 1, cancel_reason = %(reason)s, updated_at = %(now)s
WHERE id = %(id)s AND cancel_requested = 0
  AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED');

-- name: claimable_workflows
SELECT * FROM executions
WHERE type = 'workflow'
  AND ((lease_owner IS NULL AND ready_at IS NOT NULL AND ready_at <= %(now)s)
       OR (lease_owner IS NOT NULL AND lease_expires < %(now)s))
ORDER BY ready_at LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: lease_workflow
UPDATE executions
SET lease_owner = %(worker)s, lease_expires = %(expires)s, ready_at = NULL, started = 1,
    status = 'RUNNING', updated_at = %(now)s
WHERE id = %(id)s;

-- name: release_workflow
UPDATE executions
SET lease_owner = NULL, lease_expires = NULL, status = %(status)s, last_batch = %(batch)s,
    cancel_batch = coalesce(cancel_batch, %(cancel_batch)s::integer), updated_at = %(now)s,
    ready_at = CASE WHEN cancel_requested = 1
                         AND coalesce(cancel_batch, %(cancel_batch)s::integer) IS NULL
                    THEN %(now)s::bigint END
WHERE id = %(id)s AND lease_owner = %(worker)s;

-- name: release_lease
UPDATE executions SET lease_owner = NULL, lease_expires = NULL, ready_at = %(now)s
WHERE id = %(id)s AND lease_owner = %(worker)s;

-- name: extend_workflow_lease
UPDATE executions SET lease_expires = %(expires)s
WHERE id = %(id)s AND lease_owner = %(worker)s;

-- name: check_lease
-- The row, and whether messages wait for a receive().
SELECT *, EXISTS (SELECT 1 FROM messages m
                  WHERE m.execution_id = %(id)s AND m.consumed_step IS NULL) AS queued_messages
FROM executions
WHERE id = %(id)s AND lease_owner = %(worker)s FOR UPDATE;

-- name: keep_batch
UPDATE executions
SET last_batch = %(batch)s, cancel_batch = coalesce(cancel_batch, %(cancel_batch)s::integer),
    updated_at = %(now)s
WHERE id = %(id)s AND lease_owner = %(worker)s;

-- name: next_ready_workflow
SELECT min(ready_at) FROM executions WHERE ready_at IS NOT NULL AND lease_owner IS NULL;

-- name: steps_of
SELECT step, kind, name, status, result, error, batch, ref FROM steps
WHERE execution_id = %(id)s ORDER BY step;

-- name: insert_step
INSERT INTO steps (execution_id, step, kind, name, status, result, error, batch, ref,
                   timeout_id, made_in)
VALUES (%(id)s, %(step)s, %(kind)s, %(name)s, %(status)s, %(result)s, %(error)s, %(batch)s,
        %(ref)s, %(timeout_id)s, %(made_in)s);

-- name: set_batch
UPDATE steps SET batch = %(batch)s WHERE execution_id = %(id)s AND step = %(step)s;

-- name: cancel_step
UPDATE steps SET status = 'cancelled', batch = %(batch)s
WHERE execution_id = %(id)s AND step = %(step)s;

-- name: ready_steps
SELECT step, kind, name, status, result, error, batch, ref FROM steps
WHERE execution_id = %(id)s AND status != 'pending' AND batch IS NULL ORDER BY step;

-- name: resolve_step
UPDATE steps SET status = %(status)s, result = %(result)s, error = %(error)s
WHERE execution_id = %(id)s AND step = %(step)s AND status = 'pending'
RETURNING kind, name, ref, timeout_id;

-- name: pending_steps
SELECT step, kind, name, ref, timeout_id FROM steps
WHERE execution_id = %(id)s AND status = 'pending' ORDER BY step;

-- name: pending_step
SELECT step, kind, name, ref, timeout_id FROM steps
WHERE execution_id = %(id)s AND step = %(step)s AND status = 'pending';

-- name: pending_receives
SELECT step FROM steps
WHERE execution_id = %(id)s AND kind = 'receive' AND status = 'pending' ORDER BY step;

-- name: waiting_on_promise
SELECT step FROM steps
WHERE execution_id = %(id)s AND kind = 'promise' AND name = %(name)s AND status = 'pending'
ORDER BY step;

-- name: insert_task
INSERT INTO tasks (id, execution_id, workflow_id, step, kind, input, status, max_retries,
                   retry_policy, timeout, available_at, created_at, updated_at, max_recoveries,
                   trace, attempt, lease_owner, lease_expires)
VALUES (%(id)s, %(execution_id)s, %(workflow_id)s, %(step)s, %(kind)s, %(input)s, %(status)s,
        %(max_retries)s, %(retry_policy)s, %(timeout)s, %(now)s, %(now)s, %(now)s,
        %(max_recoveries)s::integer, %(trace)s, %(attempt)s, %(lease_owner)s,
        %(lease_expires)s::bigint);

-- name: get_task
SELECT * FROM tasks WHERE id = %(id)s;

-- name: lock_task
SELECT * FROM tasks WHERE id = %(id)s FOR UPDATE;

-- name: tasks_of
SELECT * FROM tasks WHERE execution_id = %(id)s ORDER BY created_at, id;

-- name: due_tasks
SELECT id FROM tasks WHERE status = 'PENDING' AND available_at <= %(now)s
ORDER BY available_at LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: next_due_task
SELECT min(available_at) FROM tasks WHERE status = 'PENDING';

-- name: lease_task
UPDATE tasks
SET status = 'RUNNING', attempt = attempt + 1, lease_owner = %(worker)s,
    lease_expires = %(expires)s, updated_at = %(now)s
WHERE id = %(id)s AND status = 'PENDING'
RETURNING *;

-- name: extend_task_lease
UPDATE tasks SET lease_expires = %(expires)s
WHERE id = %(id)s AND attempt = %(attempt)s AND lease_owner = %(worker)s
  AND status = 'RUNNING';

-- name: update_task
UPDATE tasks
SET status = %(status)s, output = %(output)s, error = %(error)s,
    available_at = %(available_at)s, lease_owner = NULL, lease_expires = NULL,
    updated_at = %(now)s
WHERE id = %(id)s;

-- name: expired_tasks
SELECT * FROM tasks WHERE status = 'RUNNING' AND lease_expires < %(before)s
FOR UPDATE SKIP LOCKED;

-- name: requeue_task
UPDATE tasks
SET status = 'PENDING', error = %(error)s, available_at = %(now)s,
    recoveries = recoveries + 1, lease_owner = NULL, lease_expires = NULL,
    updated_at = %(now)s
WHERE id = %(id)s;

-- name: expired_workflows
-- Rows another transaction holds are skipped (seen by the next sweep): a bulk UPDATE would
-- lock them in no particular order and deadlock with that transaction.
UPDATE executions SET lease_owner = NULL, lease_expires = NULL, ready_at = %(now)s
WHERE id IN (SELECT id FROM executions
             WHERE lease_owner IS NOT NULL AND lease_expires < %(before)s
             FOR UPDATE SKIP LOCKED);

-- name: insert_timer
INSERT INTO timers (id, execution_id, step, kind, fire_at, status)
VALUES (%(id)s, %(execution_id)s, %(step)s, %(kind)s, %(fire_at)s, 'pending');

-- name: due_timers
SELECT id, execution_id, step, kind FROM timers
WHERE status = 'pending' AND fire_at <= %(now)s ORDER BY fire_at LIMIT 1000
FOR UPDATE SKIP LOCKED;

-- name: next_timer
SELECT min(fire_at) FROM timers WHERE status = 'pending';

-- name: close_timer
UPDATE timers SET status = %(status)s WHERE id = %(id)s AND status = 'pending'
RETURNING execution_id, step, kind;

-- name: get_promise
SELECT status, value, error FROM promises WHERE execution_id = %(id)s AND name = %(name)s;

-- name: insert_promise
INSERT INTO promises (execution_id, name, status, value, error)
VALUES (%(id)s, %(name)s, %(status)s, %(value)s, %(error)s);

-- name: settle_promise
UPDATE promises SET status = %(status)s, value = %(value)s, error = %(error)s
WHERE execution_id = %(id)s AND name = %(name)s;

-- name: promises_of
SELECT name, status, value, error FROM promises WHERE execution_id = %(id)s ORDER BY name;

-- name: insert_message
INSERT INTO messages (id, execution_id, payload) VALUES (%(mid)s, %(id)s, %(payload)s);

-- name: next_message
SELECT n, id, payload FROM messages
WHERE execution_id = %(id)s AND consumed_step IS NULL ORDER BY n LIMIT 1;

-- name: consume_message
UPDATE messages SET consumed_step = %(step)s WHERE n = %(n)s;

-- name: set_state
INSERT INTO state (execution_id, key, value) VALUES (%(id)s, %(key)s, %(value)s)
ON CONFLICT (execution_id, key) DO UPDATE SET value = excluded.value;

-- name: clear_state
DELETE FROM state WHERE execution_id = %(id)s AND key = %(key)s;

-- name: state_of
SELECT key, value FROM state WHERE execution_id = %(id)s ORDER BY key;

-- name: unfinished_by_status
SELECT type, status, count(*) FROM executions
WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') GROUP BY type, status;

-- name: due_task_figures
SELECT count(*), min(available_at) FROM tasks
WHERE status = 'PENDING' AND available_at <= %(now)s;

-- name: running_task_count
SELECT count(*) FROM tasks WHERE status = 'RUNNING';

-- name: due_timer_count
SELECT count(*) FROM timers WHERE status = 'pending' AND fire_at <= %(now)s;

-- name: lease_owner_count
SELECT count(*) FROM (
  SELECT lease_owner FROM tasks WHERE status = 'RUNNING' AND lease_owner IS NOT NULL
  UNION
  SELECT lease_owner FROM executions WHERE lease_owner IS NOT NULL
) AS owners;

-- name: set_failed_step
UPDATE executions SET failed_step = %(step)s WHERE id = %(id)s;

-- name: reopen_execution
UPDATE executions
SET status = 'PENDING', retries = retries + 1, output = NULL, error = NULL,
    updated_at = %(now)s
WHERE id = %(id)s AND status = 'FAILED'
RETURNING *;

-- name: reopen_cancelled_child
UPDATE executions
SET status = 'PENDING', retries = retries + 1, output = NULL, error = NULL,
    cancel_requested = 0, cancel_reason = NULL, updated_at = %(now)s
WHERE id = %(id)s AND status = 'CANCELLED' AND cancel_reason = %(reason)s
RETURNING *;

-- name: rewind_workflow
UPDATE executions
SET last_batch = %(batch)s, failed_step = NULL, ready_at = %(now)s, lease_owner = NULL,
    lease_expires = NULL,
    cancel_batch = CASE WHEN cancel_batch > %(batch)s THEN NULL ELSE cancel_batch END
WHERE id = %(id)s;

-- name: steps_to_rewind
SELECT step, kind, name, status, batch, ref, timeout_id, made_in FROM steps
WHERE execution_id = %(id)s AND (batch IS NULL OR batch > %(batch)s OR made_in > %(batch)s)
ORDER BY step;

-- name: get_step
SELECT step, kind, status, batch FROM steps WHERE execution_id = %(id)s AND step = %(step)s;

-- name: delete_step
DELETE FROM steps WHERE execution_id = %(id)s AND step = %(step)s;

-- name: delete_step_timers
DELETE FROM timers WHERE execution_id = %(id)s AND step = %(step)s;

-- name: release_messages
UPDATE messages SET consumed_step = NULL
WHERE execution_id = %(id)s AND consumed_step = %(step)s;

-- name: detach_step_children
UPDATE executions SET parent_step = NULL WHERE parent_id = %(id)s AND parent_step = %(step)s;

-- name: detach_step_tasks
UPDATE tasks SET step = NULL WHERE workflow_id = %(id)s AND step = %(step)s;

-- name: reopen_step
UPDATE steps SET status = 'pending', result = NULL, error = NULL, batch = NULL
WHERE execution_id = %(id)s AND step = %(step)s;

-- name: settle_step
UPDATE steps SET status = %(status)s, result = %(result)s, error = %(error)s, batch = NULL
WHERE execution_id = %(id)s AND step = %(step)s;

-- name: unfeed_step
UPDATE steps SET batch = NULL WHERE execution_id = %(id)s AND step = %(step)s;

-- name: reopen_timer
UPDATE timers SET status = 'pending' WHERE id = %(id)s AND status = 'cancelled';

-- name: retry_task
-- A fresh retry budget: attempts so far no longer count against max_retries.
UPDATE tasks
SET status = 'PENDING', budget_from = attempt, recoveries = 0, output = NULL, error = NULL,
    available_at = %(now)s, lease_owner = NULL, lease_expires = NULL, updated_at = %(now)s
WHERE id = %(id)s AND status IN ('FAILED', 'CANCELLED');

-- name: last_state_step
SELECT kind, result FROM steps
WHERE execution_id = %(id)s AND name = %(key)s AND kind IN ('state', 'clear')
ORDER BY step DESC LIMIT 1;

-- name: get_key
SELECT id, org, name, hash, created_at, last_used_at, revoked_at FROM api_keys
WHERE id = %(id)s;

-- name: get_secret
SELECT value FROM server_secrets WHERE name = %(name)s;

-- name: insert_key
INSERT INTO api_keys (id, org, name, hash, created_at)
VALUES (%(id)s, %(org)s, %(name)s, %(hash)s, %(now)s);

-- name: insert_secret
INSERT INTO server_secrets (name, value, created_at) VALUES (%(name)s, %(value)s, %(now)s)
ON CONFLICT (name) DO NOTHING;

-- name: list_keys
SELECT id, org, name, hash, created_at, last_used_at, revoked_at FROM api_keys
WHERE (%(org)s::text IS NULL OR org = %(org)s::text) ORDER BY org, created_at, id;

-- name: revoke_key
UPDATE api_keys SET revoked_at = %(now)s WHERE id = %(id)s AND revoked_at IS NULL;

-- name: touch_key
UPDATE api_keys SET last_used_at = %(now)s WHERE id = %(id)s;

-- name: open_input
UPDATE executions SET input_open = %(open)s WHERE id = %(id)s;

-- name: close_input
UPDATE executions SET input_open = %(closed)s
WHERE id = %(id)s AND input_open = %(open)s AND NOT EXISTS (
  SELECT 1 FROM messages WHERE execution_id = %(id)s AND consumed_step IS NULL
);

-- name: queued_messages
SELECT count(*) FROM messages WHERE execution_id = %(id)s AND consumed_step IS NULL;

-- name: get_message
SELECT n, payload, consumed_step FROM messages WHERE execution_id = %(id)s AND id = %(mid)s;

-- name: nth_event
SELECT execution_id, seq, type, ts, data, task_id, attempt FROM events
WHERE execution_id = %(id)s AND type = %(type)s ORDER BY seq LIMIT 1 OFFSET %(offset)s;

-- name: reopen_input
UPDATE executions SET input_open = %(open)s WHERE id = %(id)s AND input_open = %(closed)s;
