"""Stage configuration: one JSON file per stage under infra/stages/, validated at synth time.

A stage file holds what differs between stages (regions, operators, client tiers, limits, alarm
thresholds). A bad file fails `cdk synth` with a message that names the file and the bad field, before
anything reaches CloudFormation.
"""

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_cdk import aws_logs as logs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

import infra  # noqa: F401 - puts functions/ on sys.path for the application package
from kyc_match.operators.config import parse_operators

STAGES_DIR = Path(__file__).resolve().parent / "stages"

REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
# A KMS key as the function's settings accept it: key ARN, alias ARN, alias name or key id.
KMS_KEY_PATTERN = (
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+"
    r"|alias/[A-Za-z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)

KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$"
MULTI_REGION_KEY_PREFIX = "mrk-"  # the id of a multi-region key, the same in every region holding it
PreviousKeyKind = Literal["hash", "signing", "witness", "policy_seal"]


def key_arn_in(arn: str, region: str) -> str | None:
    """The key `arn` names, as a function in `region` must name it, or None where it cannot be used.

    A multi-region key (`key/mrk-…`) is the same key id in each region holding a replica, but its ARN
    there names that region: KMS (and IAM, evaluating the request's resource) refuse a call in one region
    naming another region's ARN. Any other key exists in its own region only."""
    partition, service, key_region, account, resource = arn.split(":", 5)[1:]
    if resource.startswith(f"key/{MULTI_REGION_KEY_PREFIX}"):
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"
    return arn if key_region == region else None


def keys_in(arns: Iterable[str], region: str) -> tuple[str, ...]:
    """`arns` as a function in `region` names them (key_arn_in), in order, each once."""
    return tuple(dict.fromkeys(key for key in (key_arn_in(arn, region) for arn in arns) if key))


_PREVIOUS_FIELDS: dict[PreviousKeyKind, str] = {
    "hash": "previousHashKeyIds",
    "signing": "previousSigningKeyIds",
    "witness": "previousWitnessKeyIds",
    "policy_seal": "previousPolicySealKeyIds",
}


# Operator URLs a deployed function may call: https only, never a loopback or link-local host.
_OPERATOR_URL_FIELDS = ("baseUrl", "tokenUrl")
_LOCAL_HOSTS = ("localhost", "127.", "[::1]", "0.0.0.0", "169.254.")

# The retention periods (days) CloudWatch Logs accepts, as CDK names them.
_RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


WAF_WINDOW_SECONDS = 300  # the WAF rate rules' evaluation window


def operator_secret_name(stage: str) -> str:
    """Name of the stack's operator-credentials secret: camara operators point `clientSecretId` at it."""
    return f"kyc-match/{stage}/operator-credentials"


class StageConfigError(ValueError):
    """The stage configuration is missing or invalid; the message says which file and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class Tier(_Model):
    """A client tier: one API Gateway usage plan. Clients' API keys are attached to one tier."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    rate_limit: float = Field(gt=0, le=10_000, description="steady-state requests per second")
    burst_limit: int = Field(ge=1, le=5_000, description="bucket size, requests")
    monthly_quota: int = Field(ge=1, description="requests per calendar month")

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> "Tier":
        if self.burst_limit < self.rate_limit:
            raise ValueError(
                f"tier {self.name!r}: burstLimit ({self.burst_limit}) < rateLimit ({self.rate_limit})"
            )
        return self


class Waf(_Model):
    # Requests per source IP per 5-minute window before the WAF rate rule blocks with a 429; counts only
    # requests without an x-api-key header (clients are limited per key: a bank's NAT address is shared).
    rate_limit_per_5_minutes: int = Field(default=1000, ge=10, le=2_000_000_000)
    # Requests per API key (x-api-key header) per 5-minute window. Unset: 1.5 x the largest tier's
    # rateLimit x 300 s, so the usage plan answers a client's excess first and the WAF stops only abuse
    # beyond any tier (a leaked key); set, it must be at least the largest tier's rateLimit x 300 s.
    rate_limit_per_api_key_per_5_minutes: int | None = Field(default=None, ge=10, le=2_000_000_000)


class Memory(_Model):
    """Lambda memory per function, MB: also its CPU share (one full vCPU at 1,769 MB, proportional below).
    The match function's production size is chosen with bench/aws_calls.py's memory table (#29 item 4,
    docs/performance.md): the cheapest size whose modelled added p99 for a repeated number is ≤ 15 ms."""

    match: int = Field(default=512, ge=128, le=10_240)


class Concurrency(_Model):
    """Reserved concurrency per function: the match function is capped (one busy client cannot take the
    region's whole Lambda concurrency) and the audit jobs are guaranteed theirs (never starved)."""

    # Unset: the floor, ceil(largest tier rateLimit x longest operator timeoutSeconds) (docs/deploy.md).
    match: int | None = Field(default=None, ge=1, le=100_000)
    # Also the SQS event source's maximum concurrency (2..): reserved = maximum, so no batch is throttled
    # back to the queue (throttled receives count towards the dead-letter redrive).
    drain: int = Field(default=2, ge=2, le=1_000)
    # The witness sealer: one batch per stream shard at a time; a busier table has more shards.
    witness: int = Field(default=2, ge=1, le=100)


BACKUP_VAULT_ARN_PATTERN = r"^arn:aws[a-z-]*:backup:([a-z0-9-]+):[0-9]{12}:backup-vault:[A-Za-z0-9_.-]{2,50}$"


class Backup(_Model):
    """AWS Backup of the audit and configuration tables into a locked vault, copied to another region."""

    # Daily recovery points are kept this long; monthly ones as long as the audit entries themselves.
    daily_retention_days: int = Field(default=35, ge=7, le=36_500)
    # Per source region: the backup vault (another region) each recovery point is copied to.
    copy_to: dict[Region, Annotated[str, Field(pattern=BACKUP_VAULT_ARN_PATTERN)]] = Field(min_length=1)
    # Days the vault lock can still be removed after the first deploy; then it is compliance mode:
    # no one, root included, can delete a recovery point early or shorten the lock.
    lock_grace_days: int = Field(default=3, ge=3, le=36_500)


DNS_NAME_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class MutualTls(_Model):
    """Clients present a certificate issued by a CA of the truststore (a PEM bundle in S3)."""

    truststore_uri: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\s]+$")
    # The S3 object version: pins the bundle, so a new one is a reviewed deploy, not a silent upload.
    truststore_version: str | None = Field(default=None, min_length=1, max_length=1024)

    @property
    def bucket(self) -> str:
        return self.truststore_uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.truststore_uri.removeprefix("s3://").split("/", 1)[1]


class Domain(_Model):
    """The front door: `name` is the one global hostname (Route 53 latency or failover routing over the
    regions, each on its health check); `<region>.<name>` reaches one region. The hosted zone is given, not
    looked up: synth needs no AWS access."""

    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,31}$")
    zone_name: str = Field(max_length=253, pattern=DNS_NAME_PATTERN)
    name: str = Field(max_length=200, pattern=DNS_NAME_PATTERN)
    routing: Literal["latency", "failover"] = "latency"
    primary_region: Region | None = None  # failover: the region that answers while it is healthy
    # The API under https://<name>/<basePath>/...; unset: at the root (/kyc-match/v0.4/match).
    base_path: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9._-]{1,128}$")
    mutual_tls: MutualTls | None = None

    @model_validator(mode="after")
    def _name_in_zone(self) -> "Domain":
        if not self.name.endswith("." + self.zone_name):
            raise ValueError(f"domain.name {self.name!r} is not inside the hosted zone {self.zone_name!r}")
        if self.routing == "failover" and self.primary_region is None:
            raise ValueError("domain.routing failover needs domain.primaryRegion")
        if self.routing == "latency" and self.primary_region is not None:
            raise ValueError("domain.primaryRegion is for failover routing only")
        return self

    def regional_name(self, region: str) -> str:
        return f"{region}.{self.name}"

    def path(self, path: str) -> str:
        """`path` of the API (e.g. /health) as it is reached through the custom domain."""
        return f"/{self.base_path}{path}" if self.base_path else path


class Vpc(_Model):
    """Egress from fixed addresses: private subnets in `availabilityZones` zones, one NAT gateway with an
    Elastic IP in each (the addresses operators allow-list), VPC endpoints for the AWS services used."""

    cidr: str = Field(default="10.40.0.0/16", pattern=r"^10\.[0-9]{1,3}\.0\.0/16$")
    availability_zones: int = Field(default=2, ge=2, le=3)
    # Each region's zone names, reviewed with the stage file: what synth would otherwise look up in the
    # account (AWS credentials and the lookup role) as soon as a stack names its account (#25 item 2).
    zone_names: dict[Region, tuple[str, ...]] = Field(default_factory=dict)

    def zones_of(self, region: str) -> tuple[str, ...]:
        names = self.zone_names.get(region, ())
        if len(names) < self.availability_zones or not all(name.startswith(region) for name in names):
            raise StageConfigError(
                f"vpc.zoneNames.{region}: at least {self.availability_zones} zone names of {region} "
                f"(e.g. {region}a, {region}b) are needed to synthesize without AWS access"
            )
        return names


MULTI_REGION_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/mrk-[0-9a-f]{32}$"
MultiRegionKeyArn = Annotated[str, Field(pattern=MULTI_REGION_KEY_ARN_PATTERN)]


class PrimaryKeys(_Model):
    """The primary region's multi-region keys (its stack's outputs IdentifierKeyArn and PolicySealKeyArn):
    what the other regions' AWS::KMS::ReplicaKey resources replicate. A key ARN, never an alias: KMS
    replicates a key named by its ARN, and a pipeline stage cannot read another stage's outputs."""

    identifiers: MultiRegionKeyArn
    policy_seal: MultiRegionKeyArn


class GlobalConfiguration(_Model):
    """One service across the stage's regions (#25 item 3): the configuration the function reads
    (clients, policies, ported numbers) in DynamoDB global tables owned by `primaryRegion`'s stack, and
    the identifier and policy-seal keys multi-region (primary there, replicas in the other regions), so a
    number hashes the same and a seal verifies in every region.

    Unset `primaryKeys` is the first step of a rollout: the primary region's stack makes the
    multi-region keys and the (not yet replicated) global tables, every other region keeps its own
    tables and keys. Set, the tables are replicated into the other regions (encrypted there with that
    region's data key, which must exist: its stack was deployed once) and those regions use the replicas
    and the replica keys (docs/deploy.md, One service across regions)."""

    primary_region: Region
    primary_keys: PrimaryKeys | None = None


def vault_region(arn: str) -> str:
    return arn.split(":")[3]


class WitnessReplication(_Model):
    """S3 Replication of the witness bucket into an Object Lock bucket in another region."""

    # Per source region: the region holding its replica (a bucket and key the app creates there, in a
    # stack of its own deployed before the source region's).
    replica_regions: dict[Region, Region] = Field(min_length=1)


EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$"


class SlackChannel(_Model):
    """A Slack channel that AWS Chatbot posts the alarms to. The workspace is authorised once in the
    Chatbot console (a person's OAuth click); then only its ids are in the stage file."""

    workspace_id: str = Field(pattern=r"^T[A-Z0-9]{8,}$")
    channel_id: str = Field(pattern=r"^[CG][A-Z0-9]{8,}$")


class AlarmDestinations(_Model):
    """Who the alarm topic reaches (#25 item 4): every alarm's ALARM and OK notifications, and the events
    the topic gets (key tampering, the sealer's mapping, failed backups). An email address confirms its
    subscription once (the link AWS sends); an HTTPS endpoint (a paging service's SNS integration URL)
    confirms it itself; a Slack channel through AWS Chatbot."""

    emails: tuple[Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)], ...] = ()
    https_endpoints: tuple[str, ...] = ()
    slack: tuple[SlackChannel, ...] = ()

    @field_validator("https_endpoints")
    @classmethod
    def _public_https_only(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not _public_https(url):
                raise ValueError(
                    f"{url!r} is not an https URL of a public host (SNS calls it from the internet)"
                )
        return urls

    @model_validator(mode="after")
    def _each_once(self) -> "AlarmDestinations":
        for name, values in (("emails", self.emails), ("httpsEndpoints", self.https_endpoints)):
            if len({value.lower() for value in values}) != len(values):
                raise ValueError(f"alarms.destinations.{name} lists a destination twice")
        if len(set(self.slack)) != len(self.slack):
            raise ValueError("alarms.destinations.slack lists a channel twice")
        return self

    @property
    def empty(self) -> bool:
        return not (self.emails or self.https_endpoints or self.slack)


class AcceptShareBand(_Model):
    """Decisions watched (#26 item 6): the ACCEPT share each client's policy version may have over a
    window; outside it, an alarm (one contributor per client and version). A new policy version that
    doubles the ACCEPT rate, or a change at an operator that halves it, shows here."""

    low_percent: float = Field(ge=0, lt=100)
    high_percent: float = Field(gt=0, le=100)
    # Metrics Insights alarms read the last 3 hours of data only.
    window_minutes: int = Field(default=60, ge=5, le=180, multiple_of=5)

    @model_validator(mode="after")
    def _a_band(self) -> "AcceptShareBand":
        if self.low_percent >= self.high_percent:
            raise ValueError("alarms.decisionAcceptShare: lowPercent must be below highPercent")
        return self


class Alarms(_Model):
    # Who is told (unset: nobody; a production stage must name at least one destination).
    destinations: AlarmDestinations = AlarmDestinations()
    api_server_error_rate_percent: float = Field(default=1.0, gt=0, le=100)
    api_p99_latency_ms: int = Field(default=5000, ge=100, le=29_000)
    # Each operator's p99 call time (OperatorLatency, the function's metric): one alarm per operator.
    operator_p99_latency_ms: int = Field(default=3000, ge=50, le=29_000)
    operator_failure_rate_percent: float = Field(default=5.0, gt=0, le=100)
    lambda_errors: int = Field(default=1, ge=1, description="Lambda errors per 5 minutes")
    # Entries wait in the audit fallback queue no longer than this before an alarm: the drain is stuck.
    audit_queue_oldest_message_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # API 4XX answers (401 missing/invalid key, 403 WAF or permission, 429 throttle or quota) as a share
    # of requests: a spike means a client lost its key, a WAF rule misfires or a tier is too small.
    api_client_error_rate_percent: float = Field(default=25.0, gt=0, le=100)
    # M of N: an alarm fires when `datapointsToAlarm` of the last `evaluationPeriods` 5-minute periods
    # breach, so one bad period at low volume does not page, and a sustained problem does.
    evaluation_periods: int = Field(default=5, ge=1, le=288)
    datapoints_to_alarm: int = Field(default=3, ge=1, le=288)
    # No match request at all for this many minutes is an alarm (missing data counts as breaching);
    # unset: no such alarm (a sandbox may be idle for days).
    no_traffic_minutes: int | None = Field(default=None, ge=5, le=24 * 60)
    # The band of ACCEPT shares per client and policy version (#26 item 6); unset: no drift alarm.
    decision_accept_share: AcceptShareBand | None = None

    @model_validator(mode="after")
    def _m_of_n(self) -> "Alarms":
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"alarms: datapointsToAlarm ({self.datapoints_to_alarm}) > evaluationPeriods "
                f"({self.evaluation_periods})"
            )
        if self.no_traffic_minutes is not None and self.no_traffic_minutes % 5:
            raise ValueError(f"alarms: noTrafficMinutes ({self.no_traffic_minutes}) must be a multiple of 5")
        return self


# CodeDeploy's predefined Lambda configurations: how traffic moves from the `live` alias's current
# version to the new one (all at once; 10 % for N minutes then the rest; 10 % more every N minutes).
DeploymentStrategy = Literal[
    "ALL_AT_ONCE",
    "CANARY_10PERCENT_5MINUTES",
    "CANARY_10PERCENT_10MINUTES",
    "CANARY_10PERCENT_15MINUTES",
    "CANARY_10PERCENT_30MINUTES",
    "LINEAR_10PERCENT_EVERY_1MINUTE",
    "LINEAR_10PERCENT_EVERY_2MINUTES",
    "LINEAR_10PERCENT_EVERY_3MINUTES",
    "LINEAR_10PERCENT_EVERY_10MINUTES",
]


class Deployment(_Model):
    """How a new version of the match function takes the API's traffic (CodeDeploy, `live` alias)."""

    strategy: DeploymentStrategy = "ALL_AT_ONCE"
    # The canary's own alarm: errors of the `live` alias in 1-minute periods, so a bad version is rolled
    # back while it serves its 10 %, not after the 5-minute M-of-N alarms have caught up.
    canary_errors_per_minute: int = Field(default=1, ge=1)
    # The pre-traffic hook's sandbox match (#25 item 5): made as the client holding this API key id
    # (onboarded like any client, docs/deploy.md), for a test number the stage's operators answer.
    pre_traffic_api_key_id: str = Field(default="kyc-match-pre-traffic", pattern=r"^[A-Za-z0-9_-]{1,128}$")
    pre_traffic_phone_number: str = Field(default="+34600000001", pattern=r"^\+[1-9][0-9]{4,14}$")


class CodeSigning(_Model):
    """Lambda code signing (#25 item 6): the stack's AWS Signer profile (platform AWS Lambda SHA384 ECDSA)
    and a code-signing config on every function running the service's asset. The pipeline signs the
    published asset with the profile before each deploy (docs/deploy.md, Supply chain)."""

    # What Lambda does with code the profile did not sign: Enforce refuses it (a production stage);
    # Warn deploys it and logs a warning, only for the first deploy that creates the profile.
    untrusted_artifacts: Literal["Enforce", "Warn"] = "Enforce"
    # The pipeline's account (infra/pipeline.json): its signing step may assume the stack's signer role.
    signer_account: str = Field(pattern=r"^[0-9]{12}$")


class StageConfig(_Model):
    stage: Literal["sandbox", "production"]
    regions: tuple[Region, ...] = Field(min_length=1)
    # Data residency: when set, the only regions the stage may be deployed to (its file's `regions` and
    # `-c regions=` alike); synth fails for any other. Unset: no restriction.
    allowed_regions: tuple[Region, ...] | None = Field(default=None, min_length=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_retention_days: int = 365
    audit_retention_days: int = Field(default=1826, ge=1, le=36_500)  # also the witness objects' Object Lock
    # HMAC keys used before the current one (KYC_PREVIOUS_HASH_KEY_IDS), as key ARNs (the match function
    # is granted GenerateMac on them: IAM names a key by its ARN, never its alias): `audit find` hashes
    # with each, and ported numbers loaded under them keep their route.
    previous_hash_key_ids: tuple[Annotated[str, Field(pattern=KMS_KEY_ARN_PATTERN)], ...] = ()
    # Signing keys used before the current one (KYC_PREVIOUS_SIGNING_KEY_IDS), as key ARNs: still
    # published in our JWKS until every assertion they signed has expired (docs: key rotation).
    previous_signing_key_ids: tuple[Annotated[str, Field(pattern=KMS_KEY_ARN_PATTERN)], ...] = ()
    # Operator entries in the application's format (kyc_match.operators.config), checked with its parser.
    operators: tuple[dict[str, Any], ...] = Field(min_length=1)
    tiers: tuple[Tier, ...] = Field(min_length=1)
    waf: Waf = Waf()
    alarms: Alarms = Alarms()
    concurrency: Concurrency = Concurrency()
    memory: Memory = Memory()
    backup: Backup | None = None  # unset: no backup plan (a sandbox holds no regulated records)
    domain: Domain | None = None  # unset: clients call the execute-api URL (sandbox)
    vpc: Vpc | None = None  # unset: functions outside any VPC, no fixed egress addresses (sandbox)
    deployment: Deployment = Deployment()
    # Unset: the witness stays in its region only (a sandbox).
    witness_replication: WitnessReplication | None = None
    # Witness keys that signed before the current one (KYC_PREVIOUS_WITNESS_KEY_IDS), as key ARNs:
    # `audit verify` still accepts their signatures, auditors may read their public halves.
    previous_witness_key_ids: tuple[Annotated[str, Field(pattern=KMS_KEY_ARN_PATTERN)], ...] = ()
    # Unset: each region has its own configuration tables and keys (a sandbox, one region).
    global_configuration: GlobalConfiguration | None = None
    # Policy-seal keys that sealed before the current one (KYC_PREVIOUS_POLICY_SEAL_KEY_IDS), as key
    # ARNs: their seals still verify (VerifyMac only); a seal is never checked with a key an item names.
    previous_policy_seal_key_ids: tuple[Annotated[str, Field(pattern=KMS_KEY_ARN_PATTERN)], ...] = ()
    # Unset: functions take unsigned code (a sandbox, local deploys); set: only signed code (production).
    code_signing: CodeSigning | None = None

    @field_validator("regions")
    @classmethod
    def _unique_regions(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(regions)) != len(regions):
            raise ValueError("regions must be unique")
        return regions

    @field_validator("log_retention_days")
    @classmethod
    def _supported_retention(cls, days: int) -> int:
        if days not in _RETENTION_BY_DAYS:
            raise ValueError(
                f"{days} is not a CloudWatch Logs retention period; use one of {sorted(_RETENTION_BY_DAYS)}"
            )
        return days

    @field_validator("operators")
    @classmethod
    def _operators_parse_as_the_function_does(
        cls, operators: tuple[dict[str, Any], ...]
    ) -> tuple[dict[str, Any], ...]:
        parsed = parse_operators(json.dumps(list(operators)))  # raises with the bad entry named
        # What the file says (validated), not every default: the function applies its own defaults.
        return tuple(
            operator.model_dump(mode="json", by_alias=True, exclude_unset=True) for operator in parsed
        )

    @field_validator("tiers")
    @classmethod
    def _unique_tiers(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        names = [tier.name for tier in tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        return tiers

    @model_validator(mode="after")
    def _operator_secrets_are_the_stack_secret(self) -> "StageConfig":
        # The function may read one secret only (least privilege): the stack's operator-credentials one.
        expected = operator_secret_name(self.stage)
        for operator in self.operators:
            auth = operator.get("auth")
            secret = (auth if isinstance(auth, dict) else operator).get("clientSecretId")
            if secret is not None and secret != expected:
                raise ValueError(
                    f"operator {operator['id']!r}: clientSecretId must be {expected!r} (the stack's "
                    "operator-credentials secret, the only one the function may read), with clientSecretKey "
                    "naming the operator's entry in it"
                )
        return self

    @model_validator(mode="after")
    def _operator_urls_are_https(self) -> "StageConfig":
        # Locally an operator may be http on 127.0.0.1 (the simulator); a deployed stage never.
        for operator in self.operators:
            raw_auth = operator.get("auth")
            auth: dict[str, Any] = raw_auth if isinstance(raw_auth, dict) else {}
            urls = {name: operator.get(name) for name in _OPERATOR_URL_FIELDS}
            urls |= {
                f"auth.{name}": value
                for name, value in auth.items()
                if name == "issuer" or name.endswith(("Url", "Endpoint"))
            }
            for name, url in urls.items():
                if url is not None and not _public_https(url):
                    raise ValueError(
                        f"operator {operator['id']!r}: {name} must be an https URL of a public host in a "
                        "deployed stage (http and loopback hosts are for local runs only)"
                    )
        return self

    @model_validator(mode="after")
    def _production_alarms_reach_a_person(self) -> "StageConfig":
        if self.stage == "production" and self.alarms.destinations.empty:
            raise ValueError(
                "alarms.destinations: a production stage names at least one destination (emails, "
                "httpsEndpoints or slack): an alarm nobody receives pages no one"
            )
        return self

    @model_validator(mode="after")
    def _vpc_zones_named(self) -> "StageConfig":
        for region in self.regions if self.vpc is not None else ():
            assert self.vpc is not None
            self.vpc.zones_of(region)  # StageConfigError names the region and the field
        return self

    @model_validator(mode="after")
    def _regions_are_allowed(self) -> "StageConfig":
        outside = self.regions_outside_residency(self.regions)
        if outside:
            allowed = ", ".join(self.allowed_regions or ())
            raise ValueError(f"regions {', '.join(outside)} not in allowedRegions ({allowed})")
        return self

    @model_validator(mode="after")
    def _failover_has_a_primary_and_one_secondary(self) -> "StageConfig":
        if self.domain is None or self.domain.routing != "failover":
            return self
        if self.domain.primary_region not in self.regions:
            raise ValueError(f"domain.primaryRegion {self.domain.primary_region} is not one of the regions")
        if len(self.regions) != 2:
            raise ValueError("domain.routing failover needs exactly two regions (a primary and a secondary)")
        return self

    @model_validator(mode="after")
    def _global_configuration_spans_the_regions(self) -> "StageConfig":
        shared = self.global_configuration
        if shared is None:
            return self
        if shared.primary_region not in self.regions:
            raise ValueError(
                f"globalConfiguration.primaryRegion {shared.primary_region} is not one of the regions"
            )
        if len(self.regions) < 2:
            raise ValueError("globalConfiguration needs at least two regions")
        keys = shared.primary_keys
        for name, arn in (
            (("identifiers", keys.identifiers), ("policySeal", keys.policy_seal)) if keys else ()
        ):
            if arn.split(":")[3] != shared.primary_region:
                raise ValueError(
                    f"globalConfiguration.primaryKeys.{name} must be a key of {shared.primary_region}"
                )
        return self

    def configuration_role(self, region: str) -> Literal["regional", "primary", "replica"]:
        """How `region`'s stack holds the configuration tables and the identifier and policy-seal keys:
        its own (regional), the global tables and multi-region keys (primary), or the replicas."""
        shared = self.global_configuration
        if shared is None:
            return "regional"
        if region == shared.primary_region:
            return "primary"
        return "replica" if shared.primary_keys is not None else "regional"

    def configuration_replica_regions(self, region: str) -> tuple[str, ...]:
        """The regions the primary's global tables replicate into (the stage file's other regions, once
        the primary keys are named); empty for any other region's stack."""
        if self.configuration_role(region) != "primary":
            return ()
        assert self.global_configuration is not None
        if self.global_configuration.primary_keys is None:
            return ()
        return tuple(other for other in self.regions if other != region)

    def regions_outside_residency(self, regions: Sequence[str]) -> tuple[str, ...]:
        """The regions this stage's data may not be in (none when allowedRegions is unset)."""
        if self.allowed_regions is None:
            return ()
        return tuple(region for region in regions if region not in self.allowed_regions)

    @model_validator(mode="after")
    def _backup_copies_leave_the_region_and_stay_resident(self) -> "StageConfig":
        if self.backup is None:
            return self
        for source, arn in self.backup.copy_to.items():
            destination = vault_region(arn)
            if destination == source:
                raise ValueError(f"backup.copyTo.{source}: the copy must go to another region, not {source}")
            if self.regions_outside_residency((destination,)):
                raise ValueError(f"backup.copyTo.{source}: {destination} is outside allowedRegions")
        missing = [region for region in self.regions if region not in self.backup.copy_to]
        if missing:
            raise ValueError(f"backup.copyTo has no destination vault for {', '.join(missing)}")
        if self.backup.daily_retention_days > self.audit_retention_days:
            raise ValueError("backup.dailyRetentionDays exceeds auditRetentionDays")
        return self

    @model_validator(mode="after")
    def _witness_replicas_leave_the_region_and_stay_resident(self) -> "StageConfig":
        if self.witness_replication is None:
            return self
        for source, replica in self.witness_replication.replica_regions.items():
            if replica == source:
                raise ValueError(
                    f"witnessReplication.replicaRegions.{source}: the replica must be in another region"
                )
            if self.regions_outside_residency((replica,)):
                raise ValueError(
                    f"witnessReplication.replicaRegions.{source}: {replica} is outside allowedRegions"
                )
        missing = [
            region for region in self.regions if region not in self.witness_replication.replica_regions
        ]
        if missing:
            raise ValueError(
                f"witnessReplication.replicaRegions has no replica region for {', '.join(missing)}"
            )
        return self

    def witness_replica_region(self, region: str) -> str | None:
        """Where `region`'s witness is replicated to (None: not replicated); StageConfigError if the
        stage replicates but names no replica for this region (a `-c regions=` outside the file's)."""
        if self.witness_replication is None:
            return None
        replica = self.witness_replication.replica_regions.get(region)
        if replica is None:
            raise StageConfigError(
                f"stage {self.stage!r}: witnessReplication.replicaRegions has no replica region for {region}"
            )
        return replica

    @model_validator(mode="after")
    def _match_concurrency_covers_a_client_at_its_rate(self) -> "StageConfig":
        floor = self.match_concurrency_floor
        if self.concurrency.match is not None and self.concurrency.match < floor:
            raise ValueError(
                f"concurrency.match ({self.concurrency.match}) < {floor}: one client of the largest tier "
                f"at its rateLimit ({self.largest_tier_rate:g}/s) with operators answering at their "
                f"deadline ({self.operator_deadline_seconds:g} s) needs {floor} concurrent executions"
            )
        return self

    @model_validator(mode="after")
    def _waf_key_limit_above_every_tier(self) -> "StageConfig":
        limit = self.waf.rate_limit_per_api_key_per_5_minutes
        needed = math.ceil(self.largest_tier_rate * WAF_WINDOW_SECONDS)
        if limit is not None and limit < needed:
            raise ValueError(
                f"waf.rateLimitPerApiKeyPer5Minutes ({limit}) < {needed}: the WAF would block a client of "
                f"the largest tier ({self.largest_tier_rate:g}/s) below its usage-plan rate"
            )
        return self

    @property
    def waf_api_key_limit(self) -> int:
        limit = self.waf.rate_limit_per_api_key_per_5_minutes
        return limit if limit is not None else math.ceil(1.5 * self.largest_tier_rate * WAF_WINDOW_SECONDS)

    @property
    def largest_tier_rate(self) -> float:
        return max(tier.rate_limit for tier in self.tiers)

    @property
    def operator_deadline_seconds(self) -> float:
        """The longest operator timeout (timeoutSeconds, the function's default where unset)."""
        return max(operator.timeout_seconds for operator in parse_operators(self.operators_json))

    @property
    def match_concurrency_floor(self) -> int:
        # Little's law: executions in flight = arrival rate x time each one lasts.
        return math.ceil(self.largest_tier_rate * self.operator_deadline_seconds)

    @property
    def match_reserved_concurrency(self) -> int:
        return self.concurrency.match if self.concurrency.match is not None else self.match_concurrency_floor

    @property
    def operator_ids(self) -> tuple[str, ...]:
        return tuple(str(operator["id"]) for operator in self.operators)

    @property
    def operators_json(self) -> str:
        """The KYC_OPERATORS value the function parses."""
        return json.dumps(list(self.operators), separators=(",", ":"))

    @model_validator(mode="after")
    def _previous_keys_usable_in_the_stage(self) -> "StageConfig":
        """A previous key is a multi-region key (each region uses its own replica's ARN) or a key of one
        of the stage's regions (used there only): any other ARN would be used nowhere, silently."""
        for kind, field in _PREVIOUS_FIELDS.items():
            for index, arn in enumerate(self._previous(kind)):
                if not any(key_arn_in(arn, region) for region in self.regions):
                    raise ValueError(
                        f"{field}[{index}]: {arn} is neither a multi-region key (key/"
                        f"{MULTI_REGION_KEY_PREFIX}…) nor a key of the stage's regions {list(self.regions)}"
                    )
        return self

    def _previous(self, kind: PreviousKeyKind) -> tuple[str, ...]:
        return {
            "hash": self.previous_hash_key_ids,
            "signing": self.previous_signing_key_ids,
            "witness": self.previous_witness_key_ids,
            "policy_seal": self.previous_policy_seal_key_ids,
        }[kind]

    def previous_key_ids(self, kind: PreviousKeyKind, region: str) -> tuple[str, ...]:
        """The stage file's previous keys of `kind` as `region`'s functions and roles name them
        (KYC_PREVIOUS_*_KEY_IDS, their grants): a multi-region key by its replica's ARN in `region`, a
        regional key only in its own region (#25: key rotation across regions)."""
        return keys_in(self._previous(kind), region)

    def previous_key_ids_json(self, kind: PreviousKeyKind, region: str) -> str:
        """The KYC_PREVIOUS_*_KEY_IDS value of `region` (a JSON list, as kyc_match.settings reads a tuple)."""
        return json.dumps(list(self.previous_key_ids(kind, region)), separators=(",", ":"))

    def peer_previous_key_ids(self, kind: Literal["signing", "witness"], region: str) -> tuple[str, ...]:
        """The other regions' previous assertion (witness) keys, each regional and named by its own
        region's ARN: published by `region` too, as their current keys are (our JWKS until their
        assertions expire; the witness keys for auditors)."""
        own = set(self.previous_key_ids(kind, region))
        return tuple(
            key
            for other in self.regions
            if other != region
            for key in self.previous_key_ids(kind, other)
            if key not in own and f":key/{MULTI_REGION_KEY_PREFIX}" not in key  # a replica: listed as own
        )

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_BY_DAYS[self.log_retention_days]


def _public_https(url: object) -> bool:
    if not isinstance(url, str) or not url.startswith("https://"):
        return False
    host = url[len("https://") :].split("/", 1)[0].rsplit("@", 1)[-1].lower()
    return bool(host) and not host.startswith(_LOCAL_HOSTS)


def available_stages(stages_dir: Path = STAGES_DIR) -> list[str]:
    return sorted(path.stem for path in stages_dir.glob("*.json"))


def load_stage_config(stage: str, stages_dir: Path = STAGES_DIR) -> StageConfig:
    """Read and validate `<stages_dir>/<stage>.json`; raise StageConfigError with a readable message."""
    path = stages_dir / f"{stage}.json"
    if not path.is_file():
        raise StageConfigError(
            f"no stage config for stage {stage!r}: {path} does not exist "
            f"(available: {', '.join(available_stages(stages_dir)) or 'none'})"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StageConfigError(f"stage config {path} is not valid JSON: {error}") from error
    try:
        config = StageConfig.model_validate(raw)
    except ValidationError as error:
        problems = "\n".join(
            f"  - {'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
            for item in error.errors()
        )
        raise StageConfigError(f"invalid stage config {path}:\n{problems}") from error
    except ValueError as error:  # e.g. duplicate operator ids from the application's parser
        raise StageConfigError(f"invalid stage config {path}: {error}") from error
    if config.stage != stage:
        raise StageConfigError(f"stage config {path} declares stage {config.stage!r}, expected {stage!r}")
    return config


def parse_regions(value: object, config: StageConfig) -> tuple[str, ...]:
    """The `regions` context value (comma-separated string or list); default: the stage file's regions."""
    if value is None or value == "":
        return config.regions
    items: Sequence[object]
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise StageConfigError(f"context 'regions' must be a comma-separated string, got {value!r}")
    regions = tuple(str(item) for item in items)
    for region in regions:
        try:
            _RegionCheck(region=region)
        except ValidationError as error:
            raise StageConfigError(f"context 'regions': {region!r} is not an AWS region name") from error
    if not regions:
        raise StageConfigError("context 'regions' is empty")
    if len(set(regions)) != len(regions):
        raise StageConfigError(f"context 'regions' lists a region twice: {value!r}")
    outside = config.regions_outside_residency(regions)
    if outside:
        raise StageConfigError(
            f"context 'regions': {', '.join(outside)} outside stage {config.stage!r}'s allowedRegions "
            f"({', '.join(config.allowed_regions or ())}): its data must stay in those regions"
        )
    return regions


class _RegionCheck(_Model):
    region: Region
