-- One row per analytics event of wa.events (schemas.Event), plus where it
-- came from: the loader lands each (source_topic, source_partition,
-- source_offset) once and resumes after the highest one loaded.
-- Empty strings and zeros stand for absent fields. Times are UTC seconds.
-- Retention: ALTER TABLE {db}.events DROP PARTITION 202501.
CREATE TABLE IF NOT EXISTS {db}.events
(
    id               String,
    kind             String,
    time             DateTime('UTC'),
    tenant           String,
    phone_number_id  String,
    user             String,
    wamid            String,
    command_id       String,
    message_type     String,
    origin           String,
    status           String,
    error_code       Int32,
    error_class      String,
    reason           String,
    latency_ms       Int64,
    response_ms      Int64,
    attempt          Int32,
    tokens           Int64,
    pricing_category String,
    pricing_type     String,
    billable         UInt8,
    source_topic     String,
    source_partition Int32,
    source_offset    Int64,
    loaded_at        DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (tenant, phone_number_id, time, id);
