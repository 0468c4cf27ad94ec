-- Rollups per minute, hour and day per tenant, number, event kind, status
-- (of status events) and pricing category, each fed from events by its own
-- materialized view (18.16 does not cascade views, so hour and day cannot
-- be fed from minute). Read with -Merge grouped by the key; merging over
-- kinds gives totals:
--   countMerge(event_count)        the events of that kind
--   uniqIfMerge(user_count)        distinct customers (approximate)
--   quantilesIfMerge(0.5, 0.9, 0.99)(response_ms_quantiles)
--                                  inbound received → reply accepted by
--                                  Meta (send_accepted rows, read
--                                  receipts left out)
--   quantilesIfMerge(…)(latency_ms_quantiles)
--                                  send → accepted, and the bot's time
--   sumMerge(tokens_sum)           LLM tokens (bot_reply rows)
--   sumMerge(billable_count)       billable messages delivered (status
--                                  rows: Meta charges on delivery)
-- The day starts at 00:00 UTC.
CREATE TABLE IF NOT EXISTS {db}.rollup_minute
(
    tenant                String,
    phone_number_id       String,
    t                     DateTime('UTC'),
    kind                  String,
    status                String,
    pricing_category      String,
    event_count           AggregateFunction(count),
    user_count            AggregateFunction(uniqIf, String, UInt8),
    response_ms_quantiles AggregateFunction(quantilesIf(0.5, 0.9, 0.99), Int64, UInt8),
    latency_ms_quantiles  AggregateFunction(quantilesIf(0.5, 0.9, 0.99), Int64, UInt8),
    tokens_sum            AggregateFunction(sum, Int64),
    billable_count        AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (tenant, phone_number_id, t, kind, status, pricing_category);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_minute_mv TO {db}.rollup_minute AS
SELECT
    tenant,
    phone_number_id,
    toStartOfMinute(time) AS t,
    kind,
    status,
    pricing_category,
    countState() AS event_count,
    uniqIfState(user, user != '') AS user_count,
    quantilesIfState(0.5, 0.9, 0.99)(response_ms, response_ms > 0 AND message_type != 'read') AS response_ms_quantiles,
    quantilesIfState(0.5, 0.9, 0.99)(latency_ms, latency_ms > 0) AS latency_ms_quantiles,
    sumState(tokens) AS tokens_sum,
    sumState(toUInt64(billable = 1 AND status = 'delivered')) AS billable_count
FROM {db}.events
GROUP BY tenant, phone_number_id, t, kind, status, pricing_category;

CREATE TABLE IF NOT EXISTS {db}.rollup_hour
(
    tenant                String,
    phone_number_id       String,
    t                     DateTime('UTC'),
    kind                  String,
    status                String,
    pricing_category      String,
    event_count           AggregateFunction(count),
    user_count            AggregateFunction(uniqIf, String, UInt8),
    response_ms_quantiles AggregateFunction(quantilesIf(0.5, 0.9, 0.99), Int64, UInt8),
    latency_ms_quantiles  AggregateFunction(quantilesIf(0.5, 0.9, 0.99), Int64, UInt8),
    tokens_sum            AggregateFunction(sum, Int64),
    billable_count        AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (tenant, phone_number_id, t, kind, status, pricing_category);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_hour_mv TO {db}.rollup_hour AS
SELECT
    tenant,
    phone_number_id,
    toStartOfHour(time) AS t,
    kind,
    status,
    pricing_category,
    countState() AS event_count,
    uniqIfState(user, user != '') AS user_count,
    quantilesIfState(0.5, 0.9, 0.99)(response_ms, response_ms > 0 AND message_type != 'read') AS response_ms_quantiles,
    quantilesIfState(0.5, 0.9, 0.99)(latency_ms, latency_ms > 0) AS latency_ms_quantiles,
    sumState(tokens) AS tokens_sum,
    sumState(toUInt64(billable = 1 AND status = 'delivered')) AS billable_count
FROM {db}.events
GROUP BY tenant, phone_number_id, t, kind, status, pricing_category;

CREATE TABLE IF NOT EXISTS {db}.rollup_day
(
    tenant                String,
    phone_number_id       String,
    t                     DateTime('UTC'),
    kind                  String,
    status                String,
    pricing_category      String,
    event_count           AggregateFunction(count),
    user_count            AggregateFunction(uniqIf, String, UInt8),
    response_ms_quantiles AggregateFunction(quantilesIf(0.5, 0.9, 0.99), Int64, UInt8),
    latency_ms_quantiles  AggregateFunction(quantilesIf(0.5, 0.9, 0.99), Int64, UInt8),
    tokens_sum            AggregateFunction(sum, Int64),
    billable_count        AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (tenant, phone_number_id, t, kind, status, pricing_category);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_day_mv TO {db}.rollup_day AS
SELECT
    tenant,
    phone_number_id,
    toStartOfDay(time) AS t,
    kind,
    status,
    pricing_category,
    countState() AS event_count,
    uniqIfState(user, user != '') AS user_count,
    quantilesIfState(0.5, 0.9, 0.99)(response_ms, response_ms > 0 AND message_type != 'read') AS response_ms_quantiles,
    quantilesIfState(0.5, 0.9, 0.99)(latency_ms, latency_ms > 0) AS latency_ms_quantiles,
    sumState(tokens) AS tokens_sum,
    sumState(toUInt64(billable = 1 AND status = 'delivered')) AS billable_count
FROM {db}.events
GROUP BY tenant, phone_number_id, t, kind, status, pricing_category;
