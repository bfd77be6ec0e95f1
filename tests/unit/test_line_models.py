"""The line-history request models against their specs: the same properties, calendar dates only, the
bounds each spec gives (a date in the future is OUT_OF_RANGE), and the response bodies."""

from datetime import date

import pytest
from pydantic import ValidationError

from kyc_match.api.line_models import (
    REQUEST_MODELS,
    LineRequest,
    RecyclingCheckRequest,
    SwapCheckRequest,
    TenureCheckRequest,
    line_query,
    tenure_body,
)
from kyc_match.domain.apis import CAMARA_APIS, KYC_TENURE
from kyc_match.domain.errors import (
    InvalidArgumentError,
    MissingIdentifierError,
    OutOfRangeError,
    UnnecessaryIdentifierError,
)
from kyc_match.domain.line_history import Tenure
from support import contract

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("model", "spec", "schema"),
    [
        (RecyclingCheckRequest, contract.NUMBER_RECYCLING_FILE, "CreateCheckNumRecycling"),
        (TenureCheckRequest, contract.KYC_TENURE_FILE, "Tenure"),
        (SwapCheckRequest, contract.SIM_SWAP_FILE, "CreateCheckSimSwap"),
        (LineRequest, contract.SIM_SWAP_FILE, "CreateSimSwapDate"),
    ],
)
def test_the_models_have_the_specs_properties_and_required_ones(model, spec, schema):
    stated = contract.schema(f"/components/schemas/{schema}", spec=spec)
    assert set(model.model_fields) == set(stated["properties"])
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert required == set(stated.get("required", []))


def test_every_operation_of_the_registry_has_its_request_model():
    assert set(REQUEST_MODELS) == {
        api.scope(operation) for api in CAMARA_APIS for operation in api.operations
    }


@pytest.mark.parametrize("model", [RecyclingCheckRequest, TenureCheckRequest])
@pytest.mark.parametrize(
    "value",
    [
        "2024/10/31",
        "2024-10-31T00:00:00Z",
        "2024-02-30",
        "0000-01-01",
        "24-10-31",
        " 2024-10-31",
        20241031,
        None,
    ],
    ids=str,
)
def test_only_calendar_dates(model, value):
    with pytest.raises(ValidationError):
        model.model_validate({model.DATE_PROPERTY: value})


def test_unknown_properties_are_refused():
    with pytest.raises(ValidationError):
        RecyclingCheckRequest.model_validate({"specifiedDate": "2024-10-31", "maxAge": 24})
    with pytest.raises(ValidationError):
        TenureCheckRequest.model_validate({"tenureDate": "2024-10-31", "contractType": "PAYM"})


def test_dates_up_to_today_are_in_range_and_tomorrow_is_not():
    assert RecyclingCheckRequest(specifiedDate="2026-11-30").asked_date == TODAY
    assert TenureCheckRequest(tenureDate="2012-03-15").asked_date == date(2012, 3, 15)
    RecyclingCheckRequest(specifiedDate="2026-11-30").check_bounds(TODAY)
    TenureCheckRequest(tenureDate="1900-01-01").check_bounds(TODAY)
    with pytest.raises(OutOfRangeError, match="'specifiedDate' must not be a date in the future"):
        RecyclingCheckRequest(specifiedDate="2026-12-01").check_bounds(TODAY)
    with pytest.raises(OutOfRangeError, match="'tenureDate' must not be a date in the future"):
        TenureCheckRequest(tenureDate="9999-12-31").check_bounds(TODAY)


@pytest.mark.parametrize(
    ("max_age", "error"), [(0, InvalidArgumentError), (-1, InvalidArgumentError), (2401, OutOfRangeError)]
)
def test_swap_max_age_bounds(max_age, error):
    SwapCheckRequest(maxAge=1).check_bounds(TODAY)
    SwapCheckRequest(maxAge=2400).check_bounds(TODAY)
    with pytest.raises(error):
        SwapCheckRequest(maxAge=max_age).check_bounds(TODAY)


def test_the_subject_is_the_bodys_number_or_the_tokens_never_both():
    with_number = TenureCheckRequest(tenureDate="2024-10-31", phoneNumber="+34600000010")
    without = TenureCheckRequest(tenureDate="2024-10-31")
    assert line_query(with_number, None, KYC_TENURE).phone_number == "+34600000010"
    assert line_query(without, "+34600000009", KYC_TENURE).phone_number == "+34600000009"
    with pytest.raises(UnnecessaryIdentifierError):
        line_query(with_number, "+34600000010", KYC_TENURE)
    with pytest.raises(MissingIdentifierError):
        line_query(without, None, KYC_TENURE)


def test_tenure_body_sends_the_contract_type_only_when_known():
    schema = contract.schema("/components/schemas/TenureInfo", spec=contract.KYC_TENURE_FILE)
    known = tenure_body(Tenure(since_date=True, contract_type="PAYM"))
    unknown = tenure_body(Tenure(since_date=False))
    assert (known, unknown) == ({"tenureDateCheck": True, "contractType": "PAYM"}, {"tenureDateCheck": False})
    for body in (known, unknown):
        contract.validate(body, schema)
