"""DynamoDB tables, built from the application's own key schemas (kyc_match.tables)."""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

import infra  # noqa: F401 - puts functions/ on sys.path for the application package
from constructs import Construct
from infra.nag import logical_id
from kyc_match.tables import ALL_TABLES, AUDIT, DECISION_READ, TableSchema

# The audit table is written on every request and read rarely (audits, exports), and holds
# years of entries: storage dominates its cost after a few months, so Standard-IA (storage 60 % cheaper,
# requests 25 % dearer) is the cheaper class. Arithmetic in docs/deploy.md (Cost).
TABLE_CLASSES = {"audit": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS}

# DynamoDB's key actions for reading and for writing items of a CMK-encrypted table, as CDK's own
# grant_read_data / grant_write_data pair them with table actions.
TABLE_KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KEY_WRITE_ACTIONS = ("kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")

# What a role that adds items to an append-only table (the audit trail, policy items) must never do:
# change or remove an item, or the table itself (its stream, TTL attribute or contents wholesale: an
# UpdateTimeToLive onto another attribute would pass mass deletion off as expiry). Denied outright, so
# no later grant reopens them.
NEVER_ON_APPEND_ONLY = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:ImportTable",
)


_AUDIT_KEYS = (AUDIT.partition_key, AUDIT.sort_key or "entryKey")


def decision_read_statement(table_arn: str) -> iam.PolicyStatement:
    """GetItem on the audit table returning only a decision's key, its decision and its number's keyed
    hash (#26 item 7): a request must name its attributes (Null: false), all of them from this list; a
    read of a whole entry, or of any other attribute, is refused by IAM."""
    return iam.PolicyStatement(
        actions=["dynamodb:GetItem"],
        resources=[table_arn],
        conditions={
            "ForAllValues:StringEquals": {"dynamodb:Attributes": [*_AUDIT_KEYS, *DECISION_READ]},
            "Null": {"dynamodb:Attributes": "false"},
            "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
        },
    )


def grant_append_only(
    role: iam.IRole,
    table: dynamodb.Table,
    *,
    reads: Sequence[str] = (),
    put_conditions: Mapping[str, Any] | None = None,
) -> None:
    """`role` may PutItem (and `reads`) on the table's ARN alone, and nothing that changes or deletes.

    IAM has no condition key on a put's ConditionExpression: the callers' puts are conditional on the
    item not existing, but an unconditional PutItem by this role could still replace an item. For the
    audit table that leaves a MODIFY in its stream, which the witness records and alarms on.
    """
    arn = table.table_arn
    if reads:
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(reads), resources=[arn]))
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["dynamodb:PutItem"], resources=[arn], conditions=dict(put_conditions or {}) or None
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(effect=iam.Effect.DENY, actions=list(NEVER_ON_APPEND_ONLY), resources=[arn])
    )
    table.grant_on_key(role, *TABLE_KEY_READ_ACTIONS, *TABLE_KEY_WRITE_ACTIONS)


def _string_key(name: str) -> dynamodb.Attribute:
    # Every key attribute of the service's tables is a string (see kyc_match.tables).
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _optional_key(name: str | None) -> dynamodb.Attribute | None:
    return _string_key(name) if name else None


# The configuration the function reads (clients, policies, ported numbers): one copy per stage, written
# once and read in every region, where the stage says so (#25 item 3). The rest stays per region: the
# audit trail is each region's own record (its witness is replicated instead), subscribers are the
# sandbox operator's test data, pending authorizations belong to the region that started them.
GLOBAL_ROLES = ("configuration", "ported-numbers")


def global_table_name(stage: str, role: str) -> str:
    """A global table's fixed name: the replicas' regions read the primary's table by it."""
    return f"kyc-match-{stage}-{role}"


class Storage(Construct):
    """One table per kyc_match.tables schema: on-demand, PITR, CMK-encrypted, protected and retained.

    `role` (StageConfig.configuration_role): "regional" makes every table here; "primary" makes the
    GLOBAL_ROLES tables as DynamoDB global tables (AWS::DynamoDB::GlobalTable, fixed names) with a
    replica in each of `replica_regions`, encrypted there with that region's data key (by its alias:
    its id is only known in that region's stack); "replica" makes none of them and reads the replica by
    name, encrypted with this region's data key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        stage: str = "",
        role: Literal["regional", "primary", "replica"] = "regional",
        replica_regions: tuple[str, ...] = (),
        data_key_alias: str = "",
        schemas: tuple[TableSchema, ...] = ALL_TABLES,
    ) -> None:
        super().__init__(scope, construct_id)
        # Typed as Table for the constructs that take tables: a global table (TableV2) or its replica
        # read by name offers each grant they use (grant_*_data, grant_on_key, table_arn, table_name).
        self.tables: dict[str, dynamodb.Table] = {}
        for schema in schemas:
            if role == "regional" or schema.role not in GLOBAL_ROLES:
                self.tables[schema.role] = self._regional(schema, encryption_key)
            elif role == "primary":
                table = self._global(schema, encryption_key, stage, replica_regions, data_key_alias)
                self.tables[schema.role] = cast(dynamodb.Table, table)
            else:
                replica = dynamodb.TableV2.from_table_attributes(
                    self,
                    _construct_id(schema.role) + "Replica",
                    table_name=global_table_name(stage, schema.role),
                    encryption_key=encryption_key,
                )
                self.tables[schema.role] = cast(dynamodb.Table, replica)

    def _regional(self, schema: TableSchema, encryption_key: kms.IKey) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            _construct_id(schema.role),
            partition_key=_string_key(schema.partition_key),
            sort_key=_optional_key(schema.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            table_class=TABLE_CLASSES.get(schema.role, dynamodb.TableClass.STANDARD),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=encryption_key,
            time_to_live_attribute=schema.ttl_attribute,
            # The audit table's stream feeds the witness (#13): what the schema says, nothing else.
            stream=dynamodb.StreamViewType(schema.stream_view_type) if schema.stream_view_type else None,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string_key(index.partition_key),
                sort_key=_optional_key(index.sort_key),
                projection_type=(
                    dynamodb.ProjectionType.KEYS_ONLY if index.keys_only else dynamodb.ProjectionType.ALL
                ),
            )
        return table

    def _global(
        self,
        schema: TableSchema,
        encryption_key: kms.IKey,
        stage: str,
        replica_regions: tuple[str, ...],
        data_key_alias: str,
    ) -> dynamodb.TableV2:
        assert not schema.indexes and not schema.stream_view_type  # none of GLOBAL_ROLES has them
        stack = Stack.of(self)
        replica_keys = {
            region: f"arn:{stack.partition}:kms:{region}:{stack.account}:{data_key_alias}"
            for region in replica_regions
        }
        # A new logical id: CloudFormation cannot turn an AWS::DynamoDB::Table into a global table in
        # place; the regional table it replaces is retained (docs/deploy.md: moving its items over).
        return dynamodb.TableV2(
            self,
            _construct_id(schema.role).removesuffix("Table") + "GlobalTable",
            table_name=global_table_name(stage, schema.role),
            partition_key=_string_key(schema.partition_key),
            sort_key=_optional_key(schema.sort_key),
            billing=dynamodb.Billing.on_demand(),
            table_class=TABLE_CLASSES.get(schema.role, dynamodb.TableClass.STANDARD),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(encryption_key, replica_keys or None),
            time_to_live_attribute=schema.ttl_attribute,
            replicas=[dynamodb.ReplicaTableProps(region=region) for region in replica_regions] or None,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def table(self, role: str) -> dynamodb.Table:
        return self.tables[role]


def nag_arn(table: dynamodb.ITable) -> str:
    """The table's ARN as cdk-nag writes it in a finding id: `<LogicalId.Arn>` for a table of this stack,
    the ARN itself (partition and account as `<AWS::…>`) for a global table's replica read by name."""
    if table.node.default_child is not None:
        return f"<{logical_id(table)}.Arn>"
    stack = Stack.of(table)
    arn = stack.format_arn(service="dynamodb", resource="table", resource_name=table.table_name)
    if Token.is_unresolved(stack.partition):
        arn = arn.replace(stack.partition, "<AWS::Partition>")
    return arn.replace(stack.account, "<AWS::AccountId>") if Token.is_unresolved(stack.account) else arn


def _construct_id(role: str) -> str:
    return "".join(part.capitalize() for part in role.split("-")) + "Table"
