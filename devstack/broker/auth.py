"""Who is connecting, and what their IoT policies allow: certificates via the IoT registry
(moto), id/key via the custom authorizer code that runs in Lambda on AWS.

Everything here blocks (HTTP to moto, PostgreSQL); the broker calls it from a thread pool.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.iot.ca import certificate_id, der_to_pem
from devstack.broker.policy import PolicySet

log = logging.getLogger("devstack.broker")


@dataclass
class Identity:
    kind: str  # "certificate" | "password"
    principal: str
    policy: PolicySet
    checked_at: float
    refresh_after: float  # seconds
    disconnect_at: float | None = None


class Authenticator:
    def __init__(self, iot: Any, authorizer: Callable[[dict], dict], resource_prefix: str,
                 refresh_seconds: float) -> None:
        self.iot = iot
        self.authorizer = authorizer
        self.prefix = resource_prefix
        self.refresh_seconds = refresh_seconds

    def authenticate(self, client_id: str, username: str | None, password: str | None,
                     peer_der: bytes | None) -> Identity | None:
        """An identity whose policy allows connecting with this client id, or None."""
        if peer_der:
            # IoT Core ignores the username on an mTLS connection (SDKs put metrics in it).
            ident = self._certificate(client_id, peer_der)
        elif username is not None and password is not None:
            ident = self._password(client_id, username, password)
        else:
            log.info("refused %s: no client certificate and no username/password", client_id)
            return None
        if ident is not None and not ident.policy.allows("iot:Connect", f"{self.prefix}client/{client_id}"):
            log.info("refused %s: its policy does not allow connecting with this client id", client_id)
            return None
        return ident

    def _certificate(self, client_id: str, der: bytes) -> Identity | None:
        iot = self.iot
        # AWS's certificate id is the SHA-256 of the DER; moto (unless configured otherwise)
        # hashes the PEM text it was given. Try both.
        candidates = [certificate_id(der), hashlib.sha256(der_to_pem(der).encode()).hexdigest()]
        desc = None
        for cid in candidates:
            try:
                desc = iot.describe_certificate(certificateId=cid)["certificateDescription"]
                break
            except iot.exceptions.ResourceNotFoundException:
                continue
        if desc is None:
            log.info("refused %s: certificate not registered in IoT", client_id)
            return None
        if desc["status"] != "ACTIVE":
            log.info("refused %s: certificate is %s", client_id, desc["status"])
            return None
        arn = desc["certificateArn"]
        docs = [iot.get_policy(policyName=p["policyName"])["policyDocument"]
                for p in iot.list_attached_policies(target=arn).get("policies", [])]
        things = iot.list_principal_things(principal=arn).get("things", [])
        variables = {"iot:ClientId": client_id,
                     "iot:Connection.Thing.ThingName": client_id if client_id in things else ""}
        return Identity("certificate", desc["certificateId"], PolicySet(docs, variables), time.monotonic(),
                        self.refresh_seconds)

    def _password(self, client_id: str, username: str, password: str) -> Identity | None:
        event = {
            "token": None,
            "signatureVerified": False,
            "protocols": ["tls", "mqtt"],
            "protocolData": {"tls": {"serverName": "localhost"},
                             "mqtt": {"username": username, "clientId": client_id,
                                      "password": base64.b64encode(password.encode()).decode()}},
            "connectionMetadata": {"id": str(uuid.uuid4())},
        }
        resp = self.authorizer(event)
        if not resp.get("isAuthenticated"):
            log.info("refused %s: the custom authorizer denied it", client_id)
            return None
        variables = {"iot:ClientId": client_id, "iot:Connection.Thing.ThingName": ""}
        now = time.monotonic()
        disconnect = resp.get("disconnectAfterInSeconds")
        return Identity("password", resp["principalId"], PolicySet(resp.get("policyDocuments", []), variables), now,
                        min(self.refresh_seconds, float(resp.get("refreshAfterInSeconds") or self.refresh_seconds)),
                        now + disconnect if disconnect else None)
