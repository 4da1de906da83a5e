"""The store's upsert never takes over another owner's thing or channel (a create racing on an id)."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.entities import Channel, Thing, User
from chalicelib.errors import Conflict


def test_upsert_with_a_taken_id_of_another_owner_is_a_conflict(db):
    import os

    from chalicelib.store.db import Database
    from chalicelib.store.postgres import PostgresStore

    store = PostgresStore(Database(db), os.environ["DATA_KEY"])
    alice, mallory = (store.save_user(User(id=str(uuid.uuid4()), identity=f"{n}@example.com", secret_hash="x"))
                      for n in ("alice", "mallory"))
    thing = store.save_things([Thing(id=str(uuid.uuid4()), owner_id=alice.id, key="k" * 20, name="mine")])[0]
    channel = store.save_channels([Channel(id=str(uuid.uuid4()), owner_id=alice.id, name="mine")])[0]
    with pytest.raises(Conflict):
        store.save_things([Thing(id=thing.id, owner_id=mallory.id, key="m" * 20, name="taken")])
    with pytest.raises(Conflict):
        store.save_channels([Channel(id=channel.id, owner_id=mallory.id, name="taken")])
    assert store.get_thing(thing.id).name == "mine" and store.get_thing(thing.id).owner_id == alice.id
    assert store.get_channel(channel.id).name == "mine"
    # The owner's own update still goes through.
    thing.name = "renamed"
    assert store.save_things([thing])[0].name == "renamed"
