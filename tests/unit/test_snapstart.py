"""SnapStart's hooks (#29 item 2): registered through the runtime's module, and after a restore every
piece a container holds that is random, secret, connected or time-bounded is its own again."""

import functools
import json
import random
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from kyc_match import aws, snapstart, wiring
from kyc_match.matching import normalise, similarity
from kyc_match.operators import camara, dpop
from kyc_match.settings import Settings

# Credentials and a region for creating boto3 clients (none is called).
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}
OPERATOR = {
    "id": "op-dpop",
    "kind": "camara",
    "prefixes": ["+34"],
    "baseUrl": "https://api.operator.example",
    "auth": {
        "grant": "jwt-bearer",
        "issuer": "https://auth.operator.example",
        "clientId": "our-client",
        "dpop": True,
    },
}


class RuntimeHooks(types.ModuleType):
    """A stand-in for the runtime's `snapshot_restore_py`: the same two registration functions, and
    what the runtime does with them (call each registered function, before and after)."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.before: list[Callable[[], Any]] = []
        self.after: list[Callable[[], Any]] = []

    def register_before_snapshot(self, func: Callable[[], Any]) -> Callable[[], Any]:
        self.before.append(func)
        return func

    def register_after_restore(self, func: Callable[[], Any]) -> Callable[[], Any]:
        self.after.append(func)
        return func

    def snapshot(self) -> None:
        for func in self.before:
            func()

    def restore(self) -> None:
        for func in self.after:
            func()


def dpop_operator_settings() -> Settings:
    return Settings(operators=json.dumps([OPERATOR]), audit_table="audit-snapstart")


@pytest.fixture
def container(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The real composition root for a stage with one DPoP operator, as the handler builds it."""
    settings = dpop_operator_settings()
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    aws.reset()
    monkeypatch.setattr(wiring, "get_settings", lambda: settings)
    wiring.use_dependencies(None)
    wiring.forget_container()
    yield settings
    wiring.forget_container()
    aws.reset()


def test_without_the_runtime_module_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails: not a Lambda runtime
    assert snapstart.register_hooks() is False


def test_hooks_are_registered_with_the_runtime_module_when_it_is_there(monkeypatch):
    hooks = RuntimeHooks()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", hooks)
    assert snapstart.register_hooks() is True
    assert (hooks.before, hooks.after) == ([snapstart.before_snapshot], [snapstart.after_restore])


def test_the_snapshot_holds_loaded_code_and_models_but_nothing_built(container, monkeypatch):
    for name in snapstart.LOADED_BEFORE_SNAPSHOT:  # as in a fresh container (restored after the test)
        package, _, child = name.rpartition(".")
        if name in sys.modules:  # the package's attribute too, which a re-import would replace
            monkeypatch.setattr(sys.modules[package], child, sys.modules[name])
        monkeypatch.delitem(sys.modules, name, raising=False)
    hooks = RuntimeHooks()
    snapstart.register_hooks(hooks)
    similarity._metrics.cache_clear()  # as in a fresh container: the engine loads them on first use
    normalise._kana_table.cache_clear()
    hooks.snapshot()
    assert "kyc_match.operators.camara" in sys.modules  # primed: the first request imports nothing
    # The matching engine's rapidfuzz metrics and jaconv's kana table, loaded into the snapshot too.
    assert similarity._metrics.cache_info().currsize == normalise._kana_table.cache_info().currsize == 1
    assert all(name in sys.modules for name in snapstart.LOADED_BEFORE_SNAPSHOT)
    loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
    loaded = {str(key) for key in loader._cache}
    assert any("dynamodb" in key for key in loaded) and any("kms" in key for key in loaded)
    assert all(builder.cache_info().currsize == 0 for builder in wiring.FORGOTTEN_ON_RESTORE)
    assert camara.shared_http_client.cache_info().currsize == 0
    assert dpop.container_proof_keys.cache_info().currsize == 0
    assert aws.kms.cache_info().currsize == aws.dynamodb.cache_info().currsize == 0


def test_after_a_restore_every_piece_is_the_containers_own(container):
    """The worst case: a container that served before the snapshot (keys made, a token bound to its
    DPoP key, connections, caches filled). After the restore none of it is used again."""
    settings = container
    hooks = RuntimeHooks()
    snapstart.register_hooks(hooks)
    built = wiring.dependencies()
    adapter = built.operators._adapters["op-dpop"]
    dpop_key = dpop.container_proof_keys().key("ES256").thumbprint()
    adapter._tokens.put(("subject", "our-client", "scope"), "token-bound-to-the-old-key", 300, 0)
    routes = built.operators.ported
    routes._answers.put("+34600000001", None)
    clients = wiring.client_store(settings)
    clients._cache.put("key-1", None)
    policies = wiring.policy_store(settings)
    policies._cache[("bank-1", "default")] = (0.0, None)
    kms, dynamodb, session = aws.kms(), aws.dynamodb(), boto3.DEFAULT_SESSION
    http = camara.shared_http_client()
    snapshot_random = random.getstate()

    hooks.restore()
    first_copy_draw = random.random()

    rebuilt = wiring.dependencies()
    assert rebuilt is not built
    new_adapter = rebuilt.operators._adapters["op-dpop"]
    assert new_adapter is not adapter
    assert new_adapter._tokens.get(("subject", "our-client", "scope")) is None  # no token of the old key
    assert dpop.container_proof_keys().key("ES256").thumbprint() != dpop_key  # a new DPoP key
    assert new_adapter._dpop._keys is dpop.container_proof_keys()  # its proofs sign with the new one
    assert rebuilt.operators.ported is not routes and rebuilt.operators.ported.cached == 0
    assert wiring.client_store(settings) is not clients and wiring.client_store(settings).cached == 0
    assert wiring.policy_store(settings) is not policies and wiring.policy_store(settings).cached == 0
    assert aws.kms() is not kms and aws.dynamodb() is not dynamodb  # new clients ...
    assert boto3.DEFAULT_SESSION is not session  # ... on a new session: credentials resolved again
    assert boto3.DEFAULT_SESSION._session.get_component("data_loader") is session._session.get_component(
        "data_loader"
    )  # the models read before the snapshot are kept
    assert http.is_closed and camara.shared_http_client() is not http  # no connection of another copy

    random.setstate(snapshot_random)  # a second copy restored from the same memory
    hooks.restore()
    assert random.random() != first_copy_draw  # re-seeded: the copies' jitter differs


def test_every_cached_builder_of_the_composition_root_is_forgotten_or_kept_on_purpose():
    """A builder added to wiring.py without saying what a restore does with it fails here."""
    builders = {
        name
        for name, value in vars(wiring).items()
        if isinstance(value, functools._lru_cache_wrapper) and value.__module__ == wiring.__name__
    }
    named = {
        builder.__wrapped__.__name__ for builder in (*wiring.FORGOTTEN_ON_RESTORE, *wiring.KEPT_ON_RESTORE)
    }
    assert builders == named
