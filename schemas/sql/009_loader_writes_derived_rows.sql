-- The loader writes message_lifecycle and alerts itself, each batch's rows
-- sorted by the table's key, before the batch's events (analytics
-- loadTables): their views made every insert of events filter the whole
-- block again and sort the lifecycle rows by wamid on the server, the
-- larger part of the insert's time. Both tables are ReplacingMergeTree, so
-- a batch written again after a failure folds into the same rows.
DROP TABLE IF EXISTS {db}.message_lifecycle_mv;

DROP TABLE IF EXISTS {db}.alerts_mv;
