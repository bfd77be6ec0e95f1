"""The audit entry's wire form (#29 item 3) is exactly what boto3's TypeSerializer writes, for the
plain types an entry holds and for anything else (handed to TypeSerializer, with its refusals)."""

import enum
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from kyc_match.audit.trail import wire_item


class Kind(enum.StrEnum):
    PASSPORT = "passport"


class Level(enum.IntEnum):
    HIGH = 3


def serialized(item):
    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}


EDGES = {
    "text": "Federica", "empty": "", "zero": 0, "negative": -7, "big": 10**37, "largest": 10**38 - 1,
    "true": True, "false": False, "none": None, "decimal": Decimal("93.5"), "strenum": Kind.PASSPORT,
    "intenum": Level.HIGH, "tuple": ("a", 1), "strings": {"b", "a"}, "numbers": {1, 2}, "bytes": b"\x00",
    "binary": Binary(b"\x01"), "nested": {"list": [{"m": [True, None, 1]}], "empty": {}, "l": []},
}  # fmt: skip


def test_every_type_an_entry_may_hold_is_written_as_type_serializer_writes_it():
    assert wire_item(EDGES) == serialized(EDGES)


@pytest.mark.parametrize("value", [1.5, 10**38, -(10**38), Decimal("NaN"), object()])
def test_what_type_serializer_refuses_is_refused_the_same_way(value):
    """Floats and objects: TypeError; numbers DynamoDB cannot hold exactly: decimal's Rounded, NaN."""
    with pytest.raises(Exception) as theirs:  # whatever it raises, we raise
        serialized({"v": value})
    with pytest.raises(type(theirs.value)):
        wire_item({"v": value})


plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(min_size=1, max_size=8), plain, max_size=6))
def test_any_plain_item_is_written_as_type_serializer_writes_it(item):
    try:
        expected = serialized(item)
    except Exception as error:  # an integer of more than 38 digits: decimal's Rounded
        with pytest.raises(type(error)):
            wire_item(item)
        return
    assert wire_item(item) == expected
