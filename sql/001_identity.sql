-- 001_identity: companies, users, refresh tokens, under row-level security.
--
-- Roles (created by the administrator before the first migration, see
-- gerbang-migrate(8)):
--   the migration owner (runs this file; owns every table and function; has
--     BYPASSRLS so the few security-definer functions below can look up
--     what a request needs before it has a tenant)
--   gerbang_runtime, NOLOGIN, no BYPASSRLS, owns nothing: the programs' login
--     role is a member of it and gets exactly the grants below.
--
-- Every tenant table has ENABLE and FORCE ROW LEVEL SECURITY with a policy
-- on app.company_id, which the gateway sets with set_config(..., true) at
-- the start of every tenant transaction.  Unset, it matches no row.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gerbang_runtime') THEN
		RAISE EXCEPTION 'role gerbang_runtime does not exist: create it first (see gerbang-migrate(8))';
	END IF;
	IF (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = 'gerbang_runtime') THEN
		RAISE EXCEPTION 'role gerbang_runtime must have neither SUPERUSER nor BYPASSRLS';
	END IF;
	-- FORCE ROW LEVEL SECURITY binds the owner too: only BYPASSRLS lets the
	-- security-definer lookups below see a row before there is a tenant.
	IF NOT (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'the migration owner % needs BYPASSRLS', current_user;
	END IF;
END
$$;

CREATE SCHEMA gerbang;
REVOKE ALL ON SCHEMA gerbang FROM PUBLIC;
GRANT USAGE ON SCHEMA gerbang TO gerbang_runtime;

-- The tenant of the current transaction, NULL when unset.
CREATE FUNCTION gerbang.current_company() RETURNS uuid
	LANGUAGE sql STABLE
	AS $$ SELECT nullif(current_setting('app.company_id', true), '')::uuid $$;

CREATE TABLE gerbang.companies (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gerbang.users (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id uuid NOT NULL DEFAULT gerbang.current_company()
		REFERENCES gerbang.companies (id) ON DELETE CASCADE,
	email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
	password_hash text NOT NULL,
	role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
	disabled boolean NOT NULL DEFAULT false,
	platform_admin boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT users_email_unique UNIQUE (company_id, email)
);
CREATE INDEX users_company_created ON gerbang.users (company_id, created_at, id);

CREATE TABLE gerbang.refresh_tokens (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id uuid NOT NULL DEFAULT gerbang.current_company()
		REFERENCES gerbang.companies (id) ON DELETE CASCADE,
	user_id uuid NOT NULL REFERENCES gerbang.users (id) ON DELETE CASCADE,
	family uuid NOT NULL,
	token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz,
	replaced_by uuid REFERENCES gerbang.refresh_tokens (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON gerbang.refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON gerbang.refresh_tokens (user_id);

ALTER TABLE gerbang.companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang.companies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang.companies
	USING (id = gerbang.current_company());

ALTER TABLE gerbang.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang.users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang.users
	USING (company_id = gerbang.current_company())
	WITH CHECK (company_id = gerbang.current_company());

ALTER TABLE gerbang.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang.refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang.refresh_tokens
	USING (company_id = gerbang.current_company())
	WITH CHECK (company_id = gerbang.current_company());

GRANT SELECT ON gerbang.companies TO gerbang_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang.users TO gerbang_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON gerbang.refresh_tokens TO gerbang_runtime;

-- The lookups that must run before a request has a tenant.  Each is as
-- narrow as it can be: it returns an id, never rows of another tenant.

-- Login: the company of a slug (NULL when unknown).
CREATE FUNCTION gerbang.company_by_slug(p_slug text) RETURNS uuid
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, gerbang
	AS $$ SELECT id FROM gerbang.companies WHERE slug = p_slug $$;

-- Refresh: the company of a refresh token, by its hash (NULL when unknown).
CREATE FUNCTION gerbang.company_by_refresh(p_hash text) RETURNS uuid
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, gerbang
	AS $$ SELECT company_id FROM gerbang.refresh_tokens WHERE token_hash = p_hash $$;

-- Platform administration (the gateway allows these to platform admins only).
CREATE FUNCTION gerbang.company_create(p_slug text, p_name text)
	RETURNS TABLE (id uuid, slug text, name text, created_at timestamptz)
	LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, gerbang
	AS $$ INSERT INTO gerbang.companies (slug, name) VALUES (p_slug, p_name)
	      RETURNING id, slug, name, created_at $$;

CREATE FUNCTION gerbang.company_list(p_after uuid, p_limit int)
	RETURNS TABLE (id uuid, slug text, name text, created_at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, gerbang
	AS $$ SELECT id, slug, name, created_at FROM gerbang.companies
	      WHERE p_after IS NULL OR id > p_after
	      ORDER BY id LIMIT least(greatest(p_limit, 1), 200) $$;

REVOKE ALL ON FUNCTION gerbang.company_by_slug(text), gerbang.company_by_refresh(text),
	gerbang.company_create(text, text), gerbang.company_list(uuid, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gerbang.company_by_slug(text), gerbang.company_by_refresh(text),
	gerbang.company_create(text, text), gerbang.company_list(uuid, int) TO gerbang_runtime;
