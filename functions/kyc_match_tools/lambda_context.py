"""A Lambda context object for running the handler outside Lambda."""

import uuid
from dataclasses import dataclass, field


@dataclass
class LocalLambdaContext:
    function_name: str = "kyc-match-local"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:kyc-match-local"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/kyc-match-local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 25_000


def local_context() -> LocalLambdaContext:
    return LocalLambdaContext()
