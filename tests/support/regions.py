"""A second AWS region on the suite's moto server: moto keeps each region's tables and keys apart, as
AWS does, so one process can play a stage deployed in two regions."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from kyc_match import aws, wiring
from kyc_match.settings import get_settings
from kyc_match_tools import local_aws

_prepared: set[str] = set()


def _forget_clients() -> None:
    """Every AWS client and adapter built for the previous region: the next use builds them again."""
    boto3.DEFAULT_SESSION = None  # it keeps the region it was created in
    aws.reset()
    get_settings.cache_clear()
    for built in vars(wiring).values():
        if callable(getattr(built, "cache_clear", None)):
            built.cache_clear()


@contextmanager
def in_region(region: str) -> Iterator[None]:
    """The handler, the `kyc-match` commands run in-process and boto3 all work in `region` meanwhile;
    its tables, keys and test subscribers are created on first use, as `kyc-match serve` does."""
    saved = {name: os.environ.get(name) for name in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    _forget_clients()
    try:
        if region not in _prepared:
            local_aws.prepare(get_settings())
            _prepared.add(region)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget_clients()


def region_env(region: str) -> dict[str, str]:
    """The environment of a `kyc-match` subprocess working in `region`."""
    return {**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
