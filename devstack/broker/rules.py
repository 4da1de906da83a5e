"""The IoT Core rules engine, for the rules in iot_rules/ (the SQL subset they use).

Supported SQL (version 2016-03-23 semantics for what is here):
    SELECT <expr> [AS <name>], ... | *   FROM '<topic filter>'   [WHERE <expr>]
    expressions: 'strings', numbers, true/false/null, payload fields (a.b.c), ( ), NOT, AND, OR,
                 = <> != < <= > >=, and the functions topic(), topic(n), clientid(), principal(),
                 timestamp(), encode(*|expr, 'base64'), newuuid(), isUndefined(x).
Undefined follows IoT's rules: a missing field or a comparison with one is Undefined, a WHERE
that is not exactly true skips the rule, and Undefined values are left out of the SELECT result.

Actions: `Sqs` (the SELECT result as a JSON message body), and an `Sqs` error action that gets
IoT Core's error-action message when an action fails.
"""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class _Undefined:
    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED: Any = _Undefined()


class SqlError(ValueError):
    pass


@dataclass
class Message:
    """What the rules engine knows about one published message."""

    topic: str
    payload: bytes
    client_id: str
    principal: str
    timestamp_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = json.loads(self.payload)
            except (ValueError, UnicodeDecodeError):
                self._json = UNDEFINED
        return self._json


# -- parsing -------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)
    | (?P<op><>|!=|<=|>=|[=<>*,().])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""", re.VERBOSE)
_KEYWORDS = {"select", "as", "from", "where", "and", "or", "not", "true", "false", "null"}


def _tokens(sql: str) -> list[tuple[str, str]]:
    out, pos, sql = [], 0, sql.strip()
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if not m or m.end() == pos:
            raise SqlError(f"cannot parse SQL near: {sql[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "word" and text.lower() in _KEYWORDS:
            kind, text = "kw", text.lower()
        elif kind == "str":
            text = text[1:-1].replace(text[0] * 2, text[0])
        out.append((kind, text))
    return out


class _Parser:
    def __init__(self, sql: str) -> None:
        self.toks = _tokens(sql)
        self.i = 0

    def peek(self, kind: str | None = None, text: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, t = self.toks[self.i]
        return (kind is None or k == kind) and (text is None or t == text)

    def take(self, kind: str | None = None, text: str | None = None) -> str:
        if not self.peek(kind, text):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "end of statement"
            raise SqlError(f"expected {text or kind}, got {got!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def statement(self) -> tuple[list[tuple[str, Any]], str, Any]:
        self.take("kw", "select")
        items = [self.item()]
        while self.peek("op", ","):
            self.take()
            items.append(self.item())
        self.take("kw", "from")
        topic_filter = self.take("str")
        where = None
        if self.peek("kw", "where"):
            self.take()
            where = self.expr()
        if self.i != len(self.toks):
            raise SqlError(f"unexpected {self.toks[self.i][1]!r}")
        return items, topic_filter, where

    def item(self) -> tuple[str, Any]:
        if self.peek("op", "*"):
            self.take()
            return "*", ("star",)
        node = self.expr()
        if self.peek("kw", "as"):
            self.take()
            return self.take("word"), node
        if node[0] == "field":
            return node[1][-1], node
        if node[0] == "call":
            return node[1], node
        raise SqlError("give every computed SELECT item a name with AS")

    def expr(self) -> Any:
        node = self.conj()
        while self.peek("kw", "or"):
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self) -> Any:
        node = self.neg()
        while self.peek("kw", "and"):
            self.take()
            node = ("and", node, self.neg())
        return node

    def neg(self) -> Any:
        if self.peek("kw", "not"):
            self.take()
            return ("not", self.neg())
        left = self.primary()
        for op in ("=", "<>", "!=", "<=", ">=", "<", ">"):
            if self.peek("op", op):
                self.take()
                return ("cmp", op, left, self.primary())
        return left

    def primary(self) -> Any:
        if self.peek("op", "("):
            self.take()
            node = self.expr()
            self.take("op", ")")
            return node
        if self.peek("str"):
            return ("lit", self.take())
        if self.peek("num"):
            text = self.take()
            return ("lit", float(text) if any(c in text for c in ".eE") else int(text))
        if self.peek("kw"):
            word = self.take()
            if word in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[word])
            raise SqlError(f"unexpected {word!r}")
        name = self.take("word")
        if self.peek("op", "("):
            self.take()
            args = []
            while not self.peek("op", ")"):
                if self.peek("op", "*"):
                    self.take()
                    args.append(("star",))
                else:
                    args.append(self.expr())
                if self.peek("op", ","):
                    self.take()
            self.take("op", ")")
            return ("call", name.lower(), args)
        path = [name]
        while self.peek("op", "."):
            self.take()
            path.append(self.take("word"))
        return ("field", path)


# -- evaluation ----------------------------------------------------------------

def _compare(op: str, a: Any, b: Any) -> Any:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    try:
        return {"=": a == b, "<>": a != b, "!=": a != b}[op] if op in ("=", "<>", "!=") else {
            "<": lambda: a < b, ">": lambda: a > b, "<=": lambda: a <= b, ">=": lambda: a >= b}[op]()
    except TypeError:
        return UNDEFINED


def _encode(value: Any, scheme: Any, msg: Message) -> Any:
    if scheme != "base64":
        return UNDEFINED
    if value is _STAR:
        raw = msg.payload
    elif value is UNDEFINED:
        return UNDEFINED
    else:
        raw = (value if isinstance(value, str) else json.dumps(value)).encode()
    return base64.b64encode(raw).decode()


_STAR = object()


def evaluate(node: Any, msg: Message) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "star":
        return _STAR
    if kind == "field":
        value = msg.json()
        for part in node[1]:
            value = value.get(part, UNDEFINED) if isinstance(value, dict) else UNDEFINED
        return value
    if kind == "not":
        v = evaluate(node[1], msg)
        return (not v) if isinstance(v, bool) else UNDEFINED
    if kind in ("and", "or"):
        a, b = evaluate(node[1], msg), evaluate(node[2], msg)
        if kind == "and":
            return False if (a is False or b is False) else (True if (a is True and b is True) else UNDEFINED)
        return True if (a is True or b is True) else (False if (a is False and b is False) else UNDEFINED)
    if kind == "cmp":
        return _compare(node[1], evaluate(node[2], msg), evaluate(node[3], msg))
    if kind == "call":
        name, args = node[1], [evaluate(a, msg) for a in node[2]]
        if name == "topic":
            if not args:
                return msg.topic
            levels = msg.topic.split("/")
            n = args[0]
            return levels[n - 1] if isinstance(n, int) and 1 <= n <= len(levels) else UNDEFINED
        if name == "clientid":
            return msg.client_id
        if name == "principal":
            return msg.principal
        if name == "timestamp":
            return msg.timestamp_ms
        if name == "encode":
            return _encode(args[0], args[1], msg) if len(args) == 2 else UNDEFINED
        if name == "newuuid":
            return str(uuid.uuid4())
        if name == "isundefined":
            return args[0] is UNDEFINED
        raise SqlError(f"function {name}() is not supported by the local rules engine")
    raise SqlError(f"cannot evaluate {kind}")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching ('#' also matches the parent level, as in MQTT)."""
    f, t = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


@dataclass
class Rule:
    name: str
    sql: str
    actions: list[dict]
    error_action: dict | None = None
    disabled: bool = False

    def __post_init__(self) -> None:
        self.items, self.topic_filter, self.where = _Parser(self.sql).statement()

    def select(self, msg: Message) -> dict | None:
        """The action payload, or None when the rule does not apply to this message."""
        if self.disabled or not topic_matches(self.topic_filter, msg.topic):
            return None
        if self.where is not None and evaluate(self.where, msg) is not True:
            return None
        out: dict[str, Any] = {}
        for name, node in self.items:
            if name == "*":
                payload = msg.json()
                if isinstance(payload, dict):
                    out.update(payload)
                continue
            value = evaluate(node, msg)
            if value is not UNDEFINED:
                out[name] = value
        return out


def _get(d: dict, *names: str) -> Any:
    for n in names:
        if n in d:
            return d[n]
    return None


def load_rules(directory: Path) -> list[Rule]:
    """iot_rules/*.json in the CloudFormation AWS::IoT::TopicRule shape (the API's camelCase works too)."""
    rules = []
    for path in sorted(Path(directory).glob("*.json")):
        spec = json.loads(path.read_text())
        spec = spec.get("Properties", spec)
        payload = _get(spec, "TopicRulePayload", "topicRulePayload") or {}
        version = _get(payload, "AwsIotSqlVersion", "awsIotSqlVersion")
        if version != "2016-03-23":
            raise SqlError(f"{path.name}: the local rules engine implements SQL version 2016-03-23, not {version}")
        rules.append(Rule(
            name=_get(spec, "RuleName", "ruleName") or path.stem,
            sql=_get(payload, "Sql", "sql"),
            actions=_get(payload, "Actions", "actions") or [],
            error_action=_get(payload, "ErrorAction", "errorAction"),
            disabled=bool(_get(payload, "RuleDisabled", "ruleDisabled")),
        ))
    return rules


class ActionFailed(Exception):
    """A rule's actions failed and its error action could not keep the message either."""


class RuleEngine:
    """Runs every matching rule's actions for a message, synchronously.

    Only `Sqs` actions: `queues` resolves a QueueUrl placeholder (e.g. "${IngestQueueUrl}") to a
    queue URL and `send(url, body)` puts a message on it (RoleArn means nothing locally). When
    actions fail, the rule's error action gets one message in IoT Core's error-action shape; if
    that fails too (or there is none), `process` raises and the broker must not acknowledge.
    """

    def __init__(self, rules: list[Rule], queues: dict[str, str], send: Callable[[str, str], None]) -> None:
        self.rules = rules
        self.queues = queues
        self.send = send
        for rule in rules:
            for action in rule.actions + ([rule.error_action] if rule.error_action else []):
                self._queue(rule, action)

    def _queue(self, rule: Rule, action: dict) -> tuple[dict, str]:
        spec = _get(action, "Sqs", "sqs")
        if spec is None:
            raise SqlError(f"rule {rule.name}: only Sqs actions are supported locally, not {list(action)}")
        placeholder = _get(spec, "QueueUrl", "queueUrl")
        if placeholder not in self.queues:
            raise SqlError(f"rule {rule.name}: no local queue for {placeholder}")
        return spec, self.queues[placeholder]

    def _send(self, spec: dict, url: str, message: dict) -> None:
        body = json.dumps(message)
        if _get(spec, "UseBase64", "useBase64"):
            body = base64.b64encode(body.encode()).decode()
        self.send(url, body)

    def process(self, msg: Message) -> int:
        """Returns how many actions ran."""
        ran = 0
        for rule in self.rules:
            event = rule.select(msg)
            if event is None:
                continue
            failures = []
            for action in rule.actions:
                spec, url = self._queue(rule, action)
                try:
                    self._send(spec, url, event)
                except Exception as exc:  # noqa: BLE001 - any failure of an action goes to the error action
                    failures.append({"failedAction": "SqsAction", "failedResource": url,
                                     "errorMessage": f"Failed to send message to SQS: {exc}"})
                ran += 1
            if failures:
                self._error_action(rule, msg, failures)
        return ran

    def _error_action(self, rule: Rule, msg: Message, failures: list[dict]) -> None:
        if rule.error_action is None:
            raise ActionFailed(f"rule {rule.name}: {failures[0]['errorMessage']}")
        # https://docs.aws.amazon.com/iot/latest/developerguide/rule-error-handling.html
        message = {"ruleName": rule.name, "topic": msg.topic, "cloudwatchTraceId": str(uuid.uuid4()),
                   "clientId": msg.client_id, "base64OriginalPayload": base64.b64encode(msg.payload).decode(),
                   "failures": failures}
        spec, url = self._queue(rule, rule.error_action)
        try:
            self._send(spec, url, message)
        except Exception as exc:
            raise ActionFailed(f"rule {rule.name}: actions and error action failed") from exc
