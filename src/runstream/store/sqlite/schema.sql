-- name: migrate_1
CREATE TABLE executions (
  id               TEXT PRIMARY KEY,
  org              TEXT NOT NULL,
  kind             TEXT NOT NULL,
  type             TEXT NOT NULL,
  status           TEXT NOT NULL,
  input            BLOB,
  output           BLOB,
  error            TEXT,
  parent_id        TEXT,
  parent_step      INTEGER,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  last_seq         INTEGER NOT NULL DEFAULT 0,
  started          INTEGER NOT NULL DEFAULT 0,
  ready_at         INTEGER,
  lease_owner      TEXT,
  lease_expires    INTEGER,
  last_batch       INTEGER NOT NULL DEFAULT -1,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  cancel_reason    TEXT,
  cancel_batch     INTEGER
);
CREATE INDEX executions_ready ON executions (ready_at) WHERE ready_at IS NOT NULL;
CREATE INDEX executions_leased ON executions (lease_expires) WHERE lease_owner IS NOT NULL;
CREATE INDEX executions_org ON executions (org, type, id);
CREATE INDEX executions_parent ON executions (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE events (
  execution_id TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  type         TEXT NOT NULL,
  ts           INTEGER NOT NULL,
  data         BLOB,
  task_id      TEXT,
  attempt      INTEGER,
  PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;
CREATE TABLE steps (
  execution_id TEXT NOT NULL,
  step         INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  name         TEXT NOT NULL,
  status       TEXT NOT NULL,
  result       BLOB,
  error        TEXT,
  batch        INTEGER,
  ref          TEXT,
  timeout_id   TEXT,
  PRIMARY KEY (execution_id, step)
) WITHOUT ROWID;
CREATE TABLE tasks (
  id            TEXT PRIMARY KEY,
  execution_id  TEXT NOT NULL,
  workflow_id   TEXT,
  step          INTEGER,
  kind          TEXT NOT NULL,
  input         BLOB,
  status        TEXT NOT NULL,
  attempt       INTEGER NOT NULL DEFAULT 0,
  max_retries   INTEGER NOT NULL DEFAULT 0,
  retry_policy  BLOB,
  timeout       REAL,
  available_at  INTEGER NOT NULL,
  lease_owner   TEXT,
  lease_expires INTEGER,
  output        BLOB,
  error         TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX tasks_due ON tasks (available_at) WHERE status = 'PENDING';
CREATE INDEX tasks_leases ON tasks (lease_expires) WHERE status = 'RUNNING';
CREATE INDEX tasks_execution ON tasks (execution_id);
CREATE TABLE timers (
  id           TEXT PRIMARY KEY,
  execution_id TEXT NOT NULL,
  step         INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  fire_at      INTEGER NOT NULL,
  status       TEXT NOT NULL
);
CREATE INDEX timers_due ON timers (fire_at) WHERE status = 'pending';
CREATE TABLE promises (
  execution_id TEXT NOT NULL,
  name         TEXT NOT NULL,
  status       TEXT NOT NULL,
  value        BLOB,
  error        TEXT,
  PRIMARY KEY (execution_id, name)
) WITHOUT ROWID;
CREATE TABLE messages (
  n             INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT NOT NULL UNIQUE,
  execution_id  TEXT NOT NULL,
  payload       BLOB,
  consumed_step INTEGER
);
CREATE INDEX messages_unconsumed ON messages (execution_id, n) WHERE consumed_step IS NULL;
CREATE TABLE state (
  execution_id TEXT NOT NULL,
  key          TEXT NOT NULL,
  value        BLOB,
  PRIMARY KEY (execution_id, key)
) WITHOUT ROWID;
-- name: migrate_2
ALTER TABLE executions ADD COLUMN trace TEXT;
ALTER TABLE tasks ADD COLUMN trace TEXT;
CREATE INDEX executions_unfinished ON executions (status)
  WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED');
-- name: migrate_3
-- Manual retry: how many times an execution was retried, the step whose failure ended it,
-- the batch that created each step (a retry rewinds to before a batch), and the attempts a
-- task used before its current retry budget.
ALTER TABLE executions ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN failed_step INTEGER;
ALTER TABLE steps ADD COLUMN made_in INTEGER;
ALTER TABLE tasks ADD COLUMN budget_from INTEGER NOT NULL DEFAULT 0;
-- name: migrate_4
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  org          TEXT NOT NULL,
  name         TEXT,
  hash         BLOB NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX api_keys_org ON api_keys (org, created_at);
CREATE TABLE server_secrets (
  name       TEXT PRIMARY KEY,
  value      BLOB NOT NULL,
  created_at INTEGER NOT NULL
);

-- name: migrate_5
-- 0: takes no messages, 1: a task taking messages, 2: a task that stopped taking them
ALTER TABLE executions ADD COLUMN input_open INTEGER NOT NULL DEFAULT 0;

-- name: migrate_6
-- A lost worker is not the task's fault: lease expiries are counted apart from retries.
ALTER TABLE tasks ADD COLUMN recoveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN max_recoveries INTEGER;
