"""The export bundle writes witness objects under their witness names only (issue #23 item 7): an object
the bucket holds under any other name is refused and named, never written, least of all outside the
bundle's folder (an auditor's machine: `~/.aws/config` is three `..` away)."""

from pathlib import Path

from kyc_match.audit.witness import WitnessObject, object_name
from kyc_match_tools.witness_bundle import write_bundle

GOOD = object_name("eu-west-1", 1)
HOSTILE = (
    "witness/../../../pwned/evil.sh",
    "witness/eu-west-1/../../../evil.jws",
    "witness/../000000000001.jws",  # a region of `..`: parse_name alone would take it
    "witness/eu-west-1/000000000001.jws/../../../x.jws",
    "witness/eu-west-1\\..\\..\\x/000000000001.jws",
    "witness//000000000001.jws",
    "witness/eu-west-1/00000000001.jws",  # eleven digits
    "witness/eu-west-1/000000000001.jws.sh",
    "/etc/evil.jws",
    "keys/evil.pem",
)


def files_outside(root: Path, bundle: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and not path.is_relative_to(bundle)]


def test_only_witness_names_are_written_and_every_other_is_refused_and_named(tmp_path):
    bundle = tmp_path / "auditor" / "home" / "bundle"
    objects = [WitnessObject(GOOD, 0, b"good"), WitnessObject(GOOD, 1, b"again")]
    objects += [WitnessObject(name, version, b"#!/bin/sh\n") for name in HOSTILE for version in (0, 1)]

    written = write_bundle(bundle, [{"requestId": "r1"}], objects, {"kid-1": b"pem"})

    assert (written.entries, written.objects) == (1, 2)
    assert written.refused == tuple(sorted(HOSTILE))  # each named once, whatever its versions
    assert files_outside(tmp_path, bundle) == []
    assert sorted(path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file()) == [
        "entries.jsonl",
        "keys/kid-1.pem",
        GOOD,
        GOOD + ".v2",
    ]


def test_a_key_id_that_is_not_a_file_name_is_refused(tmp_path):
    bundle = tmp_path / "a" / "bundle"
    written = write_bundle(bundle, [], [], {"../../evil": b"pem", "kid-1": b"pem"})
    assert written.refused == ("keys/../../evil.pem",)
    assert files_outside(tmp_path, bundle) == []
    assert (bundle / "keys" / "kid-1.pem").read_bytes() == b"pem"
