def test_signup_login_and_create(api):
    user, token = api.user("alice@example.com")
    assert user["credentials"] == {"identity": "alice@example.com"}
    thing = api.thing(token, name="sensor")
    channel = api.channel(token, name="room")
    r = api.call("POST", "/connect", {"thing_id": thing["id"], "channel_id": channel["id"]}, token)
    assert r.status_code == 201, r.json
    r = api.call("GET", f"/channels/{channel['id']}/things", token=token)
    assert r.status_code == 200
    assert [t["id"] for t in r.json["things"]] == [thing["id"]]
