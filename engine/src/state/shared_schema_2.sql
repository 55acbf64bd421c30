-- Clients' request keys (`Idempotency-Key`): a row, written in the action's transaction, makes
-- a retried request get its first answer instead of acting twice. Kept a day.
CREATE TABLE request_keys (
    actor       TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    request     TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX request_keys_by_age ON request_keys (at);
