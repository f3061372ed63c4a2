-- 005_chat: the messages of chat sessions (gerbang-chat), under row-level
-- security like every tenant table.
--
-- A session is named by its client (the {sid} of the route) and belongs to
-- one user of one company: the company by row security, the user by every
-- statement of gerbang-chat (user_id = the token's subject), so another
-- company's session and another user's are both "no such session".  A
-- message and the reply it got are inserted in one transaction, after the
-- reply is complete: a failed reply leaves no row.  seq orders them.

CREATE TABLE gerbang.chat_messages (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
	company_id uuid NOT NULL DEFAULT gerbang.current_company()
		REFERENCES gerbang.companies (id) ON DELETE CASCADE,
	user_id uuid NOT NULL,
	session_id text NOT NULL CHECK (session_id ~ '^[A-Za-z0-9_-]{1,64}$'),
	role text NOT NULL CHECK (role IN ('user', 'assistant')),
	content text NOT NULL CHECK (length(content) <= 1000000),
	-- the reply's model and finish reason, as the API said them
	model text CHECK (length(model) <= 128),
	finish_reason text CHECK (length(finish_reason) <= 32),
	created_at timestamptz NOT NULL DEFAULT now()
);
-- A session's history, in order, and its last messages.
CREATE INDEX chat_messages_session ON gerbang.chat_messages (company_id, user_id, session_id, seq);

ALTER TABLE gerbang.chat_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE gerbang.chat_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gerbang.chat_messages
	USING (company_id = gerbang.current_company())
	WITH CHECK (company_id = gerbang.current_company());

-- History is kept, never edited by the programs.
GRANT SELECT, INSERT ON gerbang.chat_messages TO gerbang_runtime;
