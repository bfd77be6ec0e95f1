"""The functions' shared definition (arm64 Python Lambda, one code asset bundled locally without Docker,
log group, role, tracing, settings) and the match function with its grants."""

import functools
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from infra import FUNCTIONS_DIR, REPO_ROOT
from infra.config import StageConfig
from infra.constructs.keys import Keys
from infra.nag import acknowledge, logical_id

HANDLER = "kyc_match.handler.lambda_handler"
PACKAGE_DIR = FUNCTIONS_DIR / "kyc_match"
REQUIREMENTS = REPO_ROOT / "requirements" / "lambda.txt"
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"  # of RUNTIME: the wheels pip selects must match it
# manylinux2014 (glibc 2.17) first; some current wheels (rapidfuzz 3.14) ship only manylinux_2_26+ for
# aarch64, which the Python 3.12 runtime (Amazon Linux 2023, glibc 2.34) runs as well.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# Provided by the Lambda Python runtime (boto3 and its dependencies): left out of the asset.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
# Bump when the bundling recipe changes, so the asset hash changes with it.
_BUNDLING_RECIPE = "pip-target-v1"

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def asset_requirements(requirements_text: str, excluded: frozenset[str] = RUNTIME_PROVIDED) -> list[str]:
    """The pinned requirement lines of requirements/lambda.txt minus the runtime-provided packages.

    Continuation lines (`\\` + `--hash=...`) are joined, comments and option lines dropped.
    """
    logical: list[str] = []
    pending = ""
    for raw_line in requirements_text.splitlines():
        line = raw_line.split(" #", 1)[0].rstrip() if not raw_line.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line and not line.startswith("-"):
            logical.append(line)
    kept = []
    for line in logical:
        match = _NAME.match(line)
        if match is None:
            raise ValueError(f"cannot read requirement line {line!r}")
        if canonical_name(match.group(1)) not in excluded:
            kept.append(line)
    return kept


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the asset on this machine: arm64 wheels for the runtime's Python, then the package.

    `pip install --target` with `--platform/--implementation/--python-version --only-binary=:all:`
    selects the Lambda's wheels whatever the build machine is, so no Docker is needed.
    """

    def __init__(self, requirements: Path = REQUIREMENTS, package_dir: Path = PACKAGE_DIR) -> None:
        self.requirements = requirements
        self.package_dir = package_dir

    def pip_command(self, output_dir: str, requirements_file: str) -> list[str]:
        platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",  # requirements/lambda.txt is the complete, pinned closure
            *platforms,
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            "--only-binary=:all:",
            "--no-compile",  # .pyc of the build interpreter would be dead weight on 3.12
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            output_dir,
            "-r",
            requirements_file,
        ]

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        output = Path(output_dir)
        with tempfile.TemporaryDirectory(prefix="kyc-match-bundle-") as tmp:
            requirements_file = Path(tmp) / "requirements.txt"
            requirements_file.write_text(
                "\n".join(asset_requirements(self.requirements.read_text(encoding="utf-8"))) + "\n",
                encoding="utf-8",
            )
            subprocess.run(self.pip_command(output_dir, str(requirements_file)), check=True)  # noqa: S603
        shutil.rmtree(output / "bin", ignore_errors=True)  # console scripts: unused in Lambda
        for cache in output.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(
            self.package_dir,
            output / self.package_dir.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        leaked = sorted(name for name in RUNTIME_PROVIDED if (output / name.replace("-", "_")).exists())
        if leaked:
            raise RuntimeError(f"runtime-provided packages ended up in the asset: {leaked}")
        return True


@functools.cache
def _asset_hash() -> str:
    # Once per synth: every region's stack ships the same asset even while the tree is being edited.
    return source_hash()


def source_hash(requirements: Path = REQUIREMENTS, package_dir: Path = PACKAGE_DIR) -> str:
    """Hash of what goes into the asset, so the asset changes exactly when its inputs do."""
    digest = hashlib.sha256(_BUNDLING_RECIPE.encode())
    digest.update(",".join(PLATFORMS).encode() + PYTHON_VERSION.encode())
    digest.update(requirements.read_bytes())
    for path in sorted(package_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(package_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def code_asset() -> lambda_.Code:
    """The one code asset of a stack: every function runs a handler of the same bundled package.

    Call once per stack and pass it to each function (an asset belongs to one stack); the bundling
    itself runs once per synth whatever the number of stacks (same custom hash, staged once).
    """
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=_asset_hash(),
        exclude=["__pycache__", "*.pyc"],
        bundling=BundlingOptions(image=RUNTIME.bundling_image, local=PipLocalBundling()),
    )


def settings_environment(
    config: StageConfig,
    *,
    tables: Mapping[str, dynamodb.ITable],
    keys: Keys,
    fallback_queue: sqs.IQueue,
    digest_bucket: s3.IBucket,
) -> dict[str, str]:
    """The KYC_* settings (kyc_match.settings) every function of the stack reads: names, not rights.

    All three functions get the same values, so the jobs and the match function cannot disagree on
    a table, key or retention; what each may do with them is its role's business.
    """
    return {
        "KYC_STAGE": config.stage,
        "KYC_AUDIT_TABLE": tables["audit"].table_name,
        "KYC_SUBSCRIBERS_TABLE": tables["subscribers"].table_name,
        "KYC_PORTED_NUMBERS_TABLE": tables["ported-numbers"].table_name,
        "KYC_CONFIG_TABLE": tables["configuration"].table_name,
        "KYC_HASH_KEY_ID": keys.hmac_key.key_arn,
        "KYC_PREVIOUS_HASH_KEY_IDS": config.previous_hash_key_ids_json,
        "KYC_AUDIT_RETENTION_DAYS": str(config.audit_retention_days),
        "KYC_AUDIT_FALLBACK_QUEUE_URL": fallback_queue.queue_url,
        "KYC_AUDIT_DIGEST_BUCKET": digest_bucket.bucket_name,
    }


@dataclass(frozen=True)
class FunctionBase:
    """What every function of the stack shares: stage, code asset, settings, log encryption key."""

    config: StageConfig
    code: lambda_.Code
    environment: Mapping[str, str]
    log_key: kms.IKey


class ServiceFunction(Construct):
    """One definition of runtime, architecture, Powertools environment, log group, role and tracing.

    Each function gets its own log group (CMK-encrypted, the stage's retention) and its own role that
    may write to that log group only (instead of AWSLambdaBasicExecutionRole); grants come on top.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        handler: str,
        description: str,
        role_description: str,
        memory_size: int,
        timeout: Duration,
        extra_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        config = base.config
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=config.log_retention, encryption_key=base.log_key
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=role_description,
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=base.code,
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            environment={
                **base.environment,
                **(extra_environment or {}),
                "POWERTOOLS_SERVICE_NAME": "kyc-match",
                "POWERTOOLS_METRICS_NAMESPACE": "KycMatch",
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                # Events and responses carry personal data: never log the event, never put the
                # response into X-Ray metadata.
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            },
        )
        # The role's DefaultPolicy (created by the log-group grant) collects every grant_* statement.
        self.policy = self.role.node.find_child("DefaultPolicy")

        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is pinned on purpose: the asset's wheels are built for cp312 "
            "(requirements/lambda.txt) and the runtime is supported; upgrades are a reviewed change.",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level "
            "permissions; this is the only statement on Resource::*.",
        )

    def acknowledge_table_indexes(self, table: dynamodb.Table, index_names: str) -> None:
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(table)}.Arn>/index/*]",
            f"The table grant covers its GSIs ({index_names}) under the table's ARN; index ARNs exist "
            "only below the table, nothing outside it matches.",
        )

    def acknowledge_key_wildcards(self, why: str) -> None:
        for action in ("kms:ReEncrypt*", "kms:GenerateDataKey*"):
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[Action::{action}]",
                f"{why}; the statement is limited to that one key's ARN (the key actions CDK's grant_* "
                "methods pair with encrypted tables and queues).",
            )


class MatchFunction(ServiceFunction):
    """The API's function: POST /kyc-match/v0.4/match and POST /kyc-decision/v1/assess."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: FunctionBase,
        tables: Mapping[str, dynamodb.Table],
        keys: Keys,
        fallback_queue: sqs.IQueue,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            base=base,
            handler=HANDLER,
            description=f"CAMARA KYC Match v0.4 aggregator and risk decisions ({base.config.stage})",
            role_description="kyc-match function: its logs and tables, GenerateMac, the credentials "
            "secret, sending to the audit fallback queue",
            memory_size=512,
            timeout=Duration.seconds(25),  # below API Gateway's 29 s integration timeout
            extra_environment={"KYC_OPERATORS": base.config.operators_json},
        )

        tables["audit"].grant_read_write_data(self.role)
        # configuration: the client risk policies (decision endpoint), read only.
        for role in ("subscribers", "ported-numbers", "configuration"):
            tables[role].grant_read_data(self.role)
        keys.allow_mac(self.role)  # hashes identifiers and seals entries
        keys.allow_verify_mac(self.role)  # checks a policy's seals before it decides with it
        keys.operator_credentials.grant_read(self.role)
        fallback_queue.grant_send_messages(self.role)  # send only: the drain function consumes

        self.acknowledge_table_indexes(tables["audit"], "byPhoneHash, byDay")
        self.acknowledge_key_wildcards(
            "DynamoDB and SQS need these on the data CMK to write encrypted items and messages"
        )
