-- Numbered steps; PostgresBackend.migrate runs the missing ones in one transaction under an
-- advisory lock and records each in runstream_schema. Ids sort bytewise (COLLATE "C"), as
-- in SQLite, so pages and UUIDv7 order agree whatever the database's collation.

-- name: migrate_1
CREATE TABLE executions (
  id               TEXT COLLATE "C" PRIMARY KEY,
  org              TEXT NOT NULL,
  kind             TEXT NOT NULL,
  type             TEXT NOT NULL,
  status           TEXT NOT NULL,
  input            BYTEA,
  output           BYTEA,
  error            TEXT,
  parent_id        TEXT COLLATE "C",
  parent_step      INTEGER,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  last_seq         BIGINT NOT NULL DEFAULT 0,
  started          INTEGER NOT NULL DEFAULT 0,
  ready_at         BIGINT,
  lease_owner      TEXT,
  lease_expires    BIGINT,
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
  execution_id TEXT COLLATE "C" NOT NULL,
  seq          BIGINT NOT NULL,
  type         TEXT NOT NULL,
  ts           BIGINT NOT NULL,
  data         BYTEA,
  task_id      TEXT,
  attempt      INTEGER,
  PRIMARY KEY (execution_id, seq)
);
CREATE TABLE steps (
  execution_id TEXT COLLATE "C" NOT NULL,
  step         INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  name         TEXT NOT NULL,
  status       TEXT NOT NULL,
  result       BYTEA,
  error        TEXT,
  batch        INTEGER,
  ref          TEXT,
  timeout_id   TEXT,
  PRIMARY KEY (execution_id, step)
);
CREATE TABLE tasks (
  id            TEXT COLLATE "C" PRIMARY KEY,
  execution_id  TEXT COLLATE "C" NOT NULL,
  workflow_id   TEXT COLLATE "C",
  step          INTEGER,
  kind          TEXT NOT NULL,
  input         BYTEA,
  status        TEXT NOT NULL,
  attempt       INTEGER NOT NULL DEFAULT 0,
  max_retries   INTEGER NOT NULL DEFAULT 0,
  retry_policy  BYTEA,
  timeout       DOUBLE PRECISION,
  available_at  BIGINT NOT NULL,
  lease_owner   TEXT,
  lease_expires BIGINT,
  output        BYTEA,
  error         TEXT,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE INDEX tasks_due ON tasks (available_at) WHERE status = 'PENDING';
CREATE INDEX tasks_leases ON tasks (lease_expires) WHERE status = 'RUNNING';
CREATE INDEX tasks_execution ON tasks (execution_id);
CREATE TABLE timers (
  id           TEXT PRIMARY KEY,
  execution_id TEXT COLLATE "C" NOT NULL,
  step         INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  fire_at      BIGINT NOT NULL,
  status       TEXT NOT NULL
);
CREATE INDEX timers_due ON timers (fire_at) WHERE status = 'pending';
CREATE TABLE promises (
  execution_id TEXT COLLATE "C" NOT NULL,
  name         TEXT NOT NULL,
  status       TEXT NOT NULL,
  value        BYTEA,
  error        TEXT,
  PRIMARY KEY (execution_id, name)
);
CREATE TABLE messages (
  n             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  execution_id  TEXT COLLATE "C" NOT NULL,
  payload       BYTEA,
  consumed_step INTEGER
);
CREATE INDEX messages_unconsumed ON messages (execution_id, n) WHERE consumed_step IS NULL;
CREATE TABLE state (
  execution_id TEXT COLLATE "C" NOT NULL,
  key          TEXT NOT NULL,
  value        BYTEA,
  PRIMARY KEY (execution_id, key)
);

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
  hash         BYTEA NOT NULL,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at   BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org, created_at);
CREATE TABLE server_secrets (
  name       TEXT PRIMARY KEY,
  value      BYTEA NOT NULL,
  created_at BIGINT NOT NULL
);

-- name: migrate_5
-- 0: takes no messages, 1: a task taking messages, 2: a task that stopped taking them
ALTER TABLE executions ADD COLUMN input_open INTEGER NOT NULL DEFAULT 0;

-- name: migrate_6
-- A lost worker is not the task's fault: lease expiries are counted apart from retries.
ALTER TABLE tasks ADD COLUMN recoveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN max_recoveries INTEGER;
