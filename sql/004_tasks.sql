-- 004_tasks: background tasks (gerbang-tasks, gerbang-worker), under
-- row-level security like every tenant table.
--
-- A task row is the task's state and result; its message in the Redis
-- queue only says "work on it".  gerbang-tasks inserts the row (PENDING)
-- and pushes the message inside one transaction, committing only once the
-- push succeeded: a failed push rolls the row back.  Its insert statement
-- also takes the task's advisory lock (gerbang.task_lock), held until that
-- transaction ends, and gerbang.task_start() takes it too, so a worker that
-- pops the message before the COMMIT waits for it and then sees the row
-- (or, after a rollback, sees none and drops the message).  Results are written with
-- conditional updates (WHERE status = 'STARTED'): a task that runs twice
-- (a worker that died, a visibility deadline that passed) gets one result.

CREATE TABLE gerbang.tasks (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id uuid NOT NULL DEFAULT gerbang.current_company()
		REFERENCES gerbang.companies (id) ON DELETE CASCADE,
	-- who asked (kept when the user is deleted, as history)
	created_by uuid,
	kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
	status text NOT NULL DEFAULT 'PENDING'
		CHECK (status IN ('PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'CANCELLED')),
	input jsonb NOT NULL,
	result jsonb,
	error text CHECK (length(error) <= 1000),
	attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	-- Idempotency-Key and the SHA-256 of the kind and input it was first
	-- used with: the same key again returns this task, with another
	-- request it is a conflict.
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
	request_sha256 text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	finished_at timestamptz,
	CONSTRAINT tasks_idempotency UNIQUE (company_id, idempotency_key)
);
-- GET /v1/tasks pages newest first.
CREATE INDEX tasks_company_created ON gerbang.tasks (company_id, created_at DESC, id DESC);

-- The active (PENDING or STARTED) tasks of each company, for its limit
-- (TASKS_MAX_QUEUED), kept by the triggers below: counting the rows at each
-- enqueue would cost as much as the company's backlog.  Spread over 16 rows
-- a company (a transaction changes the one of its connection), so that
-- concurrent enqueues of one company rarely wait for each other's row lock
-- (held to the end of their transaction); a row may go negative, the sum
-- is exact.
CREATE TABLE gerbang.task_counts (
	company_id uuid NOT NULL DEFAULT gerbang.current_company()
		REFERENCES gerbang.companies (id) ON DELETE CASCADE,
	shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
	active bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (company_id, shard)
);

ALTER TABLE gerbang.tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang.tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang.tasks
	USING (company_id = gerbang.current_company())
	WITH CHECK (company_id = gerbang.current_company());

ALTER TABLE gerbang.task_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang.task_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang.task_counts
	USING (company_id = gerbang.current_company())
	WITH CHECK (company_id = gerbang.current_company());

-- No DELETE: a task is cancelled, never removed, by the programs.
GRANT SELECT, INSERT, UPDATE ON gerbang.tasks TO gerbang_runtime;
GRANT SELECT, INSERT, UPDATE ON gerbang.task_counts TO gerbang_runtime;

-- Keeps gerbang.task_counts: +1 for each new active task, -1 when one
-- ends, nothing for PENDING <-> STARTED.  Tasks are never deleted but
-- with their company, whose counts go with it.  Runs as the caller, under
-- row-level security, in the caller's transaction.  A transaction changes
-- one row of the 16 only, the one of its backend (pg_backend_pid() % 16):
-- concurrent connections rarely share one, and a transaction holding two
-- row locks, which another could take in the other order, never occurs.
-- New tasks are counted per statement (an INSERT of many tasks is one
-- change); the end of a task, one at a time, per row.  No SET clause and
-- no helper function: each would cost a configuration change or a call
-- per task.
CREATE FUNCTION gerbang.tasks_count_new() RETURNS trigger
	LANGUAGE plpgsql
	AS $$
BEGIN
	INSERT INTO gerbang.task_counts AS c (company_id, shard, active)
		SELECT n.company_id, (pg_catalog.pg_backend_pid() % 16)::smallint, pg_catalog.count(*)
		FROM new_tasks n WHERE n.status IN ('PENDING', 'STARTED')
		GROUP BY n.company_id
		ON CONFLICT (company_id, shard) DO UPDATE SET active = c.active + excluded.active;
	RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_new AFTER INSERT ON gerbang.tasks
	REFERENCING NEW TABLE AS new_tasks
	FOR EACH STATEMENT EXECUTE FUNCTION gerbang.tasks_count_new();

CREATE FUNCTION gerbang.tasks_count_change() RETURNS trigger
	LANGUAGE plpgsql
	AS $$
DECLARE
	delta int := CASE WHEN NEW.status IN ('PENDING', 'STARTED') THEN 1 ELSE 0 END
	           - CASE WHEN OLD.status IN ('PENDING', 'STARTED') THEN 1 ELSE 0 END;
BEGIN
	IF delta <> 0 THEN
		INSERT INTO gerbang.task_counts AS c (company_id, shard, active)
			VALUES (NEW.company_id, (pg_catalog.pg_backend_pid() % 16)::smallint, delta)
			ON CONFLICT (company_id, shard) DO UPDATE SET active = c.active + delta;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_change AFTER UPDATE OF status ON gerbang.tasks
	FOR EACH ROW EXECUTE FUNCTION gerbang.tasks_count_change();

-- The advisory lock of one task, until the end of the transaction: class
-- 0x67627461 ("gbta"), so it shares no key with other advisory locks; a
-- hash collision between two tasks only makes one wait for the other's
-- enqueue to end.  Taken by the enqueuing statement, not by a trigger: a
-- bulk insert of many tasks in one transaction would run out of lock slots.
-- NULL (no task) takes none.
CREATE FUNCTION gerbang.task_lock(p_id uuid) RETURNS void
	LANGUAGE sql VOLATILE STRICT
	AS $$ SELECT pg_catalog.pg_advisory_xact_lock(1734505569, pg_catalog.hashtext(p_id::text)) $$;

-- A worker's start of one delivery: waits for the enqueuing transaction
-- (the lock), then, in a new snapshot (a VOLATILE function's statements
-- each take one under READ COMMITTED), marks a PENDING or STARTED task
-- STARTED and counts the attempt.  No row: the task is finished,
-- cancelled, or was never committed.  Runs as the caller, under row-level
-- security: the worker sets app.company_id first, as every program does.
CREATE FUNCTION gerbang.task_start(p_id uuid)
	RETURNS TABLE (kind text, input jsonb, attempts int)
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, gerbang
	AS $$
BEGIN
	PERFORM gerbang.task_lock(p_id);
	RETURN QUERY
		UPDATE gerbang.tasks t
		SET status = 'STARTED', attempts = t.attempts + 1,
		    started_at = coalesce(t.started_at, now()), updated_at = now()
		WHERE t.id = p_id AND t.status IN ('PENDING', 'STARTED')
		RETURNING t.kind, t.input, t.attempts;
END
$$;

REVOKE ALL ON FUNCTION gerbang.task_lock(uuid), gerbang.task_start(uuid),
	gerbang.tasks_count_new(), gerbang.tasks_count_change() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gerbang.task_lock(uuid), gerbang.task_start(uuid),
	gerbang.tasks_count_new(), gerbang.tasks_count_change() TO gerbang_runtime;
