"""Device identity in AWS IoT Core: certificates (issue, rotate, revoke), policies, connection info.

PostgreSQL says what should be (which things exist, are enabled, and use which channels); the
IoT registry is made to match it:
- each certificate is attached to an IoT thing named after our thing id, and to that thing's
  policies (client id = thing id only; its enabled, connected channels only);
- a disabled thing's certificates are INACTIVE, a revoked certificate is REVOKED;
- `sync(thing_ids)` re-applies all that after connect/disconnect/enable/disable/delete.

Certificates come from IoT itself (CreateKeysAndCertificate, Amazon's CA) unless a CA of ours
is configured (IOT_CA_CERT_FILE + IOT_CA_KEY_FILE, registered in IoT): then we sign and
RegisterCertificate. The local stack uses the second mode. Private keys are returned once, by
issue/rotate, and never stored.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from chalicelib.entities import ENABLED, ListQuery, Thing, User, now
from chalicelib.errors import NotFound, Unavailable
from chalicelib.iot import policies
from chalicelib.iot.authorizer import connected_channel_ids
from chalicelib.iot.repository import ACTIVE, REVOKED, CertificateRecord, CertificateRepository

log = logging.getLogger(__name__)

AMAZON_ROOT_CA_URL = "https://www.amazontrust.com/repository/AmazonRootCA1.pem"
MAX_POLICY_VERSIONS = 5


@dataclass
class IssuedCertificate:
    record: CertificateRecord
    private_key_pem: str


def _read(path: str | None) -> str | None:
    return Path(path).read_text() if path and Path(path).exists() else None


class DeviceService:
    def __init__(self, things: Any, store: Any, repo: CertificateRepository, iot: Any = None) -> None:
        self.things = things
        self.store = store
        self.repo = repo
        self._iot = iot

    # -- wiring ----------------------------------------------------------------

    @property
    def iot(self) -> Any:
        if self._iot is None:
            import boto3  # deferred: only device routes and hooks pay for it

            self._iot = boto3.client("iot")
        return self._iot

    @cached_property
    def _ca(self):
        """Our own CA when configured, else None (IoT issues with Amazon's CA)."""
        cert, key = _read(os.environ.get("IOT_CA_CERT_FILE")), _read(os.environ.get("IOT_CA_KEY_FILE"))
        if not (cert and key):
            return None
        from chalicelib.iot.ca import CertificateAuthority

        return CertificateAuthority(cert, key)

    # -- certificates ------------------------------------------------------------

    def issue(self, caller: User, thing_id: str) -> IssuedCertificate:
        thing = self.things.authorize_editor(caller, thing_id)
        return self._issue(thing)

    def rotate(self, caller: User, thing_id: str) -> IssuedCertificate:
        """A new certificate; the thing's previous ones are revoked once the new one is in place."""
        thing = self.things.authorize_editor(caller, thing_id)
        previous = self.repo.for_thing(thing.id, ACTIVE)
        issued = self._issue(thing)
        for rec in previous:
            self._revoke(rec)
        return issued

    def revoke(self, caller: User, thing_id: str, cert_id: str) -> CertificateRecord:
        thing = self.things.authorize_editor(caller, thing_id)
        rec = self._own(thing.id, cert_id)
        if rec.status == ACTIVE:
            self._revoke(rec)
        return self.repo.get(rec.id) or rec

    def list(self, caller: User, thing_id: str) -> list[CertificateRecord]:
        thing = self.things.view(caller, thing_id)
        return self.repo.for_thing(thing.id)

    def view(self, caller: User, thing_id: str, cert_id: str) -> CertificateRecord:
        thing = self.things.view(caller, thing_id)
        return self._own(thing.id, cert_id)

    def _own(self, thing_id: str, cert_id: str) -> CertificateRecord:
        rec = self.repo.get(cert_id)
        if rec is None or rec.thing_id != thing_id:
            raise NotFound("certificate not found")
        return rec

    def _issue(self, thing: Thing) -> IssuedCertificate:
        iot = self.iot
        try:
            if self._ca is not None:
                cert_pem, key_pem = self._ca.issue_client(thing.id, int(os.environ.get("IOT_CERT_DAYS", "365")))
                out = iot.register_certificate(certificatePem=cert_pem, caCertificatePem=self._ca.cert_pem,
                                               status="ACTIVE" if thing.status == ENABLED else "INACTIVE")
                issuer = "ca"
            else:
                out = iot.create_keys_and_certificate(setAsActive=thing.status == ENABLED)
                cert_pem, key_pem = out["certificatePem"], out["keyPair"]["PrivateKey"]
                issuer = "amazon"
            iot.create_thing(thingName=thing.id)
            iot.attach_thing_principal(thingName=thing.id, principal=out["certificateArn"])
        except Exception as exc:  # botocore errors: IoT is what failed, say so
            raise Unavailable(f"AWS IoT refused the certificate request: {exc}") from exc
        rec = self.repo.add(CertificateRecord(
            id=str(uuid.uuid4()), thing_id=thing.id, certificate_id=out["certificateId"],
            certificate_arn=out["certificateArn"], certificate_pem=cert_pem, issuer=issuer,
        ))
        self.sync([thing.id])
        return IssuedCertificate(rec, key_pem)

    def _revoke(self, rec: CertificateRecord) -> None:
        iot = self.iot
        iot.update_certificate(certificateId=rec.certificate_id, newStatus="REVOKED")
        for p in iot.list_attached_policies(target=rec.certificate_arn).get("policies", []):
            iot.detach_policy(policyName=p["policyName"], target=rec.certificate_arn)
        try:
            iot.detach_thing_principal(thingName=rec.thing_id, principal=rec.certificate_arn)
        except iot.exceptions.ResourceNotFoundException:
            pass
        self.repo.mark_revoked(rec.id)

    # -- keeping IoT in line with PostgreSQL ------------------------------------

    def sync(self, thing_ids: list[str]) -> None:
        """Re-apply status and policies for these things' certificates (no-op for things without any)."""
        for thing_id in dict.fromkeys(thing_ids):
            certs = self.repo.for_thing(thing_id, ACTIVE)
            if certs:
                self._sync_one(thing_id, certs)

    def sync_all(self) -> None:
        self.sync([rec.thing_id for rec in self.repo.all_active()])

    def _sync_one(self, thing_id: str, certs: list[CertificateRecord]) -> None:
        iot = self.iot
        thing = self.store.get_thing(thing_id)
        if thing is None:  # deleted: nothing of it may connect again
            for rec in certs:
                self._revoke(rec)
            self._put_policies(thing_id, [])
            return
        status = "ACTIVE" if thing.status == ENABLED else "INACTIVE"
        docs = policies.thing_policy_documents(thing_id, connected_channel_ids(self.store, thing_id))
        names = self._put_policies(thing_id, docs)
        for rec in certs:
            iot.update_certificate(certificateId=rec.certificate_id, newStatus=status)
            attached = {p["policyName"] for p in iot.list_attached_policies(target=rec.certificate_arn)["policies"]}
            for name in names:
                if name not in attached:
                    iot.attach_policy(policyName=name, target=rec.certificate_arn)
            for name in attached - set(names):
                iot.detach_policy(policyName=name, target=rec.certificate_arn)

    def _put_policies(self, thing_id: str, docs: list[dict]) -> list[str]:
        """Create or update one policy per document; drop the thing's surplus policies."""
        names = [policies.policy_name(thing_id, i) for i in range(len(docs))]
        for name, doc in zip(names, docs):
            self._put_policy(name, doc)
        for i in range(len(docs), policies.MAX_DOCUMENTS):
            self._delete_policy(policies.policy_name(thing_id, i))
        return names

    def _put_policy(self, name: str, doc: dict) -> None:
        iot = self.iot
        text = json.dumps(doc, separators=(",", ":"))
        try:
            iot.create_policy(policyName=name, policyDocument=text)
            return
        except iot.exceptions.ResourceAlreadyExistsException:
            pass
        if json.loads(iot.get_policy(policyName=name)["policyDocument"]) == doc:
            return
        versions = iot.list_policy_versions(policyName=name)["policyVersions"]
        old = sorted((v for v in versions if not v["isDefaultVersion"]), key=lambda v: int(v["versionId"]))
        while old and len(versions) >= MAX_POLICY_VERSIONS:
            iot.delete_policy_version(policyName=name, policyVersionId=old.pop(0)["versionId"])
            versions = versions[1:]
        iot.create_policy_version(policyName=name, policyDocument=text, setAsDefault=True)

    def _delete_policy(self, name: str) -> None:
        iot = self.iot
        try:
            for target in iot.list_targets_for_policy(policyName=name).get("targets", []):
                iot.detach_policy(policyName=name, target=target)
            for v in iot.list_policy_versions(policyName=name)["policyVersions"]:
                if not v["isDefaultVersion"]:
                    iot.delete_policy_version(policyName=name, policyVersionId=v["versionId"])
            iot.delete_policy(policyName=name)
        except iot.exceptions.ResourceNotFoundException:
            pass

    def restore_registry(self) -> int:
        """Register our CA-issued active certificates again (the local IoT stand-in forgets on restart)."""
        if self._ca is None:
            return 0
        iot, count = self.iot, 0
        for rec in self.repo.all_active():
            if rec.issuer != "ca":
                continue
            try:
                iot.register_certificate(certificatePem=rec.certificate_pem, caCertificatePem=self._ca.cert_pem,
                                         status="ACTIVE")
            except iot.exceptions.ResourceAlreadyExistsException:
                pass
            iot.create_thing(thingName=rec.thing_id)
            iot.attach_thing_principal(thingName=rec.thing_id, principal=rec.certificate_arn)
            count += 1
        self.sync_all()
        return count

    # -- what a device needs to connect -------------------------------------------

    @cached_property
    def endpoint(self) -> str:
        configured = os.environ.get("IOT_ENDPOINT")
        if configured:
            return configured
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable(f"AWS IoT did not say its endpoint: {exc}") from exc

    def connection_info(self, thing: Thing) -> dict:
        page = self.store.list_channels(ListQuery(limit=1000, status="enabled"), viewer=None, thing_id=thing.id,
                                        connected=True)
        ca_pem = _read(os.environ.get("IOT_SERVER_CA_FILE"))
        port = int(os.environ.get("IOT_PORT", "8883"))
        authorizer = os.environ.get("IOT_AUTHORIZER_NAME", "choovio-things")
        return {
            "thing_id": thing.id,
            "endpoint": self.endpoint,
            "port": port,
            "protocol": "mqtt 3.1.1 over TLS",
            "client_id": thing.id,
            "ca_certificate": ca_pem,
            "ca_certificate_url": None if ca_pem else AMAZON_ROOT_CA_URL,
            "topic_pattern": policies.TOPIC_PATTERN + "[/<subtopic>...]",
            "subscribe_pattern": policies.TOPIC_PATTERN + "/#",
            "channels": [
                {"id": c.id, "name": c.name,
                 "publish_topic": policies.TOPIC_PATTERN.format(channel_id=c.id),
                 "subscribe_filter": policies.TOPIC_PATTERN.format(channel_id=c.id) + "/#"}
                for c in page.items
            ],
            "auth": {
                "certificate": {"how": "mutual TLS with a certificate from POST /things/{id}/certificates",
                                "active_certificates": len(self.repo.for_thing(thing.id, ACTIVE))},
                "password": {"username": thing.id, "password": "the thing key (things' credentials.secret)",
                             "authorizer": authorizer,
                             "how": "MQTT username/password; on AWS the SDKs append "
                                    f"?x-amz-customauthorizer-name={authorizer} to the username (port 443, ALPN mqtt)"},
            },
            "issued_at": now().isoformat(),
        }


__all__ = ["DeviceService", "IssuedCertificate", "REVOKED", "ACTIVE"]
