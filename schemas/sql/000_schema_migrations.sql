-- The versions applied to this database, one row per migration file. The
-- migrator runs this file before it reads the table, so it stays idempotent.
CREATE TABLE IF NOT EXISTS {db}.schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime
)
ENGINE = MergeTree
ORDER BY version;
