-- Core entities: users, things, channels, connections and thing shares.
-- Statuses are text ('enabled' | 'disabled') to match the API one to one.

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    identity    text NOT NULL,
    secret_hash text NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    metadata    jsonb NOT NULL DEFAULT '{}',
    role        text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- Identities (emails) are unique regardless of case.
CREATE UNIQUE INDEX users_identity_key ON users (lower(identity));

CREATE TABLE things (
    id          uuid PRIMARY KEY,
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    identity    text NOT NULL DEFAULT '',
    -- HMAC of the key: constant-size lookup, never the key itself.
    key_hash    bytea NOT NULL UNIQUE,
    -- The key encrypted at rest (AES-GCM), so the owner can read it back.
    key_enc     bytea NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    metadata    jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- Listing is always "my things, newest first": this index serves the page and the count.
CREATE INDEX things_owner_created ON things (owner_id, created_at DESC, id);
CREATE INDEX things_tags ON things USING gin (tags);
CREATE INDEX things_metadata ON things USING gin (metadata jsonb_path_ops);

CREATE TABLE thing_shares (
    thing_id   uuid NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    relation   text NOT NULL CHECK (relation IN ('administrator', 'editor', 'viewer')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (thing_id, user_id)
);
CREATE INDEX thing_shares_user ON thing_shares (user_id);

CREATE TABLE channels (
    id          uuid PRIMARY KEY,
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    metadata    jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX channels_owner_created ON channels (owner_id, created_at DESC, id);
CREATE INDEX channels_metadata ON channels USING gin (metadata jsonb_path_ops);

CREATE TABLE connections (
    channel_id uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    thing_id   uuid NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (channel_id, thing_id)
);
CREATE INDEX connections_thing ON connections (thing_id);
