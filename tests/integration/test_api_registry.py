"""One descriptor per CAMARA API (#27 item 1): the registry (kyc_match/domain/apis.py) drives the routes,
API Gateway's resources, the operator simulator, the request models, the operator configuration's
`apis`, the capability check and the docs' endpoint table; a new API is one descriptor, and capability
is asked (`offers(api)`), never inferred from `isinstance` on a protocol."""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kyc_match import wiring
from kyc_match.api import app as app_module
from kyc_match.api import line_models
from kyc_match.domain.apis import CAMARA_APIS, KYC_TENURE, SIM_SWAP, CamaraApi, operations
from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.domain.line_history import LineQuery, ask, check_swap, history_of
from kyc_match.domain.model import CallContext
from kyc_match.operators.config import ALL_LINE_APIS, OfferedApis
from kyc_match.operators.routing import PrefixRouter
from kyc_match.settings import get_settings
from kyc_match_tools.operator_sim import authorization
from kyc_match_tools.operator_sim import lines as simulator_lines
from support.audit import audit_item_for
from support.doubles import FakeLineOperator, MemoryTrail
from support.lines import send

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONTEXT = CallContext("client-1", "req-1", "corr-1", NOW, 0)
NUMBER = "+34600000005"
# An API nobody has written yet: one descriptor, one request model, one operator that answers it.
FAKE = CamaraApi("fakeCheck", "fake-check/v1", "v1", ("check",), "Fake Check v1.0.0")


def registry_routes() -> set[str]:
    return {api.route(operation) for api, operation in operations(CAMARA_APIS)}


def test_the_routes_and_the_simulator_serve_the_registry():
    # API Gateway's resources: tests/infra/test_stack.py compares the synthesised template with these.
    assert set(app_module.LINE_PATHS) == registry_routes()
    assert set(simulator_lines.LINE_PATHS) == registry_routes()


def test_each_operation_has_its_request_model_and_scope_and_each_api_its_configuration_key():
    scopes = {api.scope(operation) for api, operation in operations(CAMARA_APIS)}
    assert set(line_models.REQUEST_MODELS) == scopes
    assert scopes <= authorization.API_SCOPES  # the simulator grants them
    assert {field.alias for field in OfferedApis.model_fields.values()} == {api.name for api in CAMARA_APIS}
    assert all(ALL_LINE_APIS.offers(api.name, api.version) for api in CAMARA_APIS)


def test_the_docs_endpoint_table_lists_every_api_of_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| method and path | what it answers | reference |", 1)[1].split("\n\n", 1)[0]
    for api in CAMARA_APIS:
        assert f"/{api.path}/" in table, api.name
        assert api.title in table, api.title
        assert (ROOT / "spec" / api.spec_file).is_file(), api.spec_file
    api_md = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    # Our own APIs too: every POST route the function serves is in the table.
    for path in (app_module.MATCH_PATH, app_module.ASSESS_PATH, app_module.COVERAGE_PATH):
        assert f"`POST {path}`" in table, path
    assert f"POST {app_module.COVERAGE_PATH}" in api_md
    for api in CAMARA_APIS:
        for operation in api.operations:
            assert f"POST {api.route(operation)}" in api_md, api.route(operation)


class FakeCheckOperator(FakeLineOperator):
    """An adapter that answers the new API besides those of `answers`."""

    def check_fake(self, query: LineQuery) -> bool:
        self.line_queries.append(query)
        return True

    def offers(self, api: CamaraApi) -> bool:
        return api == FAKE or super().offers(api)


def fake_question(query: LineQuery):  # type: ignore[no-untyped-def]
    def question(history: Any) -> tuple[bool, dict[str, bool]]:
        checked = history.check_fake(query)
        return checked, {"checked": checked}

    return question


def test_a_new_api_is_offered_asked_and_audited_under_its_path():
    operator = FakeCheckOperator("op-es")
    trail = MemoryTrail()
    query = LineQuery(NUMBER, FAKE)
    directory = PrefixRouter({"+34": operator})
    assert ask(query, "check", fake_question(query), CONTEXT, operators=directory, audit=trail) is True
    (record,) = trail.records
    assert (record.api, record.answer, record.operator_id) == (
        "fake-check/v1/check",
        {"checked": True},
        "op-es",
    )


def test_an_operator_that_does_not_offer_the_new_api_is_not_applicable_and_still_answers_the_others():
    operator = FakeLineOperator("op-es", answers={"simSwap": True})  # knows nothing of check_fake
    directory = PrefixRouter({"+34": operator})
    with pytest.raises(ServiceNotApplicableError):
        ask(LineQuery(NUMBER, FAKE), "check", fake_question(LineQuery(NUMBER, FAKE)), CONTEXT,
            operators=directory, audit=MemoryTrail())  # fmt: skip
    assert check_swap(LineQuery(NUMBER, SIM_SWAP), 24, CONTEXT, operators=directory, audit=MemoryTrail())


class SwapOnlyOperator:
    """An adapter with the one line-history method it needs: no isinstance check can see it as one."""

    operator_id = "op-swap"
    grant = None

    def match(self, query: Any) -> dict[str, Any]:
        return {}

    def offers(self, api: CamaraApi) -> bool:
        return api == SIM_SWAP

    def check_swap(self, query: LineQuery, max_age_hours: int) -> bool:
        return True


def test_capability_is_asked_not_inferred_from_the_protocols_methods():
    # The trap (#27): with `isinstance(operator, LineHistory)` an adapter lacking any one method of the
    # runtime-checkable protocol (a method added to it, say) was "not offered" for every API.
    operator = SwapOnlyOperator()
    assert history_of(operator, SIM_SWAP) is operator
    with pytest.raises(ServiceNotApplicableError):
        history_of(operator, KYC_TENURE)
    directory = PrefixRouter({"+34": operator})
    assert check_swap(LineQuery(NUMBER, SIM_SWAP), 24, CONTEXT, operators=directory, audit=MemoryTrail())


class FakeCheckRequest(line_models.LineRequest):
    def question(self, query: LineQuery) -> Any:
        return fake_question(query)

    def response(self, answer: Any, api: CamaraApi) -> dict[str, Any]:
        return {"checked": answer}


@pytest.fixture
def fake_api_routed(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """FAKE routed by the function (as `route_apis` routes the registry), its model registered, and
    the number's operator answering it; all undone after the test."""
    app = app_module.app
    saved = (list(app._static_routes), list(app._dynamic_routes), list(app._route_keys))
    monkeypatch.setitem(line_models.REQUEST_MODELS, FAKE.scope("check"), FakeCheckRequest)
    app_module.route_apis(app, (FAKE,))
    operator = FakeCheckOperator("op-fake")
    wiring.use_dependencies(wiring.build(get_settings(), operators=PrefixRouter({"+34": operator})))
    yield operator
    wiring.use_dependencies(None)
    app._static_routes[:], app._dynamic_routes[:], app._route_keys[:] = saved


@pytest.mark.usefixtures("local_stack")
def test_a_new_api_is_routed_with_the_same_keys_correlator_and_audit(handler_transport, fake_api_routed):
    reply, correlator = send(handler_transport, FAKE.route("check"), {"phoneNumber": NUMBER})
    assert (reply.status, reply.json()) == (200, {"checked": True})
    assert reply.headers["x-correlator"] == correlator
    entry = audit_item_for(correlator)
    assert (entry["api"], entry["answer"], entry["operatorId"]) == (
        "fake-check/v1/check",
        {"checked": True},
        "op-fake",
    )
    refused, _ = send(handler_transport, FAKE.route("check"), {"phoneNumber": NUMBER}, authenticated=False)
    assert refused.status == 401
    other = handler_transport.send(None, path=FAKE.route("check"), method="GET")
    assert (other.status, other.headers["allow"]) == (405, "POST")
    assert re.fullmatch(r"[a-z-]+/v[0-9.]+/check", entry["api"])
