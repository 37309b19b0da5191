-- sealed PostgreSQL store, schema version 1. Applied once, in a transaction, by `PgStore::open`
-- (under an advisory lock, so hosts starting together apply it once). Never edit a released migration:
-- add the next file and list it in src/schema.rs.
--
-- Labels and keys are COLLATE "C": primary-key order is byte order, as in the SQLite store, so both
-- compute the same content digest.
CREATE TABLE runs (
    run_id           text COLLATE "C" PRIMARY KEY,
    position         bigint NOT NULL UNIQUE CHECK (position >= 1),
    snapshot_digest  text NOT NULL,
    workflow         text NOT NULL,
    status           text NOT NULL,
    write_count      bigint NOT NULL CHECK (write_count >= 0),
    write_set_digest text NOT NULL,
    ledger_before    text NOT NULL,
    ledger_after     text NOT NULL
);
CREATE TABLE registry (
    label        text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    value        bytea NOT NULL,
    value_sha256 text NOT NULL,
    run_id       text COLLATE "C" NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key)
);
CREATE TABLE events (
    label   text COLLATE "C" NOT NULL,
    key     text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL CHECK (seq >= 1),
    payload bytea NOT NULL,
    run_id  text COLLATE "C" NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key, seq)
);
CREATE TABLE state (
    label   text COLLATE "C" NOT NULL,
    key     text COLLATE "C" NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    value   bytea NOT NULL,
    run_id  text COLLATE "C" NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key)
);
-- One row: the head of the hash chain over all committed runs of all hosts. Every run locks it
-- (SELECT … FOR UPDATE) before its first storage call: the store's write lock.
CREATE TABLE ledger (
    id             integer PRIMARY KEY CHECK (id = 1),
    head           text NOT NULL,
    runs_committed bigint NOT NULL CHECK (runs_committed >= 0)
);
INSERT INTO ledger (id, head, runs_committed)
    VALUES (1, '0000000000000000000000000000000000000000000000000000000000000000', 0);
-- Run ids consumed by any host (replay protection across hosts), committed or not.
CREATE TABLE run_ids (
    run_id text COLLATE "C" PRIMARY KEY
);
