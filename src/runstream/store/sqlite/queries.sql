-- name: bump_seq
UPDATE executions SET last_seq = last_seq + :n, updated_at = :now
WHERE id = :id AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
RETURNING last_seq;

-- name: insert_event
INSERT INTO events (execution_id, seq, type, ts, data, task_id, attempt)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: read_events
SELECT execution_id, seq, type, ts, data, task_id, attempt FROM events
WHERE execution_id = :id AND seq > :after ORDER BY seq LIMIT :limit;

-- name: event_sizes
SELECT length(data) FROM events
WHERE execution_id = :id AND seq > :after ORDER BY seq LIMIT :limit;

-- name: insert_execution
INSERT INTO executions (id, org, kind, type, status, input, parent_id, parent_step,
                        created_at, updated_at, ready_at, trace)
VALUES (:id, :org, :kind, :type, 'PENDING', :input, :parent_id, :parent_step, :now, :now,
        :ready_at, :trace)
RETURNING *;

-- name: get_execution
SELECT * FROM executions WHERE id = :id;

-- name: lock_execution
-- The writer holds the database lock: nothing else can change the row meanwhile.
SELECT * FROM executions WHERE id = :id;

-- name: log_position
SELECT status, last_seq FROM executions WHERE id = :id;

-- name: log_positions
SELECT id, last_seq FROM executions WHERE id IN (SELECT value FROM json_each(:ids));

-- name: list_executions
-- Summaries: input and output can be large, and a page does not show them.
SELECT id, kind, type, org, status, NULL AS input, NULL AS output, error, parent_id,
       created_at, updated_at, last_seq, cancel_requested
FROM executions
WHERE org = :org AND type = :type
  AND (:status IS NULL OR status = :status)
  AND (:kind IS NULL OR kind = :kind)
  AND (:cursor IS NULL OR id < :cursor)
ORDER BY id DESC LIMIT :limit;

-- name: children_of
SELECT id, kind, status FROM executions WHERE parent_id = :id ORDER BY created_at, id;

-- name: set_status
UPDATE executions SET status = :status, updated_at = :now WHERE id = :id;

-- name: finish_execution
UPDATE executions
SET status = :status, output = :output, error = :error, updated_at = :now,
    ready_at = NULL, lease_owner = NULL, lease_expires = NULL
WHERE id = :id;

-- name: make_ready
UPDATE executions SET ready_at = :now
WHERE id = :id AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') AND ready_at IS NULL;

-- name: request_cancel
UPDATE executions SET cancel_requested = 1, cancel_reason = :reason, updated_at = :now
WHERE id = :id AND cancel_requested = 0 AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED');

-- name: claimable_workflows
SELECT * FROM executions
WHERE type = 'workflow'
  AND ((lease_owner IS NULL AND ready_at IS NOT NULL AND ready_at <= :now)
       OR (lease_owner IS NOT NULL AND lease_expires < :now))
ORDER BY ready_at LIMIT :limit;

-- name: lease_workflow
UPDATE executions
SET lease_owner = :worker, lease_expires = :expires, ready_at = NULL, started = 1,
    status = 'RUNNING', updated_at = :now
WHERE id = :id;

-- name: release_workflow
-- Called in the transaction that found nothing left to feed, so a wake-up recorded during
-- the activation is already consumed; only a cancellation not yet fed needs another one.
UPDATE executions
SET lease_owner = NULL, lease_expires = NULL, status = :status, last_batch = :batch,
    cancel_batch = coalesce(cancel_batch, :cancel_batch), updated_at = :now,
    ready_at = CASE WHEN cancel_requested = 1 AND coalesce(cancel_batch, :cancel_batch) IS NULL
                    THEN :now END
WHERE id = :id AND lease_owner = :worker;

-- name: release_lease
UPDATE executions SET lease_owner = NULL, lease_expires = NULL, ready_at = :now
WHERE id = :id AND lease_owner = :worker;

-- name: extend_workflow_lease
UPDATE executions SET lease_expires = :expires WHERE id = :id AND lease_owner = :worker;

-- name: check_lease
-- The row, and whether messages wait for a receive().
SELECT *, EXISTS (SELECT 1 FROM messages m
                  WHERE m.execution_id = :id AND m.consumed_step IS NULL) AS queued_messages
FROM executions WHERE id = :id AND lease_owner = :worker;

-- name: keep_batch
UPDATE executions SET last_batch = :batch, cancel_batch = coalesce(cancel_batch, :cancel_batch),
    updated_at = :now
WHERE id = :id AND lease_owner = :worker;

-- name: next_ready_workflow
SELECT min(ready_at) FROM executions WHERE ready_at IS NOT NULL AND lease_owner IS NULL;

-- name: steps_of
SELECT step, kind, name, status, result, error, batch, ref FROM steps
WHERE execution_id = :id ORDER BY step;

-- name: insert_step
INSERT INTO steps (execution_id, step, kind, name, status, result, error, batch, ref, timeout_id,
                   made_in)
VALUES (:id, :step, :kind, :name, :status, :result, :error, :batch, :ref, :timeout_id, :made_in);

-- name: set_batch
UPDATE steps SET batch = :batch WHERE execution_id = :id AND step = :step;

-- name: cancel_step
UPDATE steps SET status = 'cancelled', batch = :batch WHERE execution_id = :id AND step = :step;

-- name: ready_steps
SELECT step, kind, name, status, result, error, batch, ref FROM steps
WHERE execution_id = :id AND status != 'pending' AND batch IS NULL ORDER BY step;

-- name: resolve_step
UPDATE steps SET status = :status, result = :result, error = :error
WHERE execution_id = :id AND step = :step AND status = 'pending'
RETURNING kind, name, ref, timeout_id;

-- name: pending_steps
SELECT step, kind, name, ref, timeout_id FROM steps
WHERE execution_id = :id AND status = 'pending' ORDER BY step;

-- name: pending_step
SELECT step, kind, name, ref, timeout_id FROM steps
WHERE execution_id = :id AND step = :step AND status = 'pending';

-- name: pending_receives
SELECT step FROM steps
WHERE execution_id = :id AND kind = 'receive' AND status = 'pending' ORDER BY step;

-- name: waiting_on_promise
SELECT step FROM steps
WHERE execution_id = :id AND kind = 'promise' AND name = :name AND status = 'pending'
ORDER BY step;

-- name: insert_task
INSERT INTO tasks (id, execution_id, workflow_id, step, kind, input, status, max_retries,
                   retry_policy, timeout, available_at, created_at, updated_at, max_recoveries,
                   trace, attempt, lease_owner, lease_expires)
VALUES (:id, :execution_id, :workflow_id, :step, :kind, :input, :status, :max_retries,
        :retry_policy, :timeout, :now, :now, :now, :max_recoveries, :trace, :attempt,
        :lease_owner, :lease_expires);

-- name: get_task
SELECT * FROM tasks WHERE id = :id;

-- name: lock_task
SELECT * FROM tasks WHERE id = :id;

-- name: tasks_of
SELECT * FROM tasks WHERE execution_id = :id ORDER BY created_at, id;

-- name: due_tasks
SELECT id FROM tasks WHERE status = 'PENDING' AND available_at <= :now
ORDER BY available_at LIMIT :limit;

-- name: next_due_task
SELECT min(available_at) FROM tasks WHERE status = 'PENDING';

-- name: lease_task
UPDATE tasks
SET status = 'RUNNING', attempt = attempt + 1, lease_owner = :worker,
    lease_expires = :expires, updated_at = :now
WHERE id = :id AND status = 'PENDING'
RETURNING *;

-- name: extend_task_lease
UPDATE tasks SET lease_expires = :expires
WHERE id = :id AND attempt = :attempt AND lease_owner = :worker AND status = 'RUNNING';

-- name: update_task
UPDATE tasks
SET status = :status, output = :output, error = :error, available_at = :available_at,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE id = :id;

-- name: expired_tasks
SELECT * FROM tasks WHERE status = 'RUNNING' AND lease_expires < :before;

-- name: requeue_task
-- A lost attempt: run again at once, without spending a retry.
UPDATE tasks
SET status = 'PENDING', error = :error, available_at = :now, recoveries = recoveries + 1,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE id = :id;

-- name: expired_workflows
UPDATE executions SET lease_owner = NULL, lease_expires = NULL, ready_at = :now
WHERE lease_owner IS NOT NULL AND lease_expires < :before;

-- name: insert_timer
INSERT INTO timers (id, execution_id, step, kind, fire_at, status)
VALUES (:id, :execution_id, :step, :kind, :fire_at, 'pending');

-- name: due_timers
SELECT id, execution_id, step, kind FROM timers
WHERE status = 'pending' AND fire_at <= :now ORDER BY fire_at LIMIT 1000;

-- name: next_timer
SELECT min(fire_at) FROM timers WHERE status = 'pending';

-- name: close_timer
UPDATE timers SET status = :status WHERE id = :id AND status = 'pending'
RETURNING execution_id, step, kind;

-- name: get_promise
SELECT status, value, error FROM promises WHERE execution_id = :id AND name = :name;

-- name: insert_promise
INSERT INTO promises (execution_id, name, status, value, error)
VALUES (:id, :name, :status, :value, :error);

-- name: settle_promise
UPDATE promises SET status = :status, value = :value, error = :error
WHERE execution_id = :id AND name = :name;

-- name: promises_of
SELECT name, status, value, error FROM promises WHERE execution_id = :id ORDER BY name;

-- name: insert_message
INSERT INTO messages (id, execution_id, payload) VALUES (:mid, :id, :payload);

-- name: next_message
SELECT n, id, payload FROM messages
WHERE execution_id = :id AND consumed_step IS NULL ORDER BY n LIMIT 1;

-- name: consume_message
UPDATE messages SET consumed_step = :step WHERE n = :n;

-- name: set_state
INSERT INTO state (execution_id, key, value) VALUES (:id, :key, :value)
ON CONFLICT (execution_id, key) DO UPDATE SET value = excluded.value;

-- name: clear_state
DELETE FROM state WHERE execution_id = :id AND key = :key;

-- name: state_of
SELECT key, value FROM state WHERE execution_id = :id ORDER BY key;

-- name: unfinished_by_status
SELECT type, status, count(*) FROM executions
WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') GROUP BY type, status;

-- name: due_task_figures
SELECT count(*), min(available_at) FROM tasks WHERE status = 'PENDING' AND available_at <= :now;

-- name: running_task_count
SELECT count(*) FROM tasks WHERE status = 'RUNNING';

-- name: due_timer_count
SELECT count(*) FROM timers WHERE status = 'pending' AND fire_at <= :now;

-- name: lease_owner_count
SELECT count(*) FROM (
  SELECT lease_owner FROM tasks WHERE status = 'RUNNING' AND lease_owner IS NOT NULL
  UNION
  SELECT lease_owner FROM executions WHERE lease_owner IS NOT NULL
);

-- name: set_failed_step
UPDATE executions SET failed_step = :step WHERE id = :id;

-- name: reopen_execution
-- The check and the change in one statement: of two concurrent retries, one matches.
UPDATE executions
SET status = 'PENDING', retries = retries + 1, output = NULL, error = NULL, updated_at = :now
WHERE id = :id AND status = 'FAILED'
RETURNING *;

-- name: reopen_cancelled_child
-- A child its parent cancelled when the parent failed: reopened with the parent's retry.
UPDATE executions
SET status = 'PENDING', retries = retries + 1, output = NULL, error = NULL,
    cancel_requested = 0, cancel_reason = NULL, updated_at = :now
WHERE id = :id AND status = 'CANCELLED' AND cancel_reason = :reason
RETURNING *;

-- name: rewind_workflow
UPDATE executions
SET last_batch = :batch, failed_step = NULL, ready_at = :now, lease_owner = NULL,
    lease_expires = NULL,
    cancel_batch = CASE WHEN cancel_batch > :batch THEN NULL ELSE cancel_batch END
WHERE id = :id;

-- name: steps_to_rewind
SELECT step, kind, name, status, batch, ref, timeout_id, made_in FROM steps
WHERE execution_id = :id AND (batch IS NULL OR batch > :batch OR made_in > :batch)
ORDER BY step;

-- name: get_step
SELECT step, kind, status, batch FROM steps WHERE execution_id = :id AND step = :step;

-- name: delete_step
DELETE FROM steps WHERE execution_id = :id AND step = :step;

-- name: delete_step_timers
DELETE FROM timers WHERE execution_id = :id AND step = :step;

-- name: release_messages
UPDATE messages SET consumed_step = NULL WHERE execution_id = :id AND consumed_step = :step;

-- name: detach_step_children
UPDATE executions SET parent_step = NULL WHERE parent_id = :id AND parent_step = :step;

-- name: detach_step_tasks
UPDATE tasks SET step = NULL WHERE workflow_id = :id AND step = :step;

-- name: reopen_step
UPDATE steps SET status = 'pending', result = NULL, error = NULL, batch = NULL
WHERE execution_id = :id AND step = :step;

-- name: settle_step
UPDATE steps SET status = :status, result = :result, error = :error, batch = NULL
WHERE execution_id = :id AND step = :step;

-- name: unfeed_step
UPDATE steps SET batch = NULL WHERE execution_id = :id AND step = :step;

-- name: reopen_timer
UPDATE timers SET status = 'pending' WHERE id = :id AND status = 'cancelled';

-- name: retry_task
-- A fresh retry budget: attempts so far no longer count against ``max_retries``.
UPDATE tasks
SET status = 'PENDING', budget_from = attempt, recoveries = 0, output = NULL, error = NULL,
    available_at = :now, lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE id = :id AND status IN ('FAILED', 'CANCELLED');

-- name: last_state_step
SELECT kind, result FROM steps
WHERE execution_id = :id AND name = :key AND kind IN ('state', 'clear')
ORDER BY step DESC LIMIT 1;

-- name: insert_key
INSERT INTO api_keys (id, org, name, hash, created_at) VALUES (:id, :org, :name, :hash, :now);

-- name: get_key
SELECT id, org, name, hash, created_at, last_used_at, revoked_at FROM api_keys WHERE id = :id;

-- name: list_keys
SELECT id, org, name, hash, created_at, last_used_at, revoked_at FROM api_keys
WHERE (:org IS NULL OR org = :org) ORDER BY org, created_at, id;

-- name: revoke_key
UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL;

-- name: touch_key
UPDATE api_keys SET last_used_at = :now WHERE id = :id;

-- name: insert_secret
INSERT INTO server_secrets (name, value, created_at) VALUES (:name, :value, :now)
ON CONFLICT (name) DO NOTHING;

-- name: get_secret
SELECT value FROM server_secrets WHERE name = :name;
-- name: open_input
UPDATE executions SET input_open = :open WHERE id = :id;

-- name: close_input
UPDATE executions SET input_open = :closed
WHERE id = :id AND input_open = :open AND NOT EXISTS (
  SELECT 1 FROM messages WHERE execution_id = :id AND consumed_step IS NULL
);

-- name: queued_messages
SELECT count(*) FROM messages WHERE execution_id = :id AND consumed_step IS NULL;

-- name: get_message
SELECT n, payload, consumed_step FROM messages WHERE execution_id = :id AND id = :mid;

-- name: nth_event
SELECT execution_id, seq, type, ts, data, task_id, attempt FROM events
WHERE execution_id = :id AND type = :type ORDER BY seq LIMIT 1 OFFSET :offset;

-- name: reopen_input
UPDATE executions SET input_open = :open WHERE id = :id AND input_open = :closed;
