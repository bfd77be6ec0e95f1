from kyc_match.api.correlator import read_correlator


def test_valid_correlator_is_kept_whatever_the_header_case():
    correlator = read_correlator({"X-Correlator": "abc-123:{x}/y.z"})
    assert (correlator.value, correlator.valid) == ("abc-123:{x}/y.z", True)


def test_absent_or_empty_correlator_is_generated():
    for headers in (None, {}, {"x-correlator": ""}):
        correlator = read_correlator(headers)
        assert correlator.valid and len(correlator.value) == 36


def test_invalid_correlator_is_replaced_not_echoed():
    correlator = read_correlator({"x-correlator": "Federica Sanchez"})
    assert not correlator.valid and "Federica" not in correlator.value
    assert not read_correlator({"x-correlator": "a" * 257}).valid
