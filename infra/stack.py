"""One stack per region and stage: wires the capability constructs together, nothing more."""

from typing import Any

from aws_cdk import Environment, Stack, Tags

from constructs import Construct
from infra.bundling import code_asset
from infra.config import StageConfig
from infra.constructs.access import PeopleAccess
from infra.constructs.api import Api
from infra.constructs.audit import AuditStore
from infra.constructs.deployment import CanaryDeployment
from infra.constructs.front_door import FrontDoor
from infra.constructs.function import FunctionBase, MatchFunction, settings_environment
from infra.constructs.jobs import DRAIN_TIMEOUT, DigestFunction, DrainFunction
from infra.constructs.keys import Keys
from infra.constructs.monitoring import Monitoring
from infra.constructs.network import EgressNetwork
from infra.constructs.resilience import TableBackups
from infra.constructs.storage import Storage


class KycMatchStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("service", "kyc-match")
        Tags.of(self).add("stage", config.stage)

        self.keys = Keys(self, "Keys", stage=config.stage)
        self.storage = Storage(self, "Storage", encryption_key=self.keys.data_key)
        tables = self.storage.tables
        self.audit = AuditStore(
            self, "Audit", config=config, encryption_key=self.keys.data_key, drain_timeout=DRAIN_TIMEOUT
        )
        # A stage with a vpc: every function in private subnets, egress through NAT gateways with fixed IPs.
        self.network = (
            EgressNetwork(self, "Network", config=config, log_key=self.keys.data_key)
            if config.vpc is not None
            else None
        )
        base = FunctionBase(
            config=config,
            code=code_asset(),
            environment=settings_environment(
                config,
                tables=tables,
                keys=self.keys,
                fallback_queue=self.audit.fallback_queue,
                digest_bucket=self.audit.digest_bucket,
            ),
            log_key=self.keys.data_key,
            network=self.network,
        )
        self.match_function = MatchFunction(
            self,
            "Match",
            base=base,
            tables=tables,
            keys=self.keys,
            fallback_queue=self.audit.fallback_queue,
        )
        self.drain_function = DrainFunction(
            self,
            "Drain",
            base=base,
            audit_table=tables["audit"],
            fallback_queue=self.audit.fallback_queue,
        )
        self.digest_function = DigestFunction(
            self,
            "Digest",
            base=base,
            audit_table=tables["audit"],
            digest_bucket=self.audit.digest_bucket,
            digest_key_pattern=self.audit.digest_key_pattern,
            keys=self.keys,
        )
        self.people = PeopleAccess(
            self,
            "People",
            stage=config.stage,
            tables=tables,
            keys=self.keys,
            digest_bucket=self.audit.digest_bucket,
        )
        self.api = Api(
            self, "Api", config=config, handler=self.match_function.alias, log_key=self.keys.data_key
        )
        if config.domain is not None:
            self.front_door = FrontDoor(
                self,
                "FrontDoor",
                domain=config.domain,
                region=self.region,
                rest_api=self.api.rest_api,
                handler=self.match_function.alias,  # the probe proves the version that serves
            )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            stage=self.api.rest_api.deployment_stage,
            function=self.match_function.function,
            drain_function=self.drain_function.function,
            digest_function=self.digest_function.function,
            fallback_queue=self.audit.fallback_queue,
            dead_letter_queue=self.audit.dead_letter_queue,
            topic_key=self.keys.data_key,
            watched_keys=[self.keys.data_key, self.keys.hmac_key, self.keys.signing_key],
        )
        self.deployment = CanaryDeployment(
            self,
            "Deployment",
            config=config,
            alias=self.match_function.alias,
            monitoring=self.monitoring,
        )
        if config.backup is not None:
            self.backups = TableBackups(
                self,
                "Backups",
                config=config,
                region=self.region,
                tables=tables,
                encryption_key=self.keys.data_key,
            )


def stack_name(stage: str, region: str) -> str:
    return f"KycMatch-{stage}-{region}"


def service_stack(scope: Construct, config: StageConfig, region: str, account: str | None) -> KycMatchStack:
    """The stack of one stage in one region: the same for `cdk deploy` and inside the pipeline."""
    name = stack_name(config.stage, region)
    return KycMatchStack(
        scope,
        name,
        config=config,
        stack_name=name,  # in a pipeline Stage too: the pipeline updates the stack `cdk deploy` made
        env=Environment(account=account, region=region),
        description=f"CAMARA KYC Match v0.4 aggregator, stage {config.stage}, {region}",
        # A production stack holds the regulated records: `cdk destroy` or a console click must
        # not delete it (its tables and vault are retained anyway; the API and alarms are not).
        termination_protection=config.stage == "production",
    )
