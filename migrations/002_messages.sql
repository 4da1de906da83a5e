-- Device messages. Ids are deterministic (see chalicelib/messages/records.py), so a replayed or
-- redelivered message is an INSERT ... ON CONFLICT DO NOTHING, never a second row.

-- One row per SenML record (Magistrala's "messages" table, same column names).
CREATE TABLE messages (
    id           uuid PRIMARY KEY,
    channel      uuid NOT NULL,
    subtopic     text NOT NULL DEFAULT '',
    publisher    uuid NOT NULL,
    protocol     text NOT NULL,
    name         text NOT NULL,
    unit         text,
    time         double precision NOT NULL,   -- seconds since the epoch, as SenML
    update_time  double precision,
    value        double precision,
    string_value text,
    bool_value   boolean,
    data_value   text,
    sum          double precision
);
-- Every read is "one channel, a time range, newest first".
CREATE INDEX messages_channel_time ON messages (channel, time DESC);

-- Plain JSON documents.
CREATE TABLE json_messages (
    id        uuid PRIMARY KEY,
    channel   uuid NOT NULL,
    subtopic  text NOT NULL DEFAULT '',
    publisher uuid NOT NULL,
    protocol  text NOT NULL,
    created   double precision NOT NULL,      -- receive time, seconds since the epoch
    payload   jsonb NOT NULL
);
CREATE INDEX json_messages_channel_time ON json_messages (channel, created DESC);

-- What was refused, and why, for the channel's owner to see. Never retried.
CREATE TABLE rejected_messages (
    id          uuid PRIMARY KEY,
    channel     uuid,
    publisher   text NOT NULL DEFAULT '',
    protocol    text NOT NULL,
    topic       text NOT NULL DEFAULT '',
    reason      text NOT NULL,
    payload     text NOT NULL DEFAULT '',     -- the first KB, for diagnosis
    received_at timestamptz NOT NULL
);
CREATE INDEX rejected_messages_channel ON rejected_messages (channel, received_at DESC);
