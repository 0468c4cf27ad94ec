-- Each message's (wamid's) lifecycle: one row per stage it reached, with
-- its time and, for a failure, the error code: accepted (Meta took the
-- send), sent, delivered, read, played, failed (a failed status or a send
-- that failed for good). Fed from events by a materialized view without
-- aggregation, which keeps inserts cheap (a view aggregating per wamid
-- cost twice as much); ReplacingMergeTree folds a stage seen twice. Per
-- message, for example:
--   SELECT wamid,
--          maxIf(time, stage = 'sent')      AS sent_at,
--          maxIf(time, stage = 'delivered') AS delivered_at,
--          maxIf(time, stage = 'read')      AS read_at,
--          maxIf(time, stage = 'failed')    AS failed_at,
--          max(error_code)                  AS error_code
--   FROM {db}.message_lifecycle
--   WHERE tenant = 'acme' AND phone_number_id = '1065…'
--   GROUP BY wamid
CREATE TABLE IF NOT EXISTS {db}.message_lifecycle
(
    tenant          String,
    phone_number_id String,
    wamid           String,
    stage           String,
    time            DateTime('UTC'),
    error_code      Int32,
    error_class     String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (tenant, phone_number_id, wamid, stage);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.message_lifecycle_mv TO {db}.message_lifecycle AS
SELECT
    tenant,
    phone_number_id,
    wamid,
    multiIf(kind = 'send_accepted', 'accepted', kind = 'send_failed', 'failed', status) AS stage,
    time,
    error_code,
    error_class
FROM {db}.events
WHERE wamid != '' AND (kind IN ('send_accepted', 'send_failed') OR kind = 'status' AND status != '');
