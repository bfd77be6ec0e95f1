"""Key schemas of the service's DynamoDB tables: the one definition shared by code, infra and tests.

The CDK storage construct builds its tables from these, and the local tooling (moto) creates its
tables from the synthesized template, so the code, the stack and the tests cannot drift apart.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexSchema:
    name: str
    partition_key: str
    sort_key: str | None = None
    keys_only: bool = False  # project only the keys (an index used to find partitions, not to read)


@dataclass(frozen=True)
class TableSchema:
    role: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[IndexSchema, ...] = ()
    ttl_attribute: str | None = None
    # DynamoDB Streams view, if the table has a stream (the audit table's feeds the witness, #13).
    stream_view_type: str | None = None


AUDIT = TableSchema(
    role="audit",
    partition_key="clientDay",  # "<client id>#<YYYY-MM-DD>": one day of one client's entries
    sort_key="entryKey",  # "<ISO timestamp>#<request id>"
    indexes=(
        # Keys only (#17 item 8): an index of whole items doubled the largest table's write and storage
        # cost; `audit find` reads the keys here, then the entries from the table.
        IndexSchema(name="byPhoneHash", partition_key="phoneHash", sort_key="entryKey", keys_only=True),
        # Which clients have entries on a day: the daily digest job and exports start here.
        IndexSchema(name="byDay", partition_key="day", sort_key="entryKey", keys_only=True),
    ),
    ttl_attribute="expiresAt",
    stream_view_type="NEW_AND_OLD_IMAGES",  # the witness records inserts, and old images of changes
)
# What the API function may read back of an audit entry (#26 item 7): a decision, before its final outcome
# is filed beside it, and its number's keyed hash; its IAM statement allows these names only.
DECISION_READ = ("decision", "phoneHash", "hashKeyId")
SUBSCRIBERS = TableSchema(role="subscribers", partition_key="phoneNumber")
PORTED_NUMBERS = TableSchema(role="ported-numbers", partition_key="numberHash")
CONFIGURATION = TableSchema(role="configuration", partition_key="pk", sort_key="sk")
# CIBA authorizations a retry may continue (issue #12): keyed by hash, gone once their auth_req_id expires.
PENDING_AUTHORIZATIONS = TableSchema(
    role="pending-authorizations", partition_key="pk", ttl_attribute="expiresAt"
)

ALL_TABLES = (AUDIT, SUBSCRIBERS, PORTED_NUMBERS, CONFIGURATION, PENDING_AUTHORIZATIONS)
