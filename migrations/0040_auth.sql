-- Users, browser sessions and API tokens of the review API (server package,
-- drafts/users.go). Passwords are argon2id hashes in PHC string form with a
-- per-user salt; session ids and API tokens are stored only as SHA-256
-- hashes, so a copy of the database does not let anyone log in.
CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE,
    -- radiologist, qa_lead, admin
    role           text NOT NULL CHECK (role IN ('radiologist', 'qa_lead', 'admin')),
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id_hash        text PRIMARY KEY,          -- hex SHA-256 of the cookie value
    user_id        bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token     text NOT NULL,             -- sent back in X-CSRF-Token on writes
    remote_addr    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           text NOT NULL DEFAULT '',
    token_hash     text NOT NULL UNIQUE,      -- hex SHA-256 of the bearer token
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
