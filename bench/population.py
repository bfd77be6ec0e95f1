"""A varied request population for the long-run benches (memory.py, cost.py): many numbers, clients,
policies, operators and error answers, each request a real API Gateway REST proxy event.

Eight sandbox operators by prefix, `numbers` subscribers spread over them (copies of the bundled
+34600000001 record under new numbers), some numbers ported to another operator, `clients` onboarded
API keys; requests drawn with a fixed seed, so two runs send the same sequence. Not a test helper.
"""

import json
import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import standins

PREFIXES = {
    "es": "+34",
    "jp": "+81",
    "gb": "+44",
    "de": "+49",
    "fr": "+33",
    "it": "+39",
    "nl": "+31",
    "pt": "+351",
}
UNSERVED_PREFIX = "+1"  # no operator: 422
MATCH_PATH = "/kyc-match/v0.4/match"
ASSESS_PATH = "/kyc-decision/v1/assess"
_ATTRIBUTES = (
    "givenName",
    "familyName",
    "birthdate",
    "idDocument",
    "address",
    "postalCode",
    "email",
    "country",
)

# What each request is, and how often (weights sum to 100).
MIX: dict[str, int] = {
    "match": 52,  # a subscriber on file, a random subset of attributes
    "match-repeat": 8,  # one of a few hot numbers again
    "assess": 10,  # decision endpoint, a policy id from many (most unknown: an error answered and audited)
    "ported": 4,  # a number ported to another operator
    "unknown-number": 6,  # no such subscriber: 404
    "unserved": 3,  # no operator for the prefix: 422
    "bad-body": 8,  # malformed JSON, unknown field, bad number, empty body: 400
    "bad-correlator": 4,  # x-correlator outside CAMARA's pattern: 400
    "unknown-key": 3,  # an API key of no client: 403, each a different key id
    "wrong-method": 2,  # GET on the match path: 405
}


# x-correlator as clients send it: a UUID (stored as is), other text (a KMS keyed hash), none (we make one).
CORRELATORS = {"uuid": 0.7, "text": 0.2, "none": 0.1}


def operators_json() -> str:
    return json.dumps(
        [{"id": op, "kind": "sandbox", "prefixes": [prefix]} for op, prefix in PREFIXES.items()]
    )


def configure_environment() -> None:
    """KYC_* settings for the population; before the handler is imported (it validates them)."""
    os.environ["KYC_OPERATORS"] = operators_json()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "kyc-match")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "KycMatch")


def settings() -> Any:
    from kyc_match.settings import get_settings  # noqa: PLC0415

    return get_settings()


def _number(prefix: str, index: int) -> str:
    return f"{prefix}6{index:08d}"


@dataclass
class Population:
    numbers: list[str]
    ported: list[str]
    keys: list[str]
    template: dict[str, Any]
    rng: random.Random
    _sequence: int = 0

    def install(self) -> tuple[standins.MemoryDynamoDb, standins.MemoryKms]:
        """Subscribers, ported numbers and onboarded clients into the in-memory AWS stand-ins."""
        from kyc_match.audit.hashing import KmsIdentifierHasher  # noqa: PLC0415
        from kyc_match.domain.purposes import DEFAULT_PURPOSE  # noqa: PLC0415
        from kyc_match.operators.ported import ported_item  # noqa: PLC0415
        from kyc_match.settings import get_settings  # noqa: PLC0415

        subscribers = [{**self.template, "phoneNumber": number} for number in self.numbers + self.ported]
        profile = json.dumps({"purposes": [DEFAULT_PURPOSE], "defaultPurpose": DEFAULT_PURPOSE})
        clients = [
            {"pk": "CLIENT_KEYS", "sk": key, "clientId": f"client-{index // 2}", "document": profile}
            for index, key in enumerate(self.keys)
        ]
        dynamodb, kms = standins.install_aws(subscribers, clients)
        settings = get_settings()
        hasher = KmsIdentifierHasher(kms, settings.hash_key_id, cache_size=0)  # loading fills no cache
        table = dynamodb.Table(settings.ported_numbers_table)
        operators = list(PREFIXES)
        for index, number in enumerate(self.ported):  # ported away from its prefix's operator
            item = ported_item(hasher, number, operators[(index % (len(operators) - 1)) + 1])
            table.items[(item["numberHash"],)] = item
        kms.calls = 0
        return dynamodb, kms

    def requests(self, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
        kinds, weights = list(MIX), list(MIX.values())
        for _ in range(count):
            kind = self.rng.choices(kinds, weights)[0]
            yield kind, self.event(kind)

    def event(self, kind: str) -> dict[str, Any]:
        self._sequence += 1
        builders: dict[str, Callable[[], dict[str, Any]]] = {
            "match": lambda: self._match(self.rng.choice(self.numbers)),
            "match-repeat": lambda: self._match(self.numbers[self.rng.randrange(8)]),
            "assess": self._assess,
            "ported": lambda: self._match(self.rng.choice(self.ported)),
            "unknown-number": lambda: self._match(_number("+34", 90_000_000 + self.rng.randrange(9_999_999))),
            "unserved": lambda: self._match(f"{UNSERVED_PREFIX}202555{self.rng.randrange(10_000):04d}"),
            "bad-body": self._bad_body,
            "bad-correlator": lambda: self._with(
                self._match(self.rng.choice(self.numbers)), correlator=f"bad correlator {self._sequence}!"
            ),
            "unknown-key": lambda: self._with(
                self._match(self.rng.choice(self.numbers)), key=f"unknown-key-{self._sequence}"
            ),
            "wrong-method": lambda: self._with(self._match(self.rng.choice(self.numbers)), method="GET"),
        }
        return builders[kind]()

    def _body(self, number: str) -> dict[str, Any]:
        chosen = self.rng.sample(_ATTRIBUTES, self.rng.randint(1, len(_ATTRIBUTES)))
        body = {"phoneNumber": number, **{name: self.template[name] for name in chosen}}
        if self.rng.random() < 0.3:
            body["givenName"] = self.rng.choice(("Federico", "Fede", "Maria", "F."))  # partial or no match
        return body

    def _match(self, number: str) -> dict[str, Any]:
        return self._event(MATCH_PATH, json.dumps(self._body(number), ensure_ascii=False))

    def _assess(self) -> dict[str, Any]:
        body = self._body(self.rng.choice(self.numbers))
        if self.rng.random() < 0.8:
            body["policyId"] = f"policy-{self.rng.randrange(2_000)}"
        return self._event(ASSESS_PATH, json.dumps(body, ensure_ascii=False))

    def _bad_body(self) -> dict[str, Any]:
        number = self.rng.choice(self.numbers)
        bodies = (
            '{"phoneNumber": "' + number + '", "givenName": ',  # truncated JSON
            json.dumps({"phoneNumber": number, f"field{self._sequence}": "x"}),  # unknown property
            json.dumps({"phoneNumber": "34" + number[1:], "givenName": "Federica"}),  # no leading +
            json.dumps({"phoneNumber": number, "givenName": "x" * 300}),  # over maxLength
            "",
        )
        return self._event(MATCH_PATH, self.rng.choice(bodies))

    def _event(self, path: str, body: str) -> dict[str, Any]:
        from kyc_match_tools.events import rest_proxy_event  # noqa: PLC0415

        headers = {"content-type": "application/json"}
        draw = self.rng.random()
        if draw < CORRELATORS["uuid"]:
            headers["x-correlator"] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        elif draw < CORRELATORS["uuid"] + CORRELATORS["text"]:  # client text: only its keyed hash is kept
            headers["x-correlator"] = f"order-{self._sequence}"
        return rest_proxy_event("POST", path, headers, body, self.rng.choice(self.keys))

    @staticmethod
    def _with(
        event: dict[str, Any],
        *,
        correlator: str | None = None,
        key: str | None = None,
        method: str | None = None,
    ) -> dict[str, Any]:
        if correlator is not None:
            event["headers"]["x-correlator"] = correlator
            event["multiValueHeaders"]["x-correlator"] = [correlator]
        if key is not None:
            event["requestContext"]["identity"]["apiKeyId"] = key
        if method is not None:
            event["httpMethod"] = event["requestContext"]["httpMethod"] = method
        return event


def population(numbers: int = 30_000, ported: int = 2_000, clients: int = 400, seed: int = 15) -> Population:
    """`numbers` subscribers over the eight operators, `ported` more ported away, `clients` API keys
    (two per client)."""
    template = next(s for s in standins.subscribers() if s["phoneNumber"] == "+34600000001")
    prefixes = list(PREFIXES.values())
    on_file = [_number(prefixes[i % len(prefixes)], i) for i in range(numbers)]
    moved = [_number("+34", 50_000_000 + i) for i in range(ported)]
    keys = [f"key-{index:04d}" for index in range(clients * 2)]
    return Population(on_file, moved, keys, dict(template), random.Random(seed))
