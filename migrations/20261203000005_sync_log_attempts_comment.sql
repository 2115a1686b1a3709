-- The first comment on sync_log.attempts described only failures, but every send counts.

COMMENT ON COLUMN sync_log.attempts IS
    'How many times the upsert was sent: 1 after the first send, whatever its outcome; a '
    'resend after an expired session is not counted. retry starts the count again.';
