"""Device routes: certificates (issue, list, download, rotate, revoke) and connection info.

Registered by app.py with `app.register_blueprint(devices.bp)`.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import http
from chalicelib.api.responses import timestamp
from chalicelib.container import services
from chalicelib.errors import NotFound
from chalicelib.iot import device_service as devices
from chalicelib.iot.devices import IssuedCertificate
from chalicelib.iot.repository import CertificateRecord
from chalicelib.security import thing_keys

bp = Blueprint(__name__)

KEY_NOTE = "the private key is shown only in this response and is not stored anywhere; save it now"


def _caller():
    return services().users.authenticate(http.bearer_token(bp.current_request))


def _certificate(rec: CertificateRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "thing_id": rec.thing_id,
        "certificate_id": rec.certificate_id,
        "certificate_arn": rec.certificate_arn,
        "certificate_pem": rec.certificate_pem,
        "issuer": rec.issuer,
        "status": rec.status,
        "created_at": timestamp(rec.created_at),
        "revoked_at": timestamp(rec.revoked_at) if rec.revoked_at else None,
    }


def _issued(issued: IssuedCertificate) -> Response:
    info = devices().connection_info(services().store.get_thing(issued.record.thing_id))
    body = {**_certificate(issued.record), "private_key_pem": issued.private_key_pem, "note": KEY_NOTE,
            "connection": info}
    return Response(body=body, status_code=201,
                    headers={"Location": f"/things/{issued.record.thing_id}/certificates/{issued.record.id}",
                             "Cache-Control": "no-store"})


@bp.route("/things/{thing_id}/certificates", methods=["POST"])
def issue_certificate(thing_id):
    return _issued(devices().issue(_caller(), http.uuid_param(thing_id)))


@bp.route("/things/{thing_id}/certificates", methods=["GET"])
def list_certificates(thing_id):
    certs = devices().list(_caller(), http.uuid_param(thing_id))
    return {"total": len(certs), "certificates": [_certificate(c) for c in certs]}


@bp.route("/things/{thing_id}/certificates/rotate", methods=["POST"])
def rotate_certificate(thing_id):
    return _issued(devices().rotate(_caller(), http.uuid_param(thing_id)))


@bp.route("/things/{thing_id}/certificates/{cert_id}", methods=["GET"])
def view_certificate(thing_id, cert_id):
    rec = devices().view(_caller(), http.uuid_param(thing_id), http.uuid_param(cert_id, "certificate id"))
    return _certificate(rec)


@bp.route("/things/{thing_id}/certificates/{cert_id}", methods=["DELETE"])
def revoke_certificate(thing_id, cert_id):
    rec = devices().revoke(_caller(), http.uuid_param(thing_id), http.uuid_param(cert_id, "certificate id"))
    return _certificate(rec)


@bp.route("/things/{thing_id}/connection", methods=["GET"])
def connection_info(thing_id):
    """For the owner (Bearer token) or for the device itself (`Thing <key>`)."""
    thing_id = http.uuid_param(thing_id)
    header = bp.current_request.headers.get("authorization")
    key = thing_keys.from_authorization(header)
    if key is not None:
        thing = services().things.identify(key)
        if thing.id != thing_id:
            raise NotFound("thing not found")
    else:
        thing = services().things.view(_caller(), thing_id)
    return devices().connection_info(thing)
