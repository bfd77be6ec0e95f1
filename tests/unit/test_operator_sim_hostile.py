"""The simulator's hostile answers (operator_sim/hostile.py) are what they claim to be: a gzip bomb
that is valid gzip and small on the wire, an `expires_in` spliced in as raw JSON, a drip that sends
one byte per write and stops when the reader has gone."""

import gzip
import json

import pytest

from kyc_match_tools.operator_sim.hostile import MIB, drip, gzip_bomb, with_raw_expires_in


def test_a_gzip_bomb_is_valid_gzip_of_zeros_about_a_kib_per_mib():
    bomb = gzip_bomb(3)
    assert gzip.decompress(bomb) == bytes(3 * MIB)
    assert len(bomb) < 3 * 1100


def test_a_bomb_over_the_16_kib_cap_inflated_stays_under_it_on_the_wire():
    assert len(gzip_bomb(15)) < 16_384 < 15 * MIB


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-60", "0", '"3600"'])
def test_expires_in_is_spliced_as_raw_json(raw):
    body = with_raw_expires_in({"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}, raw)
    assert body.endswith(f'"expires_in": {raw}}}'.encode())
    document = json.loads(body)  # Python's json reads NaN and Infinity: the text is what a server sent
    assert (document["access_token"], document["token_type"]) == ("t", "Bearer")
    assert with_raw_expires_in({}, raw) == f'{{"expires_in": {raw}}}'.encode()


def test_a_drip_writes_one_byte_at_a_time_and_stops_when_the_reader_is_gone():
    writes: list[bytes] = []

    def write(data: bytes) -> None:
        if len(writes) == 3:
            raise BrokenPipeError
        writes.append(data)

    drip(write, b"HTTP/1.1 200 OK", 0.0)
    assert writes == [b"H", b"T", b"T"]
