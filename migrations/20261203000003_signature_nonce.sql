-- Nonces of accepted X-ECDSA-Signature headers, so that a captured request cannot be sent
-- again while its timestamp is still inside the ±300 s window. Kept in Postgres so that every
-- replica refuses a nonce any replica has seen.

CREATE TABLE signature_nonce (
    key_name   text        NOT NULL,
    nonce      text        NOT NULL,
    signed_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT signature_nonce_pkey PRIMARY KEY (key_name, nonce)
);

COMMENT ON TABLE signature_nonce IS
    'One row per signed forward accepted within the signature window; a second request with '
    'the same key name and nonce is refused as a replay. Rows past expires_at are deleted.';
COMMENT ON COLUMN signature_nonce.key_name IS 'The key name from the X-ECDSA-Signature header.';
COMMENT ON COLUMN signature_nonce.nonce IS 'The nonce from the X-ECDSA-Signature header.';
COMMENT ON COLUMN signature_nonce.signed_at IS 'The timestamp the sender put in the header.';
COMMENT ON COLUMN signature_nonce.expires_at IS
    'When the header can no longer pass the clock check, so the row is no longer needed.';

CREATE INDEX signature_nonce_expires_at_idx ON signature_nonce (expires_at);
