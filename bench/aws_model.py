"""In-region AWS, modelled: the function's own botocore clients answered in memory after a modelled
latency, for `bench/aws_calls.py --model`.

A botocore `before-call` handler that returns a response ends the call there: the real clients,
serialisers, the boto3 resource layer and every adapter run as deployed, and only the network and
the service are replaced, by a store in DynamoDB's wire format and a sleep drawn per call. An
operation the model does not know raises, so nothing can reach a network unnoticed.

LATENCIES are assumptions, not measurements (docs/performance.md says so too): AWS describes
DynamoDB as "single-digit millisecond performance at any scale"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html), so reads
p50 3 ms / p99 8 ms and writes p50 4 ms / p99 9 ms, staying single-digit at p99; AWS publishes no
latency figure for KMS, so GenerateMac is taken a little slower than DynamoDB: p50 5 ms / p99 12 ms.
Each call's latency is drawn from a log-normal distribution with that p50 and p99.
"""

import base64
import copy
import hashlib
import hmac
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.awsrequest import AWSResponse

# operation: (p50 ms, p99 ms)
LATENCIES: dict[str, tuple[float, float]] = {
    "dynamodb.GetItem": (3.0, 8.0),
    "dynamodb.BatchGetItem": (3.0, 8.0),
    "dynamodb.Query": (3.0, 8.0),
    "dynamodb.PutItem": (4.0, 9.0),
    "kms.GenerateMac": (5.0, 12.0),
}
_Z99 = 2.3263  # the standard normal's 99th percentile
_MAC_KEY = b"bench-only-not-a-secret"


class LatencyModel:
    """`on = False`: every call answers at once (what is left is our own time)."""

    def __init__(self, seed: int, latencies: Mapping[str, tuple[float, float]] = LATENCIES) -> None:
        self._random = random.Random(seed)
        self._latencies = dict(latencies)
        self.on = True

    def draw(self, operation: str) -> float:
        """Seconds this call takes, drawn from the log-normal with the operation's p50 and p99."""
        if not self.on:
            return 0.0
        p50, p99 = self._latencies[operation]
        sigma = math.log(p99 / p50) / _Z99
        return self._random.lognormvariate(math.log(p50), sigma) / 1000.0


def mac(message: bytes) -> bytes:
    """What the modelled KMS answers to GenerateMac: HMAC-SHA-256 under a fixed bench-only key."""
    return hmac.new(_MAC_KEY, message, hashlib.sha256).digest()


class ModelledAws:
    """The store and the answers. `keys`: table name -> its key attribute names. Audit writes
    (`discard_puts_to`) are counted, not kept, so a long run does not grow the heap."""

    def __init__(
        self, model: LatencyModel, keys: Mapping[str, tuple[str, ...]], discard_puts_to: str
    ) -> None:
        self.model = model
        self._keys = dict(keys)
        self._discard = discard_puts_to
        self._items: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {name: {} for name in keys}
        self.discarded_puts = 0
        self.drawn: list[float] = []  # each call's modelled seconds, in order (the caller clears it)
        self.threads: list[int] = []  # the thread each of those calls ran on, in the same order
        self._answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "dynamodb.GetItem": self._get_item,
            "dynamodb.BatchGetItem": self._batch_get_item,
            "dynamodb.PutItem": self._put_item,
            "dynamodb.Query": lambda _: {"Items": [], "Count": 0, "ScannedCount": 0},  # no client policies
            "kms.GenerateMac": self._generate_mac,
        }

    def load(self, table: str, items: Iterable[dict[str, Any]]) -> None:
        """Items in DynamoDB's wire format ({"name": {"S": "value"}}), as a scan returns them."""
        for item in items:
            self._items[table][self._key(table, item)] = item

    def answer(self, event_name: str, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        _, service, operation = event_name.split(".", 2)
        name = f"{service}.{operation}"
        if name not in self._answers:
            raise RuntimeError(f"the AWS model has no answer for {name}")
        body = json.loads(params["body"] or "{}")
        latency = self.model.draw(name)
        self.threads.append(threading.get_ident())  # before the draw: the two lists stay paired
        self.drawn.append(latency)
        if latency:
            time.sleep(latency)
        # a copy: boto3's resource layer turns the answer's wire values into Python ones in place
        return AWSResponse("", 200, {}, None), copy.deepcopy(self._answers[name](body))

    def install(self, clients: Iterable[Any]) -> None:
        for client in clients:
            client.meta.events.register_last("before-call", self.answer)  # after any counter

    def _key(self, table: str, item: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(json.dumps(item[name], sort_keys=True) for name in self._keys[table])

    def _get_item(self, body: dict[str, Any]) -> dict[str, Any]:
        found = self._items[body["TableName"]].get(self._key(body["TableName"], body["Key"]))
        return {"Item": found} if found is not None else {}

    def _batch_get_item(self, body: dict[str, Any]) -> dict[str, Any]:
        responses = {
            table: [
                found
                for key in request["Keys"]
                if (found := self._items[table].get(self._key(table, key))) is not None
            ]
            for table, request in body["RequestItems"].items()
        }
        return {"Responses": responses, "UnprocessedKeys": {}}

    def _put_item(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["TableName"] == self._discard:
            self.discarded_puts += 1
        else:
            self.load(body["TableName"], [body["Item"]])
        return {}

    def _generate_mac(self, body: dict[str, Any]) -> dict[str, Any]:
        message = base64.b64decode(body["Message"])
        return {"Mac": mac(message), "KeyId": body["KeyId"], "MacAlgorithm": body["MacAlgorithm"]}
