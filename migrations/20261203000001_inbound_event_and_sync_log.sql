-- The two tables at the heart of strexforce: every forward Strex delivered (inbound_event) and
-- every Salesforce upsert planned from it (sync_log). Statuses are text with CHECK constraints
-- rather than enum types so that later migrations can add a status with a plain ALTER.

CREATE TABLE inbound_event (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('mo', 'dlr')),
    dedupe_key      text        NOT NULL,
    transaction_id  text,
    subject         text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    body_raw        bytea       NOT NULL,
    body            jsonb,
    status          text        NOT NULL
                    CHECK (status IN ('planned', 'unmapped', 'plan_failed', 'rejected', 'superseded')),
    error           text,
    mapping_version text,
    CONSTRAINT inbound_event_dedupe_key_key UNIQUE (dedupe_key)
);

COMMENT ON TABLE inbound_event IS
    'One row per forward received from StrexConnect (MasterMOForward or MasterDLRForward), '
    'stored before the sender gets its 200. Retries of a forward already stored add no row.';
COMMENT ON COLUMN inbound_event.id IS 'Event id, referenced by sync_log.event_id.';
COMMENT ON COLUMN inbound_event.kind IS 'mo for an incoming SMS (InMessage), dlr for a delivery report.';
COMMENT ON COLUMN inbound_event.dedupe_key IS
    'Identity of the forward across Strex retries: MO by transactionId; DLR by transactionId, '
    'statusCode, detailedStatusCode and properties.SystemAction; a rejected body by its SHA-256.';
COMMENT ON COLUMN inbound_event.transaction_id IS 'The forward''s transactionId, when it had one.';
COMMENT ON COLUMN inbound_event.subject IS
    'Whose events must reach Salesforce in arrival order (by default the end user''s MSISDN).';
COMMENT ON COLUMN inbound_event.received_at IS 'When strexforce committed the forward.';
COMMENT ON COLUMN inbound_event.body_raw IS
    'The request body exactly as received, byte for byte (the signature covers these bytes).';
COMMENT ON COLUMN inbound_event.body IS
    'The body as jsonb for querying; NULL when it was not JSON. jsonb cannot hold U+0000, so '
    'such characters appear here as U+FFFD while body_raw keeps them.';
COMMENT ON COLUMN inbound_event.status IS
    'planned: upserts are in sync_log; unmapped: no mapping matched; plan_failed: a mapping '
    'could not render (see error); rejected: the body was not a valid forward (see error); '
    'superseded: an older delivery state than one already stored for the transaction.';
COMMENT ON COLUMN inbound_event.error IS 'Why the event was rejected or could not be planned.';
COMMENT ON COLUMN inbound_event.mapping_version IS
    'Content hash of the mapping files that planned this event.';

CREATE INDEX inbound_event_received_at_idx ON inbound_event (received_at);
CREATE INDEX inbound_event_subject_idx ON inbound_event (subject, id);
CREATE INDEX inbound_event_status_idx ON inbound_event (status) WHERE status <> 'planned';

CREATE TABLE sync_log (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id              bigint      NOT NULL REFERENCES inbound_event (id),
    mapping               text        NOT NULL,
    rule                  text        NOT NULL,
    step                  integer     NOT NULL,
    subject               text,
    depends_on_step       integer,
    operation             text        NOT NULL DEFAULT 'upsert'
                          CHECK (operation IN ('upsert', 'update')),
    sobject               text        NOT NULL,
    external_id_field     text        NOT NULL,
    external_id           text        NOT NULL,
    record                jsonb       NOT NULL,
    create_only           jsonb       NOT NULL DEFAULT '{}',
    mapping_version       text        NOT NULL,
    status                text        NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed',
                                            'dead', 'skipped', 'ignored')),
    attempts              integer     NOT NULL DEFAULT 0,
    next_attempt_at       timestamptz NOT NULL DEFAULT now(),
    lease_token           uuid,
    lease_expires_at      timestamptz,
    salesforce_id         text,
    created_in_salesforce boolean,
    error_code            text,
    error_message         text,
    error_fields          text[],
    last_attempt_at       timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sync_log_step_key UNIQUE (event_id, step)
);

COMMENT ON TABLE sync_log IS
    'One row per Salesforce upsert planned from an inbound_event, with its outcome. This is '
    'the table to read when asking what happened to a forward.';
COMMENT ON COLUMN sync_log.id IS 'Row id; rows of one subject are sent in id order.';
COMMENT ON COLUMN sync_log.event_id IS 'The inbound_event this upsert was planned from.';
COMMENT ON COLUMN sync_log.mapping IS 'Name of the mapping file that planned the upsert.';
COMMENT ON COLUMN sync_log.rule IS 'Name of the rule within that mapping.';
COMMENT ON COLUMN sync_log.step IS 'Position of the upsert in the event''s plan, from 0.';
COMMENT ON COLUMN sync_log.subject IS
    'Copy of inbound_event.subject: a row is sent only when no earlier row of the same '
    'subject is still pending or in flight.';
COMMENT ON COLUMN sync_log.depends_on_step IS
    'The step of the same event whose record this one refers to (a lookup by external id); '
    'this row is sent only after that step succeeded, and fails if that step failed.';
COMMENT ON COLUMN sync_log.operation IS
    'upsert creates or updates by external id; update changes an existing record only.';
COMMENT ON COLUMN sync_log.sobject IS 'Salesforce object API name, such as Contact.';
COMMENT ON COLUMN sync_log.external_id_field IS 'External-id field the upsert matches on.';
COMMENT ON COLUMN sync_log.external_id IS 'Value of the external-id field for this record.';
COMMENT ON COLUMN sync_log.record IS 'Field values sent to Salesforce, exactly as sent.';
COMMENT ON COLUMN sync_log.create_only IS
    'Field values sent only when the upsert creates the record (never overwriting).';
COMMENT ON COLUMN sync_log.mapping_version IS 'Content hash of the mapping files that planned the row.';
COMMENT ON COLUMN sync_log.status IS
    'pending: waiting to be sent; in_flight: claimed by a sync worker; succeeded; failed: '
    'Salesforce refused it permanently (see error_*); dead: kept failing transiently past the '
    'retry age; skipped: an update-only step found no record; ignored: set aside by an operator.';
COMMENT ON COLUMN sync_log.attempts IS 'How many times the upsert was sent and failed transiently.';
COMMENT ON COLUMN sync_log.next_attempt_at IS 'Earliest time a pending row may be sent again.';
COMMENT ON COLUMN sync_log.lease_token IS 'Identifies the claim of the worker sending the row.';
COMMENT ON COLUMN sync_log.lease_expires_at IS
    'When an in_flight claim lapses and the row may be claimed again (its worker died).';
COMMENT ON COLUMN sync_log.salesforce_id IS 'Id of the Salesforce record written.';
COMMENT ON COLUMN sync_log.created_in_salesforce IS 'true if the upsert created the record.';
COMMENT ON COLUMN sync_log.error_code IS
    'Salesforce''s error code (such as REQUIRED_FIELD_MISSING) or a strexforce code for '
    'transport problems, from the last failed attempt.';
COMMENT ON COLUMN sync_log.error_message IS 'The error message that came with error_code.';
COMMENT ON COLUMN sync_log.error_fields IS 'Fields Salesforce named in the error.';
COMMENT ON COLUMN sync_log.last_attempt_at IS 'When the row was last sent to Salesforce.';
COMMENT ON COLUMN sync_log.created_at IS 'When the row was planned.';
COMMENT ON COLUMN sync_log.updated_at IS 'When the row last changed.';

CREATE INDEX sync_log_claimable_idx ON sync_log (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX sync_log_open_subject_idx ON sync_log (subject, id)
    WHERE status IN ('pending', 'in_flight');
CREATE INDEX sync_log_lease_idx ON sync_log (lease_expires_at) WHERE status = 'in_flight';
CREATE INDEX sync_log_event_idx ON sync_log (event_id);
CREATE INDEX sync_log_status_idx ON sync_log (status, updated_at);
CREATE INDEX sync_log_record_idx ON sync_log (sobject, external_id_field, external_id, id);
