-- Indexes for the readers API (GET /channels/{id}/messages); benchmarks/readers.py measures them.
--
-- Dashboards read one SenML name of a channel over a time range, as a page or as interval
-- aggregates. (channel, name, time) finds exactly those rows, and with value included
-- the aggregates and the page total (count) are answered from the index alone
-- (index-only scans), without visiting the table.
CREATE INDEX messages_channel_name_time ON messages (channel, name, time DESC) INCLUDE (value);
-- "What did this device send": the publisher filter, newest first.
CREATE INDEX messages_channel_publisher_time ON messages (channel, publisher, time DESC);
