"""DynamoDB tables, built from the application's own key schemas (kyc_match.tables)."""

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

import infra  # noqa: F401 - puts functions/ on sys.path for the application package
from constructs import Construct
from kyc_match.tables import ALL_TABLES, TableSchema

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


class Storage(Construct):
    """One table per kyc_match.tables schema: on-demand, PITR, CMK-encrypted, protected and retained."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        schemas: tuple[TableSchema, ...] = ALL_TABLES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {}
        for schema in schemas:
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
            self.tables[schema.role] = table

    def table(self, role: str) -> dynamodb.Table:
        return self.tables[role]


def _construct_id(role: str) -> str:
    return "".join(part.capitalize() for part in role.split("-")) + "Table"
