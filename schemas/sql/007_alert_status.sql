-- Alerts carry their status: firing when a rule starts firing, resolved
-- when it stops (analytics.Alerter). 18.16 has no ADD COLUMN IF NOT
-- EXISTS, so the table, derived from the events, is built again and
-- filled from them; running this again after a cut gives the same table.
DROP TABLE IF EXISTS {db}.alerts_mv;

DROP TABLE IF EXISTS {db}.alerts;

CREATE TABLE IF NOT EXISTS {db}.alerts
(
    id              String,
    time            DateTime('UTC'),
    tenant          String,
    phone_number_id String,
    status          String,
    error_code      Int32,
    error_class     String,
    reason          String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, tenant, phone_number_id, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.alerts_mv TO {db}.alerts AS
SELECT id, time, tenant, phone_number_id, status, error_code, error_class, reason
FROM {db}.events
WHERE kind = 'alert';

INSERT INTO {db}.alerts (id, time, tenant, phone_number_id, status, error_code, error_class, reason)
SELECT id, time, tenant, phone_number_id, status, error_code, error_class, reason
FROM {db}.events
WHERE kind = 'alert';
