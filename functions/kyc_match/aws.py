"""AWS clients, created on first use and kept for the container's life.

boto3 is imported here, lazily: the handler module imports nothing of it, and a client's service
model is only loaded when a request first needs that service.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from kyc_match.domain.errors import UnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


@cache
def _config() -> Any:
    from botocore.config import Config  # noqa: PLC0415
    from botocore.session import get_session  # noqa: PLC0415

    # Bounded, jittered retries on throttling and transient faults (4 attempts); then the caller decides.
    # The SDKs' own setting (AWS_MAX_ATTEMPTS, or max_attempts in the AWS config file) changes the count,
    # as it would for any boto3 client: e.g. 1 for a command that should say at once that it cannot
    # reach its endpoint.
    config = Config(retries={"mode": "standard"}, connect_timeout=2, read_timeout=5)
    if get_session().get_config_variable("max_attempts") is None:  # a count given here would win over it
        config = config.merge(Config(retries={"mode": "standard", "total_max_attempts": 4}))
    return config


@cache
def dynamodb() -> "DynamoDBServiceResource":
    import boto3  # noqa: PLC0415

    return boto3.resource("dynamodb", config=_config())


@cache
def dynamodb_client() -> "DynamoDBClient":
    """A low-level DynamoDB client, for the audit write given in wire form (#29 item 3): the resource's
    own `meta.client` serialises every item again with the resource layer's hooks. Created once beside
    the resource (~2.5 ms CPU: the service model is already loaded)."""
    import boto3  # noqa: PLC0415

    return boto3.client("dynamodb", config=wire_config())


def wire_config() -> Any:
    """The clients' config, without botocore's client-side parameter validation: the audit entry is
    built by our code in exactly TypeSerializer's wire form (tests/unit/test_audit_wire_item.py), and
    DynamoDB validates every request itself; re-walking the entry's ~60 values against the service
    model cost ~180 µs CPU per request (bench/bench_warm.py)."""
    from botocore.config import Config  # noqa: PLC0415

    return _config().merge(Config(parameter_validation=False))


@cache
def dynamodb_streams() -> Any:  # no stubs pinned: three calls, by the sealers only
    """The audit table's stream: read by the local sealer, and by the sealer function to read back each
    record Lambda hands it (kyc_match.audit.witness_stream)."""
    import boto3  # noqa: PLC0415

    return boto3.client("dynamodbstreams", config=_config())


@cache
def kms() -> "KMSClient":
    import boto3  # noqa: PLC0415

    return boto3.client("kms", config=_config())


@cache
def sqs() -> "SQSClient":
    import boto3  # noqa: PLC0415

    return boto3.client("sqs", config=_config())


@cache
def s3() -> "S3Client":
    import boto3  # noqa: PLC0415

    return boto3.client("s3", config=_config())


@cache
def sts() -> Any:  # no STS stubs pinned: one call, GetCallerIdentity
    """Who is calling: the local tools record it as a policy's author or approver."""
    import boto3  # noqa: PLC0415

    return boto3.client("sts", config=_config())


def reset() -> None:
    """Forget the clients (tests that change AWS_ENDPOINT_URL). Credentials: renew_session()."""
    for factory in (_config, dynamodb, dynamodb_client, dynamodb_streams, kms, sqs, s3, sts):
        factory.cache_clear()


def renew_session() -> None:
    """New clients on a new boto3 default session, so credentials are resolved again: boto3's session
    keeps the credentials it first resolved, whatever the variables say later (a SnapStart copy
    restored, a command that entered an assumed role's session). The new session keeps the old one's
    loader (service models already read from disk, e.g. before the snapshot)."""
    reset()
    boto3: Any = sys.modules.get("boto3")
    if boto3 is None:
        return
    old = boto3.DEFAULT_SESSION
    boto3.setup_default_session()
    if old is not None:
        boto3.DEFAULT_SESSION._session.register_component(
            "data_loader", old._session.get_component("data_loader")
        )


@contextmanager
def unavailable_on_failure() -> Iterator[None]:
    """A read the request cannot do without failed after the client's retries (throttled, down,
    denied): the service cannot serve now, a CAMARA 503, never an unexpected 500."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        yield
    except (BotoCoreError, ClientError):
        raise UnavailableError from None
