-- Login throttle (drafts/logins.go): one row per key ("u:<user>|<address>",
-- "ip:<address>") counting login attempts in a fixed window. An attempt is
-- counted, and committed, before its password is hashed, so the limits hold
-- under any concurrency and across API nodes.
CREATE TABLE login_throttle (
    key           text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    attempts      integer NOT NULL
);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);
