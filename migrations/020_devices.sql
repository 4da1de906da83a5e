-- Device certificates issued through the IoT API (issue 4).
-- Private keys are never stored: the issue response is the only place a key ever appears.
CREATE TABLE thing_certificates (
    id              uuid PRIMARY KEY,
    -- No foreign key on purpose: after a thing is deleted its certificates must still be
    -- found, to be revoked in IoT Core.
    thing_id        uuid NOT NULL,
    certificate_id  text NOT NULL UNIQUE,
    certificate_arn text NOT NULL,
    certificate_pem text NOT NULL,
    -- 'amazon' (CreateKeysAndCertificate) or 'ca' (signed by our registered CA).
    issuer          text NOT NULL CHECK (issuer IN ('amazon', 'ca')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX thing_certificates_thing ON thing_certificates (thing_id, created_at DESC);
