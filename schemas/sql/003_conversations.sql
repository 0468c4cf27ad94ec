-- Per conversation (tenant, number, customer): first and last event seen,
-- inbound messages, outbound messages accepted by Meta (read receipts not
-- counted), handoffs to a human. Read with -Merge grouped by the key.
CREATE TABLE IF NOT EXISTS {db}.conversations
(
    tenant          String,
    phone_number_id String,
    user            String,
    month           Date,
    first_seen      AggregateFunction(min, DateTime('UTC')),
    last_seen       AggregateFunction(max, DateTime('UTC')),
    inbound         AggregateFunction(sum, UInt64),
    outbound        AggregateFunction(sum, UInt64),
    handoffs        AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (tenant, phone_number_id, user);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.conversations_mv TO {db}.conversations AS
SELECT
    tenant,
    phone_number_id,
    user,
    toStartOfMonth(time) AS month,
    minState(time) AS first_seen,
    maxState(time) AS last_seen,
    sumState(toUInt64(kind = 'inbound')) AS inbound,
    sumState(toUInt64(kind = 'send_accepted' AND message_type != 'read')) AS outbound,
    sumState(toUInt64(kind = 'handoff')) AS handoffs
FROM {db}.events
WHERE user != ''
GROUP BY tenant, phone_number_id, user, month;
