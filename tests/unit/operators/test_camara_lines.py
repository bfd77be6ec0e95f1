"""The camara adapter as a LineHistory (#14): each line-history question forwarded to the operator's own
CAMARA API under the match's `{apiRoot}`, with the same tokens, bounds, breaker and error translation,
its answer checked against the spec; and one three-legged token for every API of one request, even
when its calls run at once on threads. Against an in-process operator (no network)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from kyc_match.domain.apis import DEVICE_SWAP, KYC_TENURE, NUMBER_RECYCLING, SIM_SWAP
from kyc_match.domain.errors import (
    IdentifierNotFoundError,
    OperatorBadGatewayError,
    OperatorTimeoutError,
    OutOfRangeError,
    ServiceNotApplicableError,
    UnavailableError,
)
from kyc_match.domain.line_history import LineQuery, Tenure
from kyc_match.domain.model import MatchQuery
from kyc_match.operators.resilience import CircuitState
from support.doubles import ManualClock
from support.operator_server import InProcessOperator, adapter, claims_of

NUMBER = "+34600000001"
PURPOSE = "dpv:FraudPreventionAndDetection"
ALL_APIS = {"simSwap": ["v2"], "deviceSwap": ["v1"], "numberRecycling": ["v0.2"], "kycTenure": ["v0.2"]}
SIM_CHECK, SIM_DATE = "/sim-swap/v2/check", "/sim-swap/v2/retrieve-date"
DEVICE_CHECK, DEVICE_DATE = "/device-swap/v1/check", "/device-swap/v1/retrieve-date"
RECYCLING, TENURE = "/number-recycling/v0.2/check", "/kyc-tenure/v0.2/check-tenure"


def line(api=SIM_SWAP, number=NUMBER, scopes=frozenset(), client="client-1"):
    return LineQuery(number, api, correlator="c-1", purpose=PURPOSE, client_id=client, scopes=scopes)


def body_of(fake: InProcessOperator, path: str) -> bytes:
    return next(request.content for request in reversed(fake.requests) if request.url.path == path)


def test_the_adapter_offers_what_its_entry_lists():
    operator, _, _ = adapter(InProcessOperator(), apis={"simSwap": ["v2"]})
    assert operator.offers(SIM_SWAP) and not operator.offers(KYC_TENURE)


def test_an_api_not_offered_is_not_applicable_without_asking_the_operator():
    fake = InProcessOperator()
    operator, _, _ = adapter(fake, apis={"simSwap": ["v2"]})
    with pytest.raises(ServiceNotApplicableError):
        operator.check_tenure(line(KYC_TENURE), date(2024, 1, 1))
    assert fake.requests == []


def test_sim_swap_check_goes_to_the_operators_api_with_max_age_and_the_apis_scope():
    fake = InProcessOperator(api_answers={SIM_CHECK: [(200, {"swapped": True})]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    assert operator.check_swap(line(), 72) is True
    assert fake.paths() == ["/.well-known/openid-configuration", "/token", SIM_CHECK]
    assert claims_of(fake.forms["/token"][0]["assertion"])["scope"] == f"{PURPOSE} sim-swap:check"
    assert body_of(fake, SIM_CHECK) == b'{"maxAge":72}'  # the token names the subscriber
    request = fake.requests[-1]
    assert (
        request.headers["authorization"].startswith("Bearer t-") and request.headers["x-correlator"] == "c-1"
    )


def test_a_two_legged_operator_is_sent_the_number():
    fake = InProcessOperator(api_answers={RECYCLING: [(200, {"phoneNumberRecycled": False})]})
    operator, _, _ = adapter(fake, "client-credentials", apis=ALL_APIS)
    assert operator.check_recycled(line(NUMBER_RECYCLING), date(2024, 1, 10)) is False
    assert body_of(fake, RECYCLING) == b'{"phoneNumber":"+34600000001","specifiedDate":"2024-01-10"}'
    assert fake.forms["/token"][0]["scope"] == f"{PURPOSE} number-recycling:check"


@pytest.mark.parametrize(
    ("grant", "identifier_in_body", "expected"),
    [
        ("jwt-bearer", True, b'{"specifiedDate":"2024-01-10"}'),
        ("client-credentials", False, b'{"phoneNumber":"+34600000001","specifiedDate":"2024-01-10"}'),
    ],
    ids=["three-legged: never", "two-legged: always"],
)
def test_the_line_apis_carry_the_number_exactly_when_the_token_does_not(grant, identifier_in_body, expected):
    """Each line-history spec: phoneNumber MUST be sent with a two-legged token and MUST NOT with a
    three-legged one (else 422 MISSING_IDENTIFIER / UNNECESSARY_IDENTIFIER, our 502); the match's
    `identifierInBody` setting does not change that."""
    fake = InProcessOperator(api_answers={RECYCLING: [(200, {"phoneNumberRecycled": False})]})
    operator, _, _ = adapter(fake, grant, apis=ALL_APIS, identifierInBody=identifier_in_body)
    assert operator.check_recycled(line(NUMBER_RECYCLING), date(2024, 1, 10)) is False
    assert body_of(fake, RECYCLING) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"latestSimChange": "2024-05-01T10:00:00.5+02:00"}, datetime(2024, 5, 1, 8, 0, 0, 500000, UTC)),
        ({"latestSimChange": None, "monitoredPeriod": 120}, None),
    ],
)
def test_retrieve_date_reads_the_date_with_its_offset_or_none(answer, expected):
    fake = InProcessOperator(api_answers={SIM_DATE: [(200, answer)]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    change = operator.swap_date(line())
    assert change == expected
    assert change is None or change.utcoffset() == timedelta(hours=2)
    assert body_of(fake, SIM_DATE) == b"{}"


def test_device_swap_uses_its_own_path_scope_and_date_property():
    fake = InProcessOperator(
        api_answers={
            DEVICE_DATE: [(200, {"latestDeviceChange": "2024-05-01T10:00:00Z"})],
            DEVICE_CHECK: [(200, {"swapped": False})],
        }
    )
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    assert operator.swap_date(line(DEVICE_SWAP)) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert operator.check_swap(line(DEVICE_SWAP), 240) is False
    scopes = [claims_of(form["assertion"])["scope"] for form in fake.forms["/token"]]
    assert scopes == [f"{PURPOSE} device-swap:retrieve-date", f"{PURPOSE} device-swap:check"]


def test_tenure_reads_the_check_and_the_contract_type():
    fake = InProcessOperator(
        api_answers={
            TENURE: [
                (200, {"tenureDateCheck": True, "contractType": "PAYM"}),
                (200, {"tenureDateCheck": False}),
            ]
        }
    )
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    assert operator.check_tenure(line(KYC_TENURE), date(2023, 7, 3)) == Tenure(True, "PAYM")
    assert body_of(fake, TENURE) == b'{"tenureDate":"2023-07-03"}'
    assert operator.check_tenure(line(KYC_TENURE), date(2023, 7, 3)) == Tenure(False, None)


BAD_ANSWERS = [
    (SIM_CHECK, b"<html>oops</html>"),
    (SIM_CHECK, b"[true]"),
    (SIM_CHECK, {"swapped": "true"}),
    (SIM_CHECK, {}),
    (SIM_DATE, {"monitoredPeriod": 120}),
    (SIM_DATE, {"latestSimChange": "2024-05-01T10:00:00"}),  # no offset
    (SIM_DATE, {"latestSimChange": "2024-05-01"}),
    (SIM_DATE, {"latestSimChange": None, "monitoredPeriod": "120"}),
    (RECYCLING, {"phoneNumberRecycled": 1}),
    (TENURE, {"tenureDateCheck": True, "contractType": "Prepaid"}),
    (TENURE, {"contractType": "PAYG"}),
    (TENURE, b'{"tenureDateCheck": NaN}'),
    (SIM_CHECK, b"[" * 60_000),  # under the size cap, nested past the JSON decoder's recursion limit
]


@pytest.mark.parametrize(("path", "answer"), BAD_ANSWERS)
def test_an_answer_that_breaks_the_spec_is_a_bad_gateway(path, answer):
    fake = InProcessOperator(api_answers={path: [(200, answer)]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    ask = {
        SIM_CHECK: lambda: operator.check_swap(line(), 24),
        SIM_DATE: lambda: operator.swap_date(line()),
        RECYCLING: lambda: operator.check_recycled(line(NUMBER_RECYCLING), date(2024, 1, 1)),
        TENURE: lambda: operator.check_tenure(line(KYC_TENURE), date(2024, 1, 1)),
    }[path]
    with pytest.raises(OperatorBadGatewayError):
        ask()


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (422, "SERVICE_NOT_APPLICABLE", ServiceNotApplicableError),
        (404, "IDENTIFIER_NOT_FOUND", IdentifierNotFoundError),
        (403, "PERMISSION_DENIED", UnavailableError),
        (429, "TOO_MANY_REQUESTS", UnavailableError),
        (503, "UNAVAILABLE", OperatorBadGatewayError),
        (422, "UNNECESSARY_IDENTIFIER", OperatorBadGatewayError),
        # The swap specs: a maxAge within 1..2400 but beyond the operator's privacy threshold.
        (400, "OUT_OF_RANGE", OutOfRangeError),
        (400, "INVALID_ARGUMENT", OperatorBadGatewayError),  # we sent it wrong: not the client's doing
    ],
)
def test_operator_errors_become_ours_and_a_gateway_error_is_not_retried(status, code, error):
    answer = (status, {"status": status, "code": code, "message": "operator text"})
    fake = InProcessOperator(api_answers={DEVICE_CHECK: [answer]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    with pytest.raises(error) as raised:
        operator.check_swap(line(DEVICE_SWAP), 24)
    assert "operator text" not in str(raised.value)
    assert fake.paths().count(DEVICE_CHECK) == 1


@pytest.mark.parametrize("status", [200, 404, 422])
def test_a_body_nested_past_the_json_decoders_limit_is_a_bad_gateway(status):
    """The match's answer and an error's ErrorInfo too: never a RecursionError (a 500)."""
    deep = b"[" * 60_000
    fake = InProcessOperator(api_answers={SIM_CHECK: [(status, deep)]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    with pytest.raises(OperatorBadGatewayError):
        operator.check_swap(line(), 24)
    match_answer = InProcessOperator(match_answers=[(status, deep)])
    operator, _, _ = adapter(match_answer)
    with pytest.raises(OperatorBadGatewayError):
        operator.match(MatchQuery(NUMBER, {"givenName": "Federica"}, "c-1", purpose=PURPOSE))


def test_a_match_answered_out_of_range_is_still_a_bad_gateway():
    """OUT_OF_RANGE is the swap specs' answer about maxAge; a match request has no such bound."""
    answer = (400, {"status": 400, "code": "OUT_OF_RANGE", "message": "operator text"})
    operator, _, _ = adapter(InProcessOperator(match_answers=[answer]))
    with pytest.raises(OperatorBadGatewayError):
        operator.match(MatchQuery(NUMBER, {"givenName": "Federica"}, "c-1", purpose=PURPOSE))


def test_a_refused_token_is_fetched_again_once_for_a_line_check_too():
    unauthenticated = (401, {"status": 401, "code": "UNAUTHENTICATED", "message": "no"})
    fake = InProcessOperator(api_answers={SIM_CHECK: [unauthenticated, (200, {"swapped": False})]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    assert operator.check_swap(line(), 24) is False
    assert fake.paths().count("/token") == 2


def test_line_failures_open_the_same_breaker_as_matches():
    fake = InProcessOperator(api_answers={SIM_CHECK: [(502, {})]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    for _ in range(5):  # the helper's breaker opens after 5 consecutive failures
        with pytest.raises(OperatorBadGatewayError):
            operator.check_swap(line(), 24)
    assert operator.breaker.state is CircuitState.OPEN
    with pytest.raises(UnavailableError):
        operator.match(MatchQuery(NUMBER, {"givenName": "Federica"}, "c-2", purpose=PURPOSE))
    assert fake.paths().count("/kyc-match/v0.4/match") == 0


def test_a_slow_operator_is_cut_at_the_lines_deadline():
    clock = ManualClock(1000.0)
    fake = InProcessOperator(api_answers={SIM_CHECK: [(200, {"swapped": False})]})
    fake.on_request = lambda request: clock.sleep(5.0) if request.url.path == SIM_CHECK else None
    operator, _, _ = adapter(fake, clock=clock, apis=ALL_APIS, timeoutSeconds=2)
    with pytest.raises(OperatorTimeoutError):
        operator.check_swap(line(), 24)


# --- one token for several checks (#14 item 3) ---------------------------------------------------

REQUEST_SCOPES = frozenset({"kyc-match:match", "sim-swap:check", "number-recycling:check"})
ONE_SCOPE = f"{PURPOSE} kyc-match:match number-recycling:check sim-swap:check"


def decision_calls(operator):
    """A decision's calls: the match (with the line scopes) and the two line checks of the request."""
    match = MatchQuery(
        NUMBER,
        {"givenName": "Federica"},
        "c-1",
        purpose=PURPOSE,
        client_id="client-1",
        line_scopes=frozenset({"sim-swap:check", "number-recycling:check"}),
    )
    return [
        lambda: operator.match(match)["givenName"].result,
        lambda: operator.check_swap(line(scopes=REQUEST_SCOPES), 72),
        lambda: operator.check_recycled(line(NUMBER_RECYCLING, scopes=REQUEST_SCOPES), date(2024, 1, 10)),
    ]


def line_answers():
    return {SIM_CHECK: [(200, {"swapped": True})], RECYCLING: [(200, {"phoneNumberRecycled": False})]}


@pytest.mark.parametrize("grant", ["jwt-bearer", "ciba", "client-credentials"])
def test_one_token_request_asks_for_every_scope_of_the_request(grant):
    fake = InProcessOperator(api_answers=line_answers())
    operator, _, _ = adapter(fake, grant, apis=ALL_APIS)
    assert [call() for call in decision_calls(operator)] == ["true", True, False]
    if grant == "jwt-bearer":
        (form,) = fake.forms["/token"]
        assert claims_of(form["assertion"])["scope"] == ONE_SCOPE
    elif grant == "ciba":
        (form,) = fake.forms["/bc-authorize"]
        assert form["scope"] == f"openid {ONE_SCOPE}"
        assert fake.paths().count("/token") == 1  # the one poll that got the token
    else:
        (form,) = fake.forms["/token"]
        assert form["scope"] == ONE_SCOPE


def test_calls_running_at_once_wait_for_one_token_request():
    started, release = threading.Barrier(3, timeout=5), threading.Event()

    def slow_token(request):
        if request.url.path == "/token":
            release.wait(timeout=5)  # held until every call has asked for its token

    fake = InProcessOperator(api_answers=line_answers(), on_request=slow_token)
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    calls = decision_calls(operator)

    def run(call):
        started.wait()
        return call()

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(run, call) for call in calls]
        threading.Timer(0.3, release.set).start()
        answers = [future.result(timeout=10) for future in futures]
    assert answers == ["true", True, False]
    assert fake.paths().count("/token") == 1
    api_calls = [path for path in fake.paths() if path not in {"/token", "/.well-known/openid-configuration"}]
    assert sorted(api_calls) == sorted(["/kyc-match/v0.4/match", SIM_CHECK, RECYCLING])


def test_a_call_waiting_for_anothers_token_request_gives_up_at_its_own_deadline():
    clock, release = ManualClock(1000.0), threading.Event()
    fake = InProcessOperator(
        api_answers=line_answers(),
        on_request=lambda request: release.wait(timeout=5) if request.url.path == "/token" else None,
    )
    operator, _, _ = adapter(fake, clock=clock, apis=ALL_APIS)
    first = threading.Thread(target=lambda: operator.check_swap(line(scopes=REQUEST_SCOPES), 72))
    first.start()
    try:
        while "/token" not in fake.paths():
            threading.Event().wait(0.01)
        waiting = LineQuery(
            NUMBER, NUMBER_RECYCLING, purpose=PURPOSE, client_id="client-1", scopes=REQUEST_SCOPES,
            answer_by=clock.now + 0.2,
        )  # fmt: skip
        with pytest.raises(OperatorTimeoutError):
            operator.check_recycled(waiting, date(2024, 1, 10))
    finally:
        release.set()
        first.join(timeout=5)
    assert fake.paths().count("/token") == 1


def test_another_scope_set_another_client_or_purpose_is_another_token():
    fake = InProcessOperator(api_answers=line_answers())
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    operator.check_swap(line(), 24)
    operator.check_swap(line(), 24)  # reused
    operator.check_swap(line(scopes=REQUEST_SCOPES), 24)
    operator.check_swap(line(client="client-2"), 24)
    operator.check_swap(
        LineQuery(NUMBER, SIM_SWAP, purpose="dpv:IdentityVerification", client_id="client-1"), 24
    )
    assert fake.paths().count("/token") == 4


def test_the_match_scope_of_a_request_stands_for_the_operators_configured_one():
    # An operator naming its KYC Match scope otherwise: the line checks of the same request still
    # name the same token, whose scope starts with the configured match scope.
    fake = InProcessOperator(api_answers=line_answers())
    operator, _, _ = adapter(fake, apis=ALL_APIS, auth={"scope": "kyc-match:verify"})
    calls = decision_calls(operator)
    assert [call() for call in calls] == ["true", True, False]
    (form,) = fake.forms["/token"]
    scope = claims_of(form["assertion"])["scope"]
    assert scope == f"{PURPOSE} kyc-match:verify number-recycling:check sim-swap:check"


def test_the_token_asks_only_the_scopes_of_apis_the_operator_offers():
    """A decision asking a tenure check of an operator that offers SIM Swap only: the check is
    unavailable without a call (line_checks.py), and its scope is not asked either, or the operator's
    authorization server would refuse the one token (invalid_scope) and with it the match."""
    fake = InProcessOperator(api_answers=line_answers())
    operator, _, _ = adapter(fake, apis={"simSwap": ["v2"]})
    needed = frozenset({"sim-swap:check", "kyc-tenure:check-tenure"})
    match = MatchQuery(
        NUMBER, {"givenName": "Federica"}, "c-1", purpose=PURPOSE, client_id="client-1", line_scopes=needed
    )
    assert operator.match(match)["givenName"].result == "true"
    assert operator.check_swap(line(scopes=needed | {"kyc-match:match"}), 72) is True
    (form,) = fake.forms["/token"]  # one token for both calls
    assert claims_of(form["assertion"])["scope"] == f"{PURPOSE} kyc-match:match sim-swap:check"


def test_a_failed_line_call_is_logged_with_its_api_and_no_data(caplog):
    fake = InProcessOperator(api_answers={TENURE: [(500, {"message": f"no tenure for {NUMBER}"})]})
    operator, _, _ = adapter(fake, apis=ALL_APIS)
    with caplog.at_level("WARNING"), pytest.raises(OperatorBadGatewayError):
        operator.check_tenure(line(KYC_TENURE), date(2024, 1, 1))
    (record,) = [record for record in caplog.records if record.getMessage() == "operator call failed"]
    assert (record.api, record.reason, record.operator) == (
        "/kyc-tenure/v0.2/check-tenure",
        "status_500",
        "op-test",
    )
    assert NUMBER not in caplog.text
