-- Schema version 2 (contract 0.1.1, registry.remove): the history of removed registry bindings. A remove
-- moves the live row out of `registry` into this table: `registry` keeps only live bindings, nothing is
-- forgotten. `removal` numbers the removals of one key from 1. Same shape as the SQLite store's.
CREATE TABLE registry_removed (
    label        text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    removal      bigint NOT NULL CHECK (removal >= 1),
    value        bytea NOT NULL,
    value_sha256 text NOT NULL,
    bound_by     text COLLATE "C" NOT NULL REFERENCES runs (run_id),
    removed_by   text COLLATE "C" NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key, removal)
);
