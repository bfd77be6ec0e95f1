"""The audit witness's infrastructure (#13, #17 item 5): the audit table's stream feeds a sealer that
alone signs, the writers cannot rewrite, the witness is alarmed and replicated to another region."""

from typing import Any

import pytest
from cdk_support import (
    DRAIN_HANDLER,
    MATCH_HANDLER,
    WITNESS_HANDLER,
    actions_on,
    allows,
    arn_of,
    as_list,
    dumps,
    function_with_handler,
    key_with_alias,
    resources_of,
    role_of,
    role_statements,
    synthesize,
    without_aws_credentials,
)
from infra.app import replica_stack_name, stack_name
from infra.config import StageConfigError
from infra.constructs.audit import REPLICATION_RULE_ID, WITNESS_PREFIX, replica_bucket_name
from infra.constructs.jobs import WITNESS_BATCH_WINDOW
from infra.constructs.storage import NEVER_ON_APPEND_ONLY

from kyc_match import tables as schema

CHANGES = ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def _audit_table(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, table)
        for logical_id, table in resources_of(template, "AWS::DynamoDB::Table").items()
        if table["Properties"]["KeySchema"][0]["AttributeName"] == schema.AUDIT.partition_key
    ]
    return found


def _witness_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, bucket)
        for logical_id, bucket in resources_of(template, "AWS::S3::Bucket").items()
        if bucket["Properties"].get("ObjectLockEnabled")
    ]
    return found


def _sealer_mapping(template: dict[str, Any]) -> dict[str, Any]:
    sealer_id, _ = function_with_handler(template, WITNESS_HANDLER)
    (mapping,) = [
        m["Properties"]
        for m in resources_of(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": sealer_id}
    ]
    return mapping


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
    }


# --- Stream and sealer ------------------------------------------------------------------------------


def test_the_audit_table_streams_new_and_old_images_as_the_schema_says(sandbox_template_dict):
    _, table = _audit_table(sandbox_template_dict)
    assert schema.AUDIT.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": schema.AUDIT.stream_view_type}
    others = [
        t for t in resources_of(sandbox_template_dict, "AWS::DynamoDB::Table").values() if t is not table
    ]
    assert others and all("StreamSpecification" not in t["Properties"] for t in others)


def test_the_sealer_reads_the_stream_in_order_with_bounded_retries_and_an_alarmed_destination(
    sandbox_template_dict,
):
    table_id, _ = _audit_table(sandbox_template_dict)
    mapping = _sealer_mapping(sandbox_template_dict)
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["ParallelizationFactor"] == 1
    window = mapping["MaximumBatchingWindowInSeconds"]
    assert window == WITNESS_BATCH_WINDOW.to_seconds() and 0 < window <= 300  # "every few minutes"
    assert 0 < mapping["MaximumRetryAttempts"] <= 100  # bounded (the default, -1, retries for 24 hours)
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] < 24 * 3600  # within the stream's retention
    queue_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    queue = sandbox_template_dict["Resources"][queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    data_key, _ = key_with_alias(sandbox_template_dict, "data")
    assert queue["Properties"]["KmsMasterKeyId"] == arn_of(data_key)
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-witness-failures"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_the_sealer_has_reserved_concurrency(sandbox_template_dict):
    _, sealer = function_with_handler(sandbox_template_dict, WITNESS_HANDLER)
    assert sealer["Properties"]["ReservedConcurrentExecutions"] >= 1
    # Settings: the witness key, and the bucket, as every function gets them.
    env = sealer["Properties"]["Environment"]["Variables"]
    witness_key, _ = key_with_alias(sandbox_template_dict, "witness")
    assert env["KYC_WITNESS_KEY_ID"] == arn_of(witness_key)
    assert env["KYC_AUDIT_WITNESS_BUCKET"] == {"Ref": _witness_bucket(sandbox_template_dict)[0]}


def test_the_sealer_role_reads_the_stream_writes_the_witness_prefix_and_signs_with_the_witness_key(
    sandbox_template_dict,
):
    statements = role_statements(sandbox_template_dict, role_of(sandbox_template_dict, WITNESS_HANDLER))
    table_id, _ = _audit_table(sandbox_template_dict)
    bucket_id, _ = _witness_bucket(sandbox_template_dict)
    witness_key, _ = key_with_alias(sandbox_template_dict, "witness")
    stream = {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"} <= actions_on(
        statements, stream
    )
    assert actions_on(statements, arn_of(table_id)) == set()  # the stream, never the table
    objects = {"Fn::Join": ["", [arn_of(bucket_id), f"/{WITNESS_PREFIX}*"]]}
    # No s3:PutObjectRetention (#23): each object is locked by the bucket's default retention.
    assert actions_on(statements, objects) == {"s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"}
    (listing,) = [s for s in statements if arn_of(bucket_id) in as_list(s["Resource"])]
    assert set(listing["Action"]) == {"s3:ListBucket", "s3:ListBucketVersions"}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{WITNESS_PREFIX}*"]}}
    assert actions_on(statements, arn_of(witness_key)) == {"kms:Sign", "kms:GetPublicKey"}
    # No other bucket, no other object key, no delete, no legal hold, no governance bypass.
    s3_actions = {a for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")}
    assert s3_actions == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "s3:ListBucketVersions",
    }


# --- Keys ---------------------------------------------------------------------------------------------


def _key_policy_uses(template: dict[str, Any], alias_suffix: str) -> dict[str, set[str]]:
    """Usage action -> roles (logical ids) the key policy names; the account root only administers."""
    _, key = key_with_alias(template, alias_suffix)
    uses: dict[str, set[str]] = {}
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not any(a in ("kms:*", "*") for a in as_list(statement["Action"]))
        principals = as_list(statement["Principal"]["AWS"])
        if statement.get("Sid") == "AccountAdministersButDoesNotUseTheKey":
            assert not {"kms:Sign", "kms:GenerateMac", "kms:VerifyMac", "kms:Verify"} & set(
                as_list(statement["Action"])
            )
            continue
        (action,) = as_list(statement["Action"])
        uses[action] = {p["Fn::GetAtt"][0] for p in principals}
    return uses


def _roles(template: dict[str, Any]) -> dict[str, str]:
    people = {
        name: logical_id
        for logical_id in resources_of(template, "AWS::IAM::Role")
        for name in ("Auditor", "Operations")
        if logical_id.startswith(f"People{name}")
    }
    functions = {
        name: role_of(template, handler)
        for name, handler in (
            ("match", MATCH_HANDLER),
            ("sealer", WITNESS_HANDLER),
            ("drain", DRAIN_HANDLER),
            ("policy admin", "kyc_match.jobs.policy_admin.lambda_handler"),
        )
    }
    return people | functions


def test_each_key_is_used_by_the_roles_its_job_needs_and_no_other(sandbox_template_dict):
    roles = _roles(sandbox_template_dict)
    expected = {
        "witness": {
            "kms:Sign": {roles["sealer"]},
            "kms:GetPublicKey": {roles["sealer"], roles["Auditor"]},
            "kms:Verify": {roles["Auditor"]},
        },
        "identifiers": {"kms:GenerateMac": {roles["match"], roles["Auditor"], roles["Operations"]}},
        "policy-seal": {
            # Sealing is the policy-admin function's alone, no person's (#23 item 6).
            "kms:GenerateMac": {roles["policy admin"]},
            "kms:VerifyMac": {roles["match"], roles["Auditor"], roles["Operations"], roles["policy admin"]},
        },
        "signing": {"kms:Sign": {roles["match"]}},
    }
    for alias_suffix, uses in expected.items():
        assert _key_policy_uses(sandbox_template_dict, alias_suffix) == uses, alias_suffix
    witness, _ = key_with_alias(sandbox_template_dict, "witness")
    assert sandbox_template_dict["Resources"][witness]["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert sandbox_template_dict["Resources"][witness]["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    seal, _ = key_with_alias(sandbox_template_dict, "policy-seal")
    assert sandbox_template_dict["Resources"][seal]["Properties"]["KeySpec"] == "HMAC_256"


def test_no_role_but_the_sealer_may_sign_with_the_witness_key_or_seal_with_the_identifier_key(
    sandbox_template_dict,
):
    """The attacks of #13: the roles `audit find` and ported numbers need may hash, never seal; only the
    sealer's identity policy allows kms:Sign on the witness key."""
    witness, _ = key_with_alias(sandbox_template_dict, "witness")
    roles = _roles(sandbox_template_dict)
    for name, role in roles.items():
        statements = role_statements(sandbox_template_dict, role)
        assert allows(statements, "kms:Sign", arn_of(witness)) == (name == "sealer"), name
    seal, _ = key_with_alias(sandbox_template_dict, "policy-seal")
    for name in ("Auditor", "match", "sealer", "drain"):
        assert not allows(
            role_statements(sandbox_template_dict, roles[name]), "kms:GenerateMac", arn_of(seal)
        )


def test_functions_and_outputs_name_the_witness_and_policy_seal_keys(sandbox_template_dict):
    witness, _ = key_with_alias(sandbox_template_dict, "witness")
    seal, _ = key_with_alias(sandbox_template_dict, "policy-seal")
    _, match = function_with_handler(sandbox_template_dict, MATCH_HANDLER)
    assert match["Properties"]["Environment"]["Variables"]["KYC_POLICY_SEAL_KEY_ID"] == arn_of(seal)
    outputs = {dumps(o["Value"]) for o in sandbox_template_dict["Outputs"].values()}
    assert dumps(arn_of(witness)) in outputs
    assert dumps({"Ref": _witness_bucket(sandbox_template_dict)[0]}) in outputs


# --- The writers cannot rewrite -------------------------------------------------------------------------


@pytest.mark.parametrize("handler", [MATCH_HANDLER, DRAIN_HANDLER])
def test_the_writers_may_add_audit_entries_and_are_refused_any_change(sandbox_template_dict, handler):
    """Evaluated as IAM would: an explicit Deny on changes and deletions, whatever else is granted."""
    table_id, _ = _audit_table(sandbox_template_dict)
    statements = role_statements(sandbox_template_dict, role_of(sandbox_template_dict, handler))
    table = arn_of(table_id)
    assert allows(statements, "dynamodb:PutItem", table)
    for action in (*CHANGES, "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:UpdateTimeToLive"):
        assert not allows(statements, action, table), action
    denied = {
        a
        for s in statements
        if s["Effect"] == "Deny" and table in as_list(s["Resource"])
        for a in as_list(s["Action"])
    }
    assert set(NEVER_ON_APPEND_ONLY) <= denied
    assert not [s for s in statements if s["Effect"] == "Deny" and "Condition" in s]  # unconditional
    # The match function reads back only a decision's key, decision and number hash (its final outcome,
    # #26 item 7: the condition is checked in test_stack.py); the drain reads the entry it conflicted with.
    allowed = actions_on(statements, table)
    # (DescribeTable: the match function's GET /health, table metadata.)
    assert allowed == (
        {"dynamodb:PutItem", "dynamodb:DescribeTable", "dynamodb:GetItem"}
        if handler == MATCH_HANDLER
        else {"dynamodb:PutItem", "dynamodb:GetItem"}
    )


def test_the_evaluation_would_see_a_grant_of_updateitem(sandbox_template_dict):
    """Negative control of the evaluator: without the Deny, the old grant (grant_read_write_data) allowed
    UpdateItem; with a Deny added, the same grant is refused."""
    table = arn_of(_audit_table(sandbox_template_dict)[0])
    granted = [
        {"Effect": "Allow", "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem"], "Resource": [table]}
    ]
    assert allows(granted, "dynamodb:UpdateItem", table)
    assert not allows(
        [*granted, {"Effect": "Deny", "Action": "dynamodb:*", "Resource": table}],
        "dynamodb:UpdateItem",
        table,
    )
    # A conditional Deny is not counted as a refusal (it may not apply).
    conditional = {
        "Effect": "Deny",
        "Action": "dynamodb:UpdateItem",
        "Resource": table,
        "Condition": {"x": {}},
    }
    assert allows([*granted, conditional], "dynamodb:UpdateItem", table)


def test_the_auditor_reads_every_version_of_every_witness_object_and_writes_nothing(sandbox_template_dict):
    bucket_id, _ = _witness_bucket(sandbox_template_dict)
    statements = role_statements(sandbox_template_dict, _roles(sandbox_template_dict)["Auditor"])
    assert actions_on(statements, arn_of(bucket_id)) == {"s3:ListBucket", "s3:ListBucketVersions"}
    objects = {"Fn::Join": ["", [arn_of(bucket_id), "/*"]]}
    assert actions_on(statements, objects) == {"s3:GetObject", "s3:GetObjectVersion"}


def test_the_daily_digest_is_gone(sandbox_template_dict):
    handlers = {
        f["Properties"]["Handler"]
        for f in resources_of(sandbox_template_dict, "AWS::Lambda::Function").values()
    }
    assert not [h for h in handlers if "digest" in h]
    assert not [
        r
        for r in resources_of(sandbox_template_dict, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert not [name for name in _alarms(sandbox_template_dict) if "digest" in name]


# --- Alarms ------------------------------------------------------------------------------------------


def test_tampering_fires_on_one_modified_or_deleted_entry(sandbox_template_dict):
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-audit-tampering"]
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"
    metrics = {q["Id"]: q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q}
    assert {m["MetricName"] for m in metrics.values()} == {"AuditEntryChanged"}
    assert {m["Namespace"] for m in metrics.values()} == {"KycMatch"}
    changes = sorted(
        next(d["Value"] for d in m["Dimensions"] if d["Name"] == "change") for m in metrics.values()
    )
    assert changes == ["deleted", "modified"]  # expiry (TTL) is no change
    assert all({"Name": "service", "Value": "kyc-match"} in m["Dimensions"] for m in metrics.values())
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    assert all(name in expression for name in metrics)


def test_witness_gap_errors_and_lag_are_alarmed(sandbox_template_dict):
    alarms = _alarms(sandbox_template_dict)
    gap = alarms["kyc-match-sandbox-witness-gap"]
    assert (gap["Namespace"], gap["MetricName"], gap["Threshold"]) == ("KycMatch", "WitnessChainBroken", 1)
    assert {"Name": "service", "Value": "kyc-match"} in gap["Dimensions"]
    sealer_id, _ = function_with_handler(sandbox_template_dict, WITNESS_HANDLER)
    errors = alarms["kyc-match-sandbox-witness-errors"]
    assert (errors["MetricName"], errors["Dimensions"]) == (
        "Errors",
        [{"Name": "FunctionName", "Value": {"Ref": sealer_id}}],
    )
    lag = alarms["kyc-match-sandbox-witness-lagging"]
    assert (lag["Namespace"], lag["MetricName"], lag["Statistic"]) == ("AWS/Lambda", "IteratorAge", "Maximum")
    assert lag["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": sealer_id}}]
    assert (lag["ComparisonOperator"], lag["Threshold"]) == ("GreaterThanThreshold", 15 * 60 * 1000)
    for alarm in (gap, errors, lag):
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)


# --- Replication ---------------------------------------------------------------------------------------


def test_production_replicates_the_witness_into_a_locked_bucket_in_another_region(production):
    main = production.template_dict(stack_name("production", "eu-central-1"))
    replica_name = replica_stack_name("production", "eu-central-1")
    (replica_stack,) = [s for s in production.assembly.stacks if s.stack_name == replica_name]
    assert replica_stack.environment.region == "eu-west-1"
    (main_stack,) = [
        s for s in production.assembly.stacks if s.stack_name == stack_name("production", "eu-central-1")
    ]
    assert replica_name in [d.id for d in main_stack.dependencies]  # the replica exists first
    replica = production.template_dict(replica_name)

    (replica_bucket,) = [
        b
        for b in resources_of(replica, "AWS::S3::Bucket").values()
        if b["Properties"].get("ObjectLockEnabled")
    ]
    props = replica_bucket["Properties"]
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1826}},
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert replica_bucket["DeletionPolicy"] == "Retain"
    expected_name = replica_bucket_name("production", "eu-central-1", "${AWS::AccountId}")
    assert props["BucketName"] == {"Fn::Join": ["", [expected_name.split("$")[0], {"Ref": "AWS::AccountId"}]]}

    _, source = _witness_bucket(main)
    config = source["Properties"]["ReplicationConfiguration"]
    (rule,) = config["Rules"]
    assert rule["Id"] == REPLICATION_RULE_ID and rule["Status"] == "Enabled"
    assert rule["DeleteMarkerReplication"] == {"Status": "Disabled"}  # deletions never travel
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    destination = rule["Destination"]
    assert destination["Bucket"] == {
        "Fn::Join": ["", ["arn:aws:s3:::" + expected_name.split("$")[0], {"Ref": "AWS::AccountId"}]]
    }
    assert "arn:aws:kms:eu-west-1:" in dumps(destination["EncryptionConfiguration"]["ReplicaKmsKeyID"])
    assert destination["ReplicationTime"]["Status"] == "Enabled"

    role_id = config["Role"]["Fn::GetAtt"][0]
    assert main["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ] == {"Service": "s3.amazonaws.com"}
    actions = {a for s in role_statements(main, role_id) for a in as_list(s["Action"])}
    assert {"s3:ReplicateObject", "s3:GetObjectVersionForReplication", "s3:GetObjectRetention"} <= actions
    assert not {a for a in actions if "Delete" in a or a.startswith("s3:Put")}
    assert "kyc-match-production-witness-replication-failed" in _alarms(main)


def test_sandbox_does_not_replicate(sandbox, sandbox_template_dict):
    _, bucket = _witness_bucket(sandbox_template_dict)
    assert "ReplicationConfiguration" not in bucket["Properties"]
    assert not [s for s in sandbox.assembly.stacks if s.stack_name.endswith("-witness-replica")]


@pytest.mark.parametrize(
    ("replicas", "message"),
    [
        ({"eu-west-1": "eu-west-1"}, r"the replica must be in another region"),
        ({"eu-west-1": "us-east-1"}, r"us-east-1 is outside allowedRegions"),
    ],
)
def test_replica_regions_are_checked(tmp_path, replicas, message):
    import json

    from infra.config import STAGES_DIR, load_stage_config

    config = json.loads((STAGES_DIR / "production.json").read_text())
    config["witnessReplication"] = {
        "replicaRegions": {**config["witnessReplication"]["replicaRegions"], **replicas}
    }
    (tmp_path / "production.json").write_text(json.dumps(config))
    with pytest.raises(StageConfigError, match=message):
        load_stage_config("production", tmp_path)


def test_a_region_without_a_replica_fails_synth(tmp_path):
    with without_aws_credentials(), pytest.raises(StageConfigError, match="no replica region for eu-west-3"):
        synthesize(tmp_path, stage="production", regions="eu-west-3")


def test_keys_that_signed_before_a_rotation_stay_readable_to_the_sealer_and_the_auditor(tmp_path):
    """previousWitnessKeyIds: the sealer verifies the chain's head and `audit verify` old objects with
    their public halves; nobody may sign with them."""
    from aws_cdk import App, Environment
    from aws_cdk.assertions import Template
    from infra.app import REQUIRED_FLAGS, feature_flags
    from infra.config import load_stage_config
    from infra.stack import KycMatchStack

    previous = "arn:aws:kms:eu-west-1:111111111111:key/0b6c2a1e-0000-4000-8000-000000000001"
    config = load_stage_config("sandbox").model_copy(update={"previous_witness_key_ids": (previous,)})
    with without_aws_credentials():
        context = {**feature_flags(), **REQUIRED_FLAGS, "aws:cdk:bundling-stacks": []}
        app = App(context=context, outdir=str(tmp_path))
        stack = KycMatchStack(app, "Rotated", config=config, env=Environment(region="eu-west-1"))
        template = Template.from_stack(stack).to_json()
    _, sealer = function_with_handler(template, WITNESS_HANDLER)
    assert (
        sealer["Properties"]["Environment"]["Variables"]["KYC_PREVIOUS_WITNESS_KEY_IDS"] == f'["{previous}"]'
    )
    roles = _roles(template)
    assert actions_on(role_statements(template, roles["sealer"]), previous) == {"kms:GetPublicKey"}
    assert actions_on(role_statements(template, roles["Auditor"]), previous) == {
        "kms:GetPublicKey",
        "kms:Verify",
    }
    # the match function publishes their public halves for auditors (GET /.well-known/witness-keys.json)
    assert actions_on(role_statements(template, roles["match"]), previous) == {"kms:GetPublicKey"}
    for name in ("drain", "Operations"):
        assert actions_on(role_statements(template, roles[name]), previous) == set(), name


def test_a_silent_witness_is_an_alarm(sandbox_template_dict):
    """Requests (audit entries) in two consecutive half hours without one stream record sealed: a
    disabled or deleted event source mapping leaves no iterator age to alarm on, this still fires. It
    counts sealed records (#23 item 2): invoking the sealer by hand, refused, no longer keeps it quiet."""
    alarm = _alarms(sandbox_template_dict)["kyc-match-sandbox-witness-silent"]
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    metrics = {q["Id"]: q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q}
    assert metrics["requests"]["Metric"]["MetricName"] == "MatchRequests"
    assert (metrics["sealed"]["Metric"]["Namespace"], metrics["sealed"]["Metric"]["MetricName"]) == (
        "KycMatch",
        "WitnessRecordSealed",
    )
    assert metrics["sealed"]["Metric"]["Dimensions"] == [{"Name": "service", "Value": "kyc-match"}]
    assert metrics["sealed"]["Stat"] == "Sum"
    assert {stat["Period"] for stat in metrics.values()} == {1800}
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    assert expression == "IF(FILL(requests, 0) > 0 AND FILL(sealed, 0) == 0, 1, 0)"


# --- Only the sealer writes the witness, in compliance mode, and nobody bypasses a retention (#23) --------


def _witness_bucket_policy(template: dict[str, Any]) -> list[dict[str, Any]]:
    bucket_id, _ = _witness_bucket(template)
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    return list(policy)


def _denies_put(
    statements: list[dict[str, Any]], objects: Any, context: dict[str, Any], action: str = "s3:PutObject"
) -> bool:
    """Whether a Deny of these bucket-policy statements applies to `action` on `objects` for a request
    with this context (condition key -> value; a key absent from the request is absent here). The
    operators the witness policy uses, evaluated as IAM does: a negated operator matches an absent key."""
    checks = {
        "ArnNotEquals": lambda value, wanted: value is None or value not in as_list(wanted),
        "StringNotEquals": lambda value, wanted: value is None or value not in as_list(wanted),
        "NumericLessThan": lambda value, wanted: value is not None and value < int(as_list(wanted)[0]),
        "Null": lambda value, wanted: (value is None) == (as_list(wanted)[0] == "true"),
        "Bool": lambda value, wanted: value is not None and str(value).lower() == as_list(wanted)[0],
    }
    for statement in statements:
        applies = statement["Effect"] == "Deny" and statement["Principal"] in ("*", {"AWS": "*"})
        if not applies or objects not in as_list(statement["Resource"]):
            continue
        if not {action, "s3:*"} & set(as_list(statement["Action"])):
            continue
        condition = statement.get("Condition", {})
        if all(
            checks[operator](context.get(name), wanted)
            for operator, keys in condition.items()
            for name, wanted in keys.items()
        ):
            return True
    return False


def test_only_the_sealer_may_put_witness_objects_and_only_in_compliance_mode_for_the_retention(
    production_template_dict,
):
    """Issue #23 attacks 1 and 4: anyone with S3 write put a junk object under `witness/`; a GOVERNANCE
    retention (or a short one) overrode the bucket's compliance default. The bucket policy refuses both,
    whatever the writer's identity policy says; the sealer's own put (no lock headers: the bucket's
    default retention) passes."""
    template = production_template_dict
    statements = _witness_bucket_policy(template)
    bucket_id, bucket = _witness_bucket(template)
    days = bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Days"]
    assert bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    objects = {"Fn::Join": ["", [arn_of(bucket_id), f"/{WITNESS_PREFIX}*"]]}
    sealer = arn_of(role_of(template, WITNESS_HANDLER))
    secure = {"aws:SecureTransport": "true"}
    as_sealer = {**secure, "aws:PrincipalArn": sealer}
    assert not _denies_put(statements, objects, as_sealer)  # the bucket's default retention applies
    assert not _denies_put(
        statements,
        objects,
        {**as_sealer, "s3:object-lock-mode": "COMPLIANCE", "s3:object-lock-remaining-retention-days": days},
    )
    others = [arn_of(role) for name, role in _roles(template).items() if name != "sealer"]
    for principal in [*others, "arn:aws:iam::123456789012:root"]:
        assert _denies_put(statements, objects, {**secure, "aws:PrincipalArn": principal}), principal
    governance = {
        **as_sealer,
        "s3:object-lock-mode": "GOVERNANCE",
        "s3:object-lock-remaining-retention-days": days,
    }
    assert _denies_put(statements, objects, governance)
    short = {**as_sealer, "s3:object-lock-mode": "COMPLIANCE", "s3:object-lock-remaining-retention-days": 1}
    assert _denies_put(statements, objects, short)
    assert _denies_put(
        statements, objects, {**as_sealer, "s3:object-lock-remaining-retention-days": days - 1}
    )
    # Setting or changing a retention (PutObjectRetention) is held to the same bounds, for anyone.
    for context in (governance, short):
        assert _denies_put(statements, objects, context, "s3:PutObjectRetention")


def _policy_documents(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy document the template creates: identity policies, managed policies, inline."""
    found = [
        (logical_id, resource["Properties"]["PolicyDocument"])
        for resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for logical_id, resource in resources_of(template, resource_type).items()
    ]
    found += [
        (logical_id, inline["PolicyDocument"])
        for logical_id, role in resources_of(template, "AWS::IAM::Role").items()
        for inline in role["Properties"].get("Policies", [])
    ]
    return found


def _grants(statement: dict[str, Any], action: str) -> bool:
    from fnmatch import fnmatchcase

    if statement["Effect"] != "Allow":
        return False
    if "NotAction" in statement:
        return not any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["NotAction"]))
    return any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))


def test_no_role_the_stacks_create_may_bypass_a_governance_retention(sandbox, production):
    """Issue #23 attack 4: a GOVERNANCE version can be deleted by whoever holds s3:BypassGovernanceRetention,
    leaving no delete marker. No statement of any policy of any stack grants it (a wildcard included)."""
    templates = {
        stack.stack_name: synth.template_dict(stack.stack_name)
        for synth in (sandbox, production)
        for stack in synth.assembly.stacks
    }
    checked = 0
    for name, template in templates.items():
        for logical_id, document in _policy_documents(template):
            for statement in as_list(document["Statement"]):
                checked += 1
                assert not _grants(statement, "s3:BypassGovernanceRetention"), (name, logical_id)
                assert not _grants(statement, "s3:PutObjectRetention"), (name, logical_id)
    assert checked > 50  # the scan saw the stacks' policies


def test_the_bypass_scan_would_see_a_grant():
    """Negative control: a wildcard or a NotAction that leaves the bypass in is a grant."""
    assert _grants({"Effect": "Allow", "Action": "s3:*"}, "s3:BypassGovernanceRetention")
    assert _grants({"Effect": "Allow", "Action": ["s3:Bypass*"]}, "s3:BypassGovernanceRetention")
    assert _grants({"Effect": "Allow", "NotAction": "s3:GetObject"}, "s3:BypassGovernanceRetention")
    assert not _grants({"Effect": "Deny", "Action": "s3:*"}, "s3:BypassGovernanceRetention")
    assert not _grants({"Effect": "Allow", "Action": "s3:GetObject"}, "s3:BypassGovernanceRetention")
