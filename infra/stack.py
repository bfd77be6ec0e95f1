"""One stack per region and stage: wires the capability constructs together, nothing more. Where the
stage replicates the audit witness, a small stack in the replica region holds the replica."""

from typing import Any

from aws_cdk import Environment, Stack, Tags

from constructs import Construct
from infra.bundling import code_asset
from infra.config import StageConfig
from infra.constructs.access import PeopleAccess
from infra.constructs.alerting import ROUTE53_METRICS_REGION, FrontDoorHealthAlarm
from infra.constructs.api import Api
from infra.constructs.audit import AuditStore, WitnessReplica
from infra.constructs.deployment import CanaryDeployment
from infra.constructs.front_door import FrontDoor
from infra.constructs.function import FunctionBase, MatchFunction, settings_environment
from infra.constructs.jobs import DRAIN_TIMEOUT, DrainFunction, WitnessSealerFunction
from infra.constructs.keys import Keys
from infra.constructs.monitoring import Monitoring
from infra.constructs.network import EgressNetwork
from infra.constructs.policy_admin import PolicyAdminFunction
from infra.constructs.pre_traffic import PreTrafficHook
from infra.constructs.resilience import TableBackups
from infra.constructs.storage import Storage


def _tag(stack: Stack, config: StageConfig) -> None:
    Tags.of(stack).add("service", "kyc-match")
    Tags.of(stack).add("stage", config.stage)


class KycMatchStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        witness_replica_region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        _tag(self, config)

        self.keys = Keys(self, "Keys", config=config)
        # Clients, policies and ported numbers: one copy for the stage where it spans regions (#25).
        self.storage = Storage(
            self,
            "Storage",
            encryption_key=self.keys.data_key,
            stage=config.stage,
            role=self.keys.role,
            replica_regions=config.configuration_replica_regions(self.region),
            data_key_alias=self.keys.data_key_alias,
        )
        tables = self.storage.tables
        self.audit = AuditStore(
            self,
            "Audit",
            config=config,
            encryption_key=self.keys.data_key,
            drain_timeout=DRAIN_TIMEOUT,
            replica_region=witness_replica_region,
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
                witness_bucket=self.audit.witness_bucket,
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
        self.sealer = WitnessSealerFunction(
            self,
            "Witness",
            base=base,
            audit_table=tables["audit"],
            witness_bucket=self.audit.witness_bucket,
            witness_prefix=self.audit.witness_prefix,
            failure_queue=self.audit.witness_failure_queue,
            keys=self.keys,
        )
        self.people = PeopleAccess(
            self,
            "People",
            stage=config.stage,
            tables=tables,
            keys=self.keys,
            witness_bucket=self.audit.witness_bucket,
            previous_witness_key_ids=config.previous_key_ids("witness", self.region),
            previous_policy_seal_key_ids=config.previous_key_ids("policy_seal", self.region),
        )
        # The only principal that seals and adds policy items; operations call its URL (#23).
        self.policy_admin = PolicyAdminFunction(
            self,
            "PolicyAdmin",
            base=base,
            configuration_table=tables["configuration"],
            keys=self.keys,
            operations=self.people.operations,
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
            sealer_function=self.sealer.function,
            fallback_queue=self.audit.fallback_queue,
            dead_letter_queue=self.audit.dead_letter_queue,
            witness_failure_queue=self.audit.witness_failure_queue,
            topic_key=self.keys.data_key,
            watched_keys=[
                self.keys.data_key,
                self.keys.hmac_key,
                self.keys.signing_key,
                self.keys.witness_key,
                self.keys.policy_seal_key,
            ],
            replication=self.audit.replication_watch,
            tables=tables,
            vpc=self.network.vpc if self.network is not None else None,
            probe_alarm=self.front_door.unhealthy if config.domain is not None else None,
        )
        self.deployment = CanaryDeployment(
            self,
            "Deployment",
            config=config,
            alias=self.match_function.alias,
            monitoring=self.monitoring,
            pre_traffic_hook=PreTrafficHook(
                self, "PreTraffic", base=base, match_function=self.match_function.function
            ).function,
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


def replica_stack_name(stage: str, source_region: str) -> str:
    """The stack (in the replica region) holding `source_region`'s witness replica."""
    return f"KycMatch-{stage}-{source_region}-witness-replica"


class WitnessReplicaStack(Stack):
    """In the replica region: the Object Lock bucket (and its key) that one source region's witness
    bucket replicates into. Deployed before that region's KycMatchStack (a stack dependency)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, source_region: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        _tag(self, config)
        self.replica = WitnessReplica(self, "WitnessReplica", config=config, source_region=source_region)


def health_stack_name(stage: str) -> str:
    """The stack (in us-east-1, where Route 53 publishes its metrics) of the front door's health alarm."""
    return f"KycMatch-{stage}-front-door-health"


class FrontDoorHealthStack(Stack):
    """In us-east-1: the alarm on the front door's Route 53 health checks and its own topic (#25 item 4).
    No data of the service: a key, a topic, its subscriptions and one alarm."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        _tag(self, config)
        self.health = FrontDoorHealthAlarm(self, "FrontDoorHealth", config=config)


def service_stack(scope: Construct, config: StageConfig, region: str, account: str | None) -> KycMatchStack:
    """The stack of one stage in one region, and its witness replica's stack where the stage replicates:
    the same for `cdk deploy` and inside the pipeline."""
    name = stack_name(config.stage, region)
    # A production stack holds the regulated records: `cdk destroy` or a console click must not delete
    # it (its tables, vault and buckets are retained anyway; the API and alarms are not).
    protected = config.stage == "production"
    replica_region = config.witness_replica_region(region)
    stack = KycMatchStack(
        scope,
        name,
        config=config,
        witness_replica_region=replica_region,
        stack_name=name,  # in a pipeline Stage too: the pipeline updates the stack `cdk deploy` made
        env=Environment(account=account, region=region),
        description=f"CAMARA KYC Match v0.4 aggregator, stage {config.stage}, {region}",
        termination_protection=protected,
    )
    if replica_region is not None:
        replica_name = replica_stack_name(config.stage, region)
        replica = WitnessReplicaStack(
            scope,
            replica_name,
            config=config,
            source_region=region,
            stack_name=replica_name,
            env=Environment(account=account, region=replica_region),
            description=f"kyc-match {config.stage}: replica of the {region} audit witness",
            termination_protection=protected,
        )
        stack.add_stack_dependency(replica, "replication needs the replica bucket and key to exist")
    if config.domain is not None and region == config.regions[0]:
        # One per stage, deployed with its first region: the alarm watches every region's check.
        health_name = health_stack_name(config.stage)
        health = FrontDoorHealthStack(
            scope,
            health_name,
            config=config,
            stack_name=health_name,
            env=Environment(account=account, region=ROUTE53_METRICS_REGION),
            description=f"kyc-match {config.stage}: the front door's Route 53 health check alarm",
            termination_protection=protected,
        )
        health.add_stack_dependency(stack, "the health checks exist before their alarm")
    return stack
