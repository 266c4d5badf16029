-- Ids of remote objects deleted before we ever saw them (a Delete that
-- overtook its Create): a late Create of one is ignored.
CREATE TABLE tombstones (
    ap_id       TEXT PRIMARY KEY,
    actor_ap_id TEXT NOT NULL,
    deleted_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
