"""amqtt 0.12 made to behave like IoT Core where it matters to us.

- TLS with the local CA; a client certificate is optional at the TLS layer (like IoT Core's
  port 8883 for custom authentication) but then username/password must pass the authorizer.
- Authentication and every publish/subscribe/receive go through IoT policy documents
  (`_authenticate` and `_topic_filtering` are replaced; no amqtt plugins are loaded).
  A publish the policy refuses closes the connection, as IoT Core does.
- QoS 1: amqtt sends PUBACK as soon as a PUBLISH is queued, before anything is done with it, so
  a client that disconnects right after its last PUBACK loses what was still queued. Here the
  protocol handler's `handle_publish` is replaced: the rules run (the message is on the ingest
  queue, or on the retry queue through the error action) and subscribers are fed *before* the
  PUBACK goes out; storing happens later, from the queue. The work is shielded from the
  connection: a disconnect cannot cancel a message half way. If the rules cannot secure the
  message, no PUBACK is sent and the connection is closed, so the device sends it again.
- A CONNECT's credentials are checked before anything happens to the session of its client id:
  a refused CONNECT neither takes over nor clears the session of the device it claims to be.
- Authorization is re-checked every `refresh_seconds` for live connections (IoT Core's
  refreshAfterInSeconds); a connection whose credentials no longer pass is closed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.puback import PubackPacket
from amqtt.session import Session

from devstack.broker.auth import Authenticator, Identity
from devstack.broker.rules import Message, RuleEngine

log = logging.getLogger("devstack.broker")

_IDENTITY = "choovio.identity"
_LAST = "choovio.last_message"
_CHECKED = "choovio.checked_at_connect"
# What IoT Core reports as the client id of messages published over HTTPS (iot-data Publish).
API_CLIENT_ID = "n/a"


class DurableHandler(BrokerProtocolHandler):
    """Acknowledges a QoS 1 PUBLISH only after the broker has secured it."""

    broker: IotBroker

    async def handle_publish(self, publish_packet) -> None:
        session = self.session
        topic, qos = publish_packet.topic_name, publish_packet.qos
        if session is None or topic is None or publish_packet.data is None:
            return
        packet_id = publish_packet.variable_header.packet_id if publish_packet.variable_header else None
        if qos == 2 or not topic or "#" in topic or "+" in topic or topic.startswith("$"):
            log.info("%s: closing, invalid PUBLISH (topic %r, QoS %s)", session.client_id, topic, qos)
            await self._close()
            return
        if not self.broker.allowed(session, "iot:Publish", topic):
            log.info("%s: closing, not allowed to publish to %s", session.client_id, topic)
            await self._close()
            return
        ok = await self.broker.accept(session, topic, bytes(publish_packet.data), publish_packet.retain_flag)
        if not ok:
            await self._close()
            return
        if qos == 1 and packet_id is not None:
            await self._send_packet(PubackPacket.build(packet_id))

    async def _close(self) -> None:
        try:
            if self.writer is not None:
                await self.writer.close()
        except (OSError, asyncio.CancelledError):
            pass


class IotBroker(Broker):
    def __init__(self, config: dict, *, auth: Authenticator, engine: RuleEngine, executor: ThreadPoolExecutor,
                 resource_prefix: str, refresh_seconds: float) -> None:
        super().__init__(config)
        self.auth = auth
        self.engine = engine
        self.executor = executor
        self.prefix = resource_prefix
        self.refresh_seconds = refresh_seconds
        self._refresher: asyncio.Task | None = None
        self._api_attributes: dict[str, Any] = {}  # ordering state for messages the API forwards
        self.stats = {"accepted": 0, "refused_publish": 0, "rule_failures": 0, "forwarded": 0}

    async def start(self) -> None:
        await super().start()
        self._refresher = asyncio.create_task(self._refresh_loop())

    async def shutdown(self) -> None:
        if self._refresher:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        await super().shutdown()

    # -- identity and policy ---------------------------------------------------------

    async def _authenticate(self, session: Session, _listener: Any) -> bool:
        if session.attributes.pop(_CHECKED, False):  # at this connection's CONNECT, a moment ago
            return True
        peer = session.ssl_object.getpeercert(binary_form=True) if session.ssl_object else None
        try:
            ident = await asyncio.get_running_loop().run_in_executor(
                self.executor, self.auth.authenticate, session.client_id or "", session.username, session.password,
                peer)
        except Exception:  # the registry or the database is down: refuse, the device retries
            log.exception("authentication of %s failed", session.client_id)
            return False
        if ident is None:
            return False
        session.attributes[_IDENTITY] = ident
        return True

    def allowed(self, session: Session, action: str, topic: str) -> bool:
        ident: Identity | None = session.attributes.get(_IDENTITY)
        kind = "topicfilter" if action == "iot:Subscribe" else "topic"
        return ident is not None and ident.policy.allows(action, f"{self.prefix}{kind}/{topic}")

    async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
        name = {Action.SUBSCRIBE: "iot:Subscribe", Action.PUBLISH: "iot:Publish", Action.RECEIVE: "iot:Receive"}
        return self.allowed(session, name[action], topic)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.refresh_seconds))
            for client_id, (session, handler) in list(self.sessions.items()):
                ident: Identity | None = session.attributes.get(_IDENTITY)
                if ident is None or session.transitions.state != "connected":
                    continue
                now = time.monotonic()
                expired = ident.disconnect_at is not None and now >= ident.disconnect_at
                if not expired and now - ident.checked_at < ident.refresh_after:
                    continue
                ok = not expired and await self._authenticate(session, None)
                if not ok:
                    log.info("%s: closing, its credentials or policy no longer allow the connection", client_id)
                    if isinstance(handler, DurableHandler):
                        await handler._close()

    # -- messages ----------------------------------------------------------------------

    async def _initialize_client_session(self, reader: Any, writer: Any, *_args: Any):
        """Read the CONNECT and check its credentials before any session is touched.

        amqtt's own version first drops (clean session) or resumes (persistent session) the
        session of the CONNECT's client id, and a resumed one is taken over from its live
        connection even when the credentials then fail: anyone who knew a thing id could knock
        that device off and clear its subscriptions. IoT Core refuses such a CONNECT and leaves
        the live connection alone; so does this.
        """
        try:
            handler, incoming = await BrokerProtocolHandler.init_from_connect(reader, writer, self.plugins_manager)
        except MQTTError:
            await writer.close()
            raise
        except NoDataError as exc:
            raise AMQTTError(exc) from exc
        if not await self._authenticate(incoming, None):
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
            await writer.close()
            raise AMQTTError(f"{incoming.client_id}: CONNECT refused")
        incoming.attributes[_CHECKED] = True
        resumed = None if incoming.clean_session else self._sessions.get(incoming.client_id)
        if resumed is None:
            if incoming.clean_session:
                await self._delete_session(incoming.client_id)
            session, session.parent = incoming, 0
        else:
            # The stored session (subscriptions, queued messages) with this connection's details.
            session, session.parent = resumed[0], 1
            for name in ("will_flag", "will_retain", "will_qos", "will_topic", "will_message", "username",
                         "password", "keep_alive", "remote_address", "remote_port", "ssl_object"):
                setattr(session, name, getattr(incoming, name))
            session.attributes.update(incoming.attributes)
        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        # amqtt builds a plain BrokerProtocolHandler; ours only adds behaviour, no state.
        handler.__class__ = DurableHandler
        handler.broker = self
        return handler, session

    async def accept(self, session: Session | None, topic: str, data: bytes, retain: bool = False,
                     client_id: str | None = None, principal: str | None = None) -> bool:
        """Run the rules, then feed subscribers; True once the message is safe to acknowledge.

        Messages of one publisher are handed to subscribers in the order they arrived, while the
        rules for several of them run in parallel.
        """
        loop = asyncio.get_running_loop()
        ident: Identity | None = session.attributes.get(_IDENTITY) if session else None
        msg = Message(topic=topic, payload=data, client_id=client_id or (session.client_id if session else ""),
                      principal=principal or (ident.principal if ident else ""))
        holder = session.attributes if session else self._api_attributes
        previous: asyncio.Future | None = holder.get(_LAST)
        mine = loop.create_future()
        holder[_LAST] = mine

        async def work() -> bool:
            try:
                ok = await loop.run_in_executor(self.executor, self._run_rules, msg)
                if previous is not None:
                    await previous
                if ok:
                    await self._broadcast_message(session, topic, data)
                    if retain:
                        await self.retain_message(session, topic, data, 1)
                return ok
            finally:
                mine.set_result(None)

        # A disconnect cancels the caller, never the work.
        return await asyncio.shield(asyncio.ensure_future(work()))

    def _run_rules(self, msg: Message) -> bool:
        try:
            self.engine.process(msg)
        except Exception:
            self.stats["rule_failures"] += 1
            log.exception("rules failed for a message on %s and no queue took it; not acknowledged", msg.topic)
            return False
        self.stats["accepted"] += 1
        return True

    async def forward(self, topic: str, data: bytes) -> None:
        """A message the API already stored, for MQTT subscribers (the rules see clientid() = 'n/a')."""
        self.stats["forwarded"] += 1
        await self.accept(None, topic, data, client_id=API_CLIENT_ID, principal="local-api")
