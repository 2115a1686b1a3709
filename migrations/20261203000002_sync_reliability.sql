-- What the sync engine needs to stay correct across crashes, replicas and operators:
-- the delivery state of each delivery report (so that a late, older report cannot overwrite a
-- newer one), who claimed a sync_log row, when an operator sent a row back, the last API usage
-- Salesforce reported, and an archive for sync_log rows past their retention age.

ALTER TABLE inbound_event
    ADD COLUMN delivery_key  text,
    ADD COLUMN delivery_rank smallint;

COMMENT ON COLUMN inbound_event.delivery_key IS
    'For a delivery report: the transaction it reports on, which is transactionId without the '
    'leading "-" that Strex puts on the id of a reversal. NULL for MOs and rejected bodies.';
COMMENT ON COLUMN inbound_event.delivery_rank IS
    'How far the reported transaction had come: 1 Queued, 2 Sent, 3 Ok or Failed, 4 Reversed; '
    'NULL for a status strexforce does not rank. A report ranking below one already stored for '
    'the same delivery_key is stored as superseded and plans nothing.';

CREATE INDEX inbound_event_delivery_key_idx ON inbound_event (delivery_key, delivery_rank)
    WHERE delivery_key IS NOT NULL;

ALTER TABLE sync_log
    ADD COLUMN claimed_by  text,
    ADD COLUMN requeued_at timestamptz;

COMMENT ON COLUMN sync_log.claimed_by IS
    'The process (host and pid) that last claimed the row for sending.';
COMMENT ON COLUMN sync_log.requeued_at IS
    'When an operator last sent the row back to pending (strexforce retry); the retry age that '
    'turns a row dead counts from here instead of from created_at.';

-- One row: the latest reading of the Sforce-Limit-Info header, written by whichever serve
-- process saw it, so that `strexforce status` can show it without calling Salesforce.
CREATE TABLE salesforce_api_usage (
    singleton          boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    used               bigint      NOT NULL,
    allocation         bigint      NOT NULL,
    observed_at        timestamptz NOT NULL,
    limit_exceeded_at  timestamptz,
    observed_by        text        NOT NULL
);

COMMENT ON TABLE salesforce_api_usage IS
    'The last API usage Salesforce reported (Sforce-Limit-Info: api-usage=used/allocation).';
COMMENT ON COLUMN salesforce_api_usage.used IS 'API calls used in the org''s rolling 24 hours.';
COMMENT ON COLUMN salesforce_api_usage.allocation IS 'The org''s daily API call allocation.';
COMMENT ON COLUMN salesforce_api_usage.observed_at IS 'When the reading was taken.';
COMMENT ON COLUMN salesforce_api_usage.limit_exceeded_at IS
    'When Salesforce last answered REQUEST_LIMIT_EXCEEDED; sending pauses and probes after it.';
COMMENT ON COLUMN salesforce_api_usage.observed_by IS 'The process (host and pid) that read it.';

-- sync_log rows that retention moved out of the live table. Same columns, no constraints:
-- the archive is only read, and keeping it free of foreign keys lets old events go later.
CREATE TABLE sync_log_archive (LIKE sync_log INCLUDING COMMENTS);
ALTER TABLE sync_log_archive
    ADD COLUMN archived_at timestamptz NOT NULL DEFAULT now(),
    ADD PRIMARY KEY (id);

COMMENT ON TABLE sync_log_archive IS
    'sync_log rows that ended (succeeded, skipped or ignored) longer ago than the retention age, '
    'moved here by retention when STREXFORCE_RETENTION_MODE=archive.';
COMMENT ON COLUMN sync_log_archive.archived_at IS 'When retention moved the row here.';

CREATE INDEX sync_log_archive_record_idx
    ON sync_log_archive (sobject, external_id_field, external_id, id);
CREATE INDEX sync_log_settled_idx ON sync_log (updated_at)
    WHERE status IN ('succeeded', 'skipped', 'ignored');
