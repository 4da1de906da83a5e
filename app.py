"""Routes and event handlers only: each hands over to chalicelib/ in a few lines."""
from __future__ import annotations

import os

from chalice import Chalice, CORSConfig, Response

from chalicelib import query_params
from chalicelib.api import http
from chalicelib.api import requests as rq
from chalicelib.api import responses as rs
from chalicelib.api.errors import cors_middleware, error_middleware
from chalicelib.api.openapi import openapi_document
from chalicelib.config import settings
from chalicelib.container import services
from chalicelib.entities import Connection
from chalicelib.routes import devices as device_routes
from chalicelib.routes import readers as reader_routes
from chalicelib.errors import BadRequest
from chalicelib.services.channels import NewChannel
from chalicelib.services.things import NewThing

app = Chalice(app_name="choovio-iot")
# Tokens travel in the Authorization header, never in cookies, so any origin may call.
# Set before the blueprints are registered: their routes take the CORS setting from here.
CORS = CORSConfig(allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"),
                  allow_headers=["Authorization", "Content-Type"], max_age=600)
app.api.cors = CORS
app.register_middleware(cors_middleware(CORS), "http")
app.register_middleware(error_middleware, "http")
app.register_blueprint(device_routes.bp)
app.register_blueprint(reader_routes.bp)

VERSION = "0.1.0"
RETRY_QUEUE_NAME = os.environ.get("RETRY_QUEUE_NAME", "choovio-retry")
INGEST_QUEUE_NAME = os.environ.get("INGEST_QUEUE_NAME", "choovio-ingest")
# The ingest queue's batching, fixed when `chalice package` imports this file: up to this many
# messages, or what arrived within this many seconds, are stored in one transaction.
INGEST_BATCH_SIZE = int(os.environ.get("INGEST_BATCH_SIZE", "100"))
INGEST_BATCH_WINDOW = int(os.environ.get("INGEST_BATCH_WINDOW", "1"))
PUBLISH_TYPES = ["application/senml+json", "application/json", "text/plain", "application/octet-stream"]


def _request():
    return app.current_request


def _caller():
    return services().users.authenticate(http.bearer_token(_request()))


def _body(model):
    return http.parse(model, _request(), settings().max_body_bytes)


def _query():
    return _request().query_params or {}


def _created(body: dict, location: str) -> Response:
    return Response(body=body, status_code=201, headers={"Location": location})


def _no_content() -> Response:
    return Response(body="", status_code=204)


# -- health and docs ----------------------------------------------------------

@app.route("/health", methods=["GET"])
def health():
    return {"status": "pass", "version": VERSION, "description": "choovio iot platform"}


@app.route("/openapi.json", methods=["GET"])
def openapi():
    return openapi_document(app, VERSION)


# -- users ----------------------------------------------------------------------

@app.route("/users", methods=["POST"])
def create_user():
    req = _body(rq.CreateUser)
    auth = _request().headers.get("authorization")
    caller = _caller() if auth else None
    user = services().users.register(caller, req.credentials.identity, req.credentials.secret, req.name,
                                     req.tags, req.metadata, req.status)
    return _created(rs.user(user), f"/users/{user.id}")


@app.route("/users", methods=["GET"])
def list_users():
    return rs.page(services().users.list(_caller(), http.list_query(_query())), "users", rs.user)


@app.route("/users/profile", methods=["GET"])
def profile():
    return rs.user(_caller())


@app.route("/users/tokens/issue", methods=["POST"])
def issue_token():
    req = _body(rq.IssueToken)
    return Response(body=services().users.issue_tokens(req.identity, req.secret).__dict__, status_code=201)


@app.route("/users/tokens/refresh", methods=["POST"])
def refresh_token():
    pair = services().users.refresh_tokens(http.bearer_token(_request()))
    return Response(body=pair.__dict__, status_code=201)


@app.route("/users/secret", methods=["PATCH"])
def update_user_secret():
    req = _body(rq.UpdateSecret)
    return rs.user(services().users.update_secret(_caller(), req.old_secret, req.new_secret))


@app.route("/users/{user_id}", methods=["GET"])
def view_user(user_id):
    return rs.user(services().users.view(_caller(), http.uuid_param(user_id)))


@app.route("/users/{user_id}", methods=["PATCH"])
def update_user(user_id):
    req = _body(rq.UpdateEntity)
    return rs.user(services().users.update(_caller(), http.uuid_param(user_id), req.name, req.metadata))


@app.route("/users/{user_id}/tags", methods=["PATCH"])
def update_user_tags(user_id):
    req = _body(rq.UpdateTags)
    return rs.user(services().users.update_tags(_caller(), http.uuid_param(user_id), req.tags))


@app.route("/users/{user_id}/identity", methods=["PATCH"])
def update_user_identity(user_id):
    req = _body(rq.UpdateIdentity)
    return rs.user(services().users.update_identity(_caller(), http.uuid_param(user_id), req.identity))


@app.route("/users/{user_id}/role", methods=["PATCH"])
def update_user_role(user_id):
    req = _body(rq.UpdateRole)
    return rs.user(services().users.set_role(_caller(), http.uuid_param(user_id), req.role))


@app.route("/users/{user_id}/enable", methods=["POST"])
def enable_user(user_id):
    return rs.user(services().users.enable(_caller(), http.uuid_param(user_id)))


@app.route("/users/{user_id}/disable", methods=["POST"])
def disable_user(user_id):
    return rs.user(services().users.disable(_caller(), http.uuid_param(user_id)))


@app.route("/password/reset-request", methods=["POST"])
def password_reset_request():
    req = _body(rq.ResetRequest)
    referrer = _request().headers.get("referer") or _request().headers.get("origin") or ""
    services().users.request_password_reset(req.email, referrer)
    return Response(body={}, status_code=201)


@app.route("/password/reset", methods=["PUT"])
def password_reset():
    req = _body(rq.PasswordReset)
    services().users.reset_password(req.token, req.password, req.confirm_password)
    return Response(body={}, status_code=201)


# -- things ---------------------------------------------------------------------

def _new_thing(req: rq.CreateThing) -> NewThing:
    return NewThing(id=req.id, name=req.name, identity=req.credentials.identity, secret=req.credentials.secret,
                    tags=req.tags, metadata=req.metadata, status=req.status)


@app.route("/things", methods=["POST"])
def create_thing():
    thing = services().things.create(_caller(), [_new_thing(_body(rq.CreateThing))])[0]
    return _created(rs.thing(thing), f"/things/{thing.id}")


@app.route("/things/bulk", methods=["POST"])
def create_things():
    caller = _caller()
    items = http.json_body(_request(), settings().max_body_bytes)
    if not isinstance(items, list) or not 1 <= len(items) <= 1000:
        raise BadRequest("body must be a JSON array of 1 to 1000 things")
    things = services().things.create(caller, [_new_thing(http.validate(rq.CreateThing, i)) for i in items])
    return Response(body={"total": len(things), "offset": 0, "limit": len(things),
                          "things": [rs.thing(t) for t in things]}, status_code=201)


@app.route("/things", methods=["GET"])
def list_things():
    return rs.page(services().things.list(_caller(), http.list_query(_query())), "things", rs.thing)


@app.route("/things/{thing_id}", methods=["GET"])
def view_thing(thing_id):
    return rs.thing(services().things.view(_caller(), http.uuid_param(thing_id)))


@app.route("/things/{thing_id}", methods=["PATCH"])
def update_thing(thing_id):
    req = _body(rq.UpdateEntity)
    return rs.thing(services().things.update(_caller(), http.uuid_param(thing_id), req.name, req.metadata))


@app.route("/things/{thing_id}", methods=["DELETE"])
def delete_thing(thing_id):
    services().things.delete(_caller(), http.uuid_param(thing_id))
    return _no_content()


@app.route("/things/{thing_id}/tags", methods=["PATCH"])
def update_thing_tags(thing_id):
    req = _body(rq.UpdateTags)
    return rs.thing(services().things.update_tags(_caller(), http.uuid_param(thing_id), req.tags))


@app.route("/things/{thing_id}/secret", methods=["PATCH"])
def update_thing_secret(thing_id):
    req = _body(rq.ThingSecret)
    return rs.thing(services().things.update_secret(_caller(), http.uuid_param(thing_id), req.secret))


@app.route("/things/{thing_id}/enable", methods=["POST"])
def enable_thing(thing_id):
    return rs.thing(services().things.enable(_caller(), http.uuid_param(thing_id)))


@app.route("/things/{thing_id}/disable", methods=["POST"])
def disable_thing(thing_id):
    return rs.thing(services().things.disable(_caller(), http.uuid_param(thing_id)))


@app.route("/things/{thing_id}/share", methods=["POST"])
def share_thing(thing_id):
    req = _body(rq.Share)
    services().things.share(_caller(), http.uuid_param(thing_id), req.user_ids, req.relation)
    return {}


@app.route("/things/{thing_id}/unshare", methods=["POST"])
def unshare_thing(thing_id):
    req = _body(rq.Unshare)
    services().things.unshare(_caller(), http.uuid_param(thing_id), req.user_ids)
    return {}


@app.route("/things/{thing_id}/channels", methods=["GET"])
def list_thing_channels(thing_id):
    q = _query()
    page = services().channels.list_by_thing(_caller(), http.uuid_param(thing_id), http.list_query(q),
                                             query_params.boolean(q, "connected", True))
    return rs.page(page, "channels", rs.channel)


# -- channels -------------------------------------------------------------------

@app.route("/channels", methods=["POST"])
def create_channel():
    req = _body(rq.CreateChannel)
    spec = NewChannel(id=req.id, name=req.name, description=req.description, metadata=req.metadata,
                      status=req.status)
    channel = services().channels.create(_caller(), [spec])[0]
    return _created(rs.channel(channel), f"/channels/{channel.id}")


@app.route("/channels", methods=["GET"])
def list_channels():
    return rs.page(services().channels.list(_caller(), http.list_query(_query())), "channels", rs.channel)


@app.route("/channels/{channel_id}", methods=["GET"])
def view_channel(channel_id):
    return rs.channel(services().channels.view(_caller(), http.uuid_param(channel_id)))


@app.route("/channels/{channel_id}", methods=["PUT"])
def update_channel(channel_id):
    req = _body(rq.UpdateEntity)
    channel = services().channels.update(_caller(), http.uuid_param(channel_id), req.name, req.description,
                                         req.metadata)
    return rs.channel(channel)


@app.route("/channels/{channel_id}", methods=["DELETE"])
def delete_channel(channel_id):
    services().channels.delete(_caller(), http.uuid_param(channel_id))
    return _no_content()


@app.route("/channels/{channel_id}/enable", methods=["POST"])
def enable_channel(channel_id):
    return rs.channel(services().channels.enable(_caller(), http.uuid_param(channel_id)))


@app.route("/channels/{channel_id}/disable", methods=["POST"])
def disable_channel(channel_id):
    return rs.channel(services().channels.disable(_caller(), http.uuid_param(channel_id)))


@app.route("/channels/{channel_id}/things", methods=["GET"])
def list_channel_things(channel_id):
    q = _query()
    page = services().channels.list_things(_caller(), http.uuid_param(channel_id), http.list_query(q),
                                           query_params.boolean(q, "connected", True))
    return rs.page(page, "things", rs.thing)


# -- connections ----------------------------------------------------------------

def _pairs(req: rq.Connect) -> list[Connection]:
    return [Connection(channel_id=c, thing_id=t) for c, t in req.pairs()]


@app.route("/connect", methods=["POST"])
def connect():
    done = services().channels.connect(_caller(), _pairs(_body(rq.Connect)))
    return Response(body={"connections": [c.__dict__ for c in done]}, status_code=201)


@app.route("/disconnect", methods=["POST"])
def disconnect():
    services().channels.disconnect(_caller(), _pairs(_body(rq.Connect)))
    return _no_content()


@app.route("/channels/{channel_id}/things/{thing_id}/connect", methods=["POST"])
def connect_one(channel_id, thing_id):
    pair = Connection(channel_id=http.uuid_param(channel_id), thing_id=http.uuid_param(thing_id))
    services().channels.connect(_caller(), [pair])
    return Response(body={"connections": [pair.__dict__]}, status_code=201)


@app.route("/channels/{channel_id}/things/{thing_id}/disconnect", methods=["POST"])
def disconnect_one(channel_id, thing_id):
    pair = Connection(channel_id=http.uuid_param(channel_id), thing_id=http.uuid_param(thing_id))
    services().channels.disconnect(_caller(), [pair])
    return _no_content()


# -- messages -------------------------------------------------------------------

def _publish(channel_id: str, subtopic: str):
    req = _request()
    outcome = services().publisher.publish(
        req.headers.get("authorization"), http.uuid_param(channel_id), subtopic.replace(".", "/"),
        req.raw_body or b"", req.headers.get("content-type") or "")
    return Response(body=outcome.as_dict(), status_code=202)


@app.route("/channels/{channel_id}/messages", methods=["POST"], content_types=PUBLISH_TYPES)
def publish(channel_id):
    return _publish(channel_id, "")


@app.route("/channels/{channel_id}/messages/{subtopic}", methods=["POST"], content_types=PUBLISH_TYPES)
def publish_subtopic(channel_id, subtopic):
    return _publish(channel_id, subtopic)


@app.route("/channels/{channel_id}/rejections", methods=["GET"])
def list_rejections(channel_id):
    q = _query()
    channel = services().channels.view(_caller(), http.uuid_param(channel_id))
    offset, limit = query_params.integer(q, "offset", 0, 0), query_params.integer(q, "limit", 10, 1, 100)
    total, rows = services().messages.rejections(channel.id, offset, limit)
    return {"total": total, "offset": offset, "limit": limit,
            "rejections": [{**r, "received_at": rs.timestamp(r["received_at"])} for r in rows]}


# -- backup administration ------------------------------------------------------

@app.route("/admin/backup/health", methods=["GET"])
def backup_health():
    return services().backup_admin.health(_caller())


@app.route("/admin/backup/redrive", methods=["POST"])
def backup_redrive():
    return services().backup_admin.redrive(_caller())


@app.route("/admin/backup/verify", methods=["POST"])
def backup_verify():
    q = _query()
    since = query_params.number(q, "from", 0.0)
    until = query_params.number(q, "to", 1e13)
    return services().backup_admin.verify(_caller(), since, until, query_params.boolean(q, "repair", False))


# -- event handlers ---------------------------------------------------------------

@app.on_sqs_message(queue=INGEST_QUEUE_NAME, batch_size=INGEST_BATCH_SIZE,
                    maximum_batching_window_in_seconds=INGEST_BATCH_WINDOW, name="ingest")
def ingest(event):
    """IoT topic rule -> ingest queue -> here, a batch at a time. Raises only when messages could
    not be kept anywhere: SQS then delivers the batch again (storing is idempotent)."""
    return services().ingestor.ingest_bodies([record.body for record in event])


@app.lambda_function(name="iot_authorizer")
def iot_authorizer(event, context):
    """IoT Core custom authorizer: MQTT username = thing id, password = thing key."""
    from chalicelib.iot.authorizer import handle

    return handle(event, context)


@app.on_sqs_message(queue=RETRY_QUEUE_NAME, batch_size=10, name="retry")
def retry(event):
    from chalicelib.backup.retry_handler import handle_batch

    return handle_batch(event.to_dict(), event.context, services().replayer)


@app.lambda_function(name="migrate")
def migrate(event, context):
    from chalicelib.store.migrate import migrate as apply

    return {"applied": apply(settings().database_url)}
