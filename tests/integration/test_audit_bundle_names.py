"""`kyc-match audit export --bundle` against a witness bucket holding an object under a hostile name
(issue #23 item 7): a principal with write on the bucket cannot make an auditor's export write a file
outside the bundle folder; the export refuses the name, names it and exits 1."""

import boto3
import pytest

from kyc_match.audit.witness import object_name
from support.audit import private_trail_settings, record, trail_for
from support.cli import run_cli

pytestmark = pytest.mark.usefixtures("local_stack")

HOSTILE = "witness/../../../pwned/evil.sh"


def test_an_object_named_to_climb_out_of_the_bundle_is_refused_and_named(monkeypatch, tmp_path):
    settings = private_trail_settings(monkeypatch)
    trail_for(settings).record(record("r1"))
    assert run_cli("audit", "flush").returncode == 0
    boto3.client("s3").put_object(Bucket=settings.audit_witness_bucket, Key=HOSTILE, Body=b"#!/bin/sh\n")
    bundle = tmp_path / "auditor" / "home" / "bundle"

    completed = run_cli("audit", "export", "--bundle", str(bundle))

    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.splitlines() == [f"refused\t{HOSTILE}"]
    assert "1 objects refused: not witness names" in completed.stderr
    outside = [path for path in tmp_path.rglob("*") if path.is_file() and not path.is_relative_to(bundle)]
    assert outside == []
    assert (bundle / object_name("eu-west-1", 1)).is_file()
