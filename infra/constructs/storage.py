"""DynamoDB tables, built from the application's own key schemas (kyc_match.tables)."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms

import infra  # noqa: F401 - puts functions/ on sys.path for the application package
from constructs import Construct
from kyc_match.tables import ALL_TABLES, TableSchema

# The audit table is written on every request and read rarely (audits, digests, exports), and holds
# years of entries: storage dominates its cost after a few months, so Standard-IA (storage 60 % cheaper,
# requests 25 % dearer) is the cheaper class. Arithmetic in docs/deploy.md (Cost).
TABLE_CLASSES = {"audit": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS}


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
