-- Listing things newest first stays fast at 100k things per user (benchmarks/things_listing.py).
--
-- The default listing filters on status = 'enabled': with status in the index the page is read in
-- order and stops at LIMIT, and the page total is an index-only count. (things_owner_created still
-- serves status=all.)
CREATE INDEX things_owner_status_created ON things (owner_id, status, created_at DESC, id);
-- Administrators list every user's things newest first.
CREATE INDEX things_created ON things (created_at DESC, id);
