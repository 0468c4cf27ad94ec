-- Alert events, kept apart from the events for a quick list and a longer
-- retention.
CREATE TABLE IF NOT EXISTS {db}.alerts
(
    id              String,
    time            DateTime('UTC'),
    tenant          String,
    phone_number_id String,
    error_code      Int32,
    error_class     String,
    reason          String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, tenant, phone_number_id, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.alerts_mv TO {db}.alerts AS
SELECT id, time, tenant, phone_number_id, error_code, error_class, reason
FROM {db}.events
WHERE kind = 'alert';
