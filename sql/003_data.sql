-- 003_data: the schema of the tables gerbang-data serves (SCHEMA_DIR), and
-- its example resource, notes.
--
-- Tenant data lives in the schema gerbang_data, apart from the gateway's
-- own tables (schema gerbang): a declaration names a table of this schema
-- only, so no declaration can reach users, tokens or tasks.  A table that
-- gerbang-data serves needs, and gerbang-data checks at start:
--   id uuid PRIMARY KEY with a default, company_id uuid NOT NULL (set by
--   the gateway from the caller's token), version bigint NOT NULL with a
--   default (the row version behind ETag and If-Match), created_at and
--   updated_at timestamptz NOT NULL with defaults;
--   ENABLE and FORCE ROW LEVEL SECURITY, and permissive policies that are
--   exactly USING and WITH CHECK (company_id = gerbang.current_company());
--   SELECT, INSERT, UPDATE, DELETE granted to gerbang_runtime, which owns
--   nothing.
-- A foreign key to another tenant table should be composite, (company_id,
-- x_id) REFERENCES t (company_id, id): the key check bypasses row security,
-- and a single-column key would accept another company's row.

CREATE SCHEMA gerbang_data;
REVOKE ALL ON SCHEMA gerbang_data FROM PUBLIC;
GRANT USAGE ON SCHEMA gerbang_data TO gerbang_runtime;

-- notes: etc/schema.d/notes.json declares it as /v1/data/notes.
CREATE TABLE gerbang_data.notes (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id uuid NOT NULL DEFAULT gerbang.current_company()
		REFERENCES gerbang.companies (id) ON DELETE CASCADE,
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	body text CHECK (length(body) <= 100000),
	done boolean NOT NULL DEFAULT false,
	due date,
	-- the target of composite foreign keys from other tenant tables
	CONSTRAINT notes_company_id_id UNIQUE (company_id, id)
);
-- Lists page by (sort key, id) within one company: the default order, and
-- the due date (nulls last, as the ascending order puts them).
CREATE INDEX notes_company_created ON gerbang_data.notes (company_id, created_at, id);
CREATE INDEX notes_company_due ON gerbang_data.notes (company_id, due, id);

ALTER TABLE gerbang_data.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang_data.notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang_data.notes
	USING (company_id = gerbang.current_company())
	WITH CHECK (company_id = gerbang.current_company());

GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang_data.notes TO gerbang_runtime;
