-- Webhook health: per number and minute, the inbound messages and the
-- statuses that arrived (and how many of those said failed). A number
-- that goes quiet shows here first. A view over rollup_minute (created
-- by 004_rollups.sql), so it costs nothing at insert time. Filter on
-- minute and the number; 18.16 pushes the filter into the view only with
-- SET enable_optimize_predicate_expression = 1 (current releases do).
CREATE VIEW IF NOT EXISTS {db}.webhook_deliveries AS
SELECT
    tenant,
    phone_number_id,
    t AS minute,
    countMergeIf(event_count, kind = 'inbound') AS inbound,
    countMergeIf(event_count, kind = 'status') AS statuses,
    countMergeIf(event_count, kind = 'status' AND status = 'failed') AS failed_statuses
FROM {db}.rollup_minute
GROUP BY tenant, phone_number_id, minute;
