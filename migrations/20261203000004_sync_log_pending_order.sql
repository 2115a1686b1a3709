-- The claim query walks pending rows in id order (the order a subject's rows must be sent in).
-- Without an index in that order it starts at the lowest id and steps over every settled row
-- kept for retention, so each claim grew with the history instead of with the backlog.

CREATE INDEX sync_log_pending_id_idx ON sync_log (id) WHERE status = 'pending';

COMMENT ON INDEX sync_log_pending_id_idx IS
    'Pending rows in id order, for the claim query: its cost follows the backlog, not the '
    'number of settled rows kept.';
