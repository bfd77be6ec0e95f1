"""KMS throttling is counted by the functions themselves (#25 item 4): CloudWatch has no KMS throttling
metric for customer managed keys, so every KMS answer of ThrottlingException (each attempt, retried or
not) adds one KmsThrottled to the invocation's metrics, which the kms-throttled alarm reads."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kyc_match import observability


class _Kms(BaseHTTPRequestHandler):
    """KMS over loopback: throttled until `throttled` runs out, then a MAC."""

    throttled = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if type(self).throttled > 0:
            type(self).throttled -= 1
            status, body = 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        else:
            status, body = 200, {"KeyId": "k", "Mac": "AAAA", "MacAlgorithm": "HMAC_SHA_256"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def kms_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Kms)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _kms(endpoint: str, attempts: int):  # type: ignore[no-untyped-def]
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="eu-west-1")
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return session.client("kms", endpoint_url=endpoint, config=config)


def _counted() -> float:
    metric = observability.metrics.metric_set.get(observability.KMS_THROTTLED_METRIC)
    return float(sum(metric["Value"])) if metric else 0.0


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    observability.metrics.clear_metrics()
    yield
    observability.metrics.clear_metrics()


def test_each_throttled_kms_attempt_counts_once_even_when_a_retry_succeeds(kms_endpoint):
    _Kms.throttled = 2
    kms = _kms(kms_endpoint, attempts=4)
    kms.generate_mac(KeyId="k", Message=b"m", MacAlgorithm="HMAC_SHA_256")
    assert _counted() == 2


def test_throttling_that_outlasts_the_retries_counts_every_attempt(kms_endpoint):
    _Kms.throttled = 10
    kms = _kms(kms_endpoint, attempts=3)
    with pytest.raises(ClientError):
        kms.generate_mac(KeyId="k", Message=b"m", MacAlgorithm="HMAC_SHA_256")
    assert _counted() == 3


def test_other_kms_answers_and_other_services_count_nothing(kms_endpoint):
    _Kms.throttled = 0
    _kms(kms_endpoint, attempts=1).generate_mac(KeyId="k", Message=b"m", MacAlgorithm="HMAC_SHA_256")
    observability.count_kms_throttling(response=(None, {"Error": {"Code": "AccessDeniedException"}}))
    observability.count_kms_throttling(response=None)
    assert _counted() == 0
