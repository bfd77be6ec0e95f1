"""The audit trail's resources (issues #6, #13): fallback queue + DLQ, drain and witness sealer functions,
the write-once witness bucket (the sealer's own resources: test_witness_resources.py)."""

import json
from typing import Any

import pytest
from cdk_support import (
    DRAIN_HANDLER,
    MATCH_HANDLER,
    WITNESS_HANDLER,
    actions_on,
    arn_of,
    as_list,
    dumps,
    function_with_handler,
    resources_of,
    role_of,
    role_statements,
)

from kyc_match import tables as schema

HANDLERS = (MATCH_HANDLER, DRAIN_HANDLER, WITNESS_HANDLER)
SANDBOX_AUDIT_RETENTION_DAYS = 30  # infra/stages/sandbox.json


def _data_key(template: dict[str, Any]) -> str:
    (key,) = [
        logical_id
        for logical_id, key in resources_of(template, "AWS::KMS::Key").items()
        if "KeySpec" not in key["Properties"]
    ]
    return key


def _queues(template: dict[str, Any]) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(fallback queue, dead-letter queue), each as (logical id, properties)."""
    queues = resources_of(template, "AWS::SQS::Queue")
    ((fallback_id, fallback),) = [(i, q) for i, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    dlq_id = fallback["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    # The third queue is the sealer's on-failure destination (test_witness_resources.py).
    assert len(set(queues) - {fallback_id, dlq_id}) == 1
    return (fallback_id, fallback["Properties"]), (dlq_id, queues[dlq_id]["Properties"])


def _buckets(template: dict[str, Any]) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(witness bucket, access-log bucket), each as (logical id, resource)."""
    buckets = resources_of(template, "AWS::S3::Bucket")
    ((witness_id, witness),) = [
        (i, b) for i, b in buckets.items() if b["Properties"].get("ObjectLockEnabled")
    ]
    log_id = witness["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert set(buckets) == {witness_id, log_id}
    return (witness_id, witness), (log_id, buckets[log_id])


def _enforces_ssl(template: dict[str, Any], policy_type: str, target_key: str, target: str) -> bool:
    for policy in resources_of(template, policy_type).values():
        if {"Ref": target} in as_list(policy["Properties"][target_key]):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Deny" and statement.get("Condition") == {
                    "Bool": {"aws:SecureTransport": "false"}
                }:
                    return True
    return False


# --- Fallback queue ---------------------------------------------------------------------------------


def test_fallback_queue_is_cmk_encrypted_with_a_dead_letter_queue(sandbox_template_dict):
    (fallback_id, fallback), (dlq_id, dlq) = _queues(sandbox_template_dict)
    data_key = _data_key(sandbox_template_dict)
    assert fallback["RedrivePolicy"]["maxReceiveCount"] == 5
    for queue_id, queue in ((fallback_id, fallback), (dlq_id, dlq)):
        assert queue["KmsMasterKeyId"] == arn_of(data_key)
        assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert _enforces_ssl(sandbox_template_dict, "AWS::SQS::QueuePolicy", "Queues", queue_id)
    # Lambda's guidance: visibility timeout at least six times the consumer's timeout.
    _, drain = function_with_handler(sandbox_template_dict, DRAIN_HANDLER)
    assert fallback["VisibilityTimeout"] >= 6 * drain["Properties"]["Timeout"]


def test_the_match_function_may_only_send_to_the_fallback_queue(sandbox_template_dict):
    (fallback_id, _), (dlq_id, _) = _queues(sandbox_template_dict)
    statements = role_statements(sandbox_template_dict, role_of(sandbox_template_dict, MATCH_HANDLER))
    sqs_actions = actions_on(statements, arn_of(fallback_id))
    assert "sqs:SendMessage" in sqs_actions
    assert not sqs_actions & {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"}
    assert actions_on(statements, arn_of(dlq_id)) == set()
    env = function_with_handler(sandbox_template_dict, MATCH_HANDLER)[1]["Properties"]["Environment"]
    assert env["Variables"]["KYC_AUDIT_FALLBACK_QUEUE_URL"] == {"Ref": fallback_id}


def test_no_function_reads_the_dead_letter_queue(sandbox_template_dict):
    """Entries in the DLQ wait for a person (alarmed), not for a function."""
    _, (dlq_id, _) = _queues(sandbox_template_dict)
    for handler in HANDLERS:
        statements = role_statements(sandbox_template_dict, role_of(sandbox_template_dict, handler))
        assert actions_on(statements, arn_of(dlq_id)) == set()
    sources = resources_of(sandbox_template_dict, "AWS::Lambda::EventSourceMapping").values()
    assert all(dlq_id not in dumps(source["Properties"]["EventSourceArn"]) for source in sources)


# --- Functions: one definition --------------------------------------------------------------------


def test_the_functions_share_runtime_architecture_tracing_code_and_settings(sandbox_template_dict):
    functions = [
        function_with_handler(sandbox_template_dict, handler)[1]["Properties"] for handler in HANDLERS
    ]
    assert {f["Runtime"] for f in functions} == {functions[0]["Runtime"]}
    assert all(f["Architectures"] == ["arm64"] for f in functions)
    assert all(f["TracingConfig"] == {"Mode": "Active"} for f in functions)
    assert len({dumps(f["Code"]) for f in functions}) == 1  # one asset
    match_env, drain_env, sealer_env = (f["Environment"]["Variables"] for f in functions)
    assert set(match_env) - set(drain_env) == {"KYC_OPERATORS"}  # only the match function routes
    for env in (drain_env, sealer_env):
        assert {k: v for k, v in match_env.items() if k != "KYC_OPERATORS"} == env
    # One log group and one role per function.
    assert len({dumps(f["LoggingConfig"]["LogGroup"]) for f in functions}) == 3
    assert len({dumps(f["Role"]) for f in functions}) == 3


@pytest.mark.parametrize("handler", HANDLERS)
def test_every_function_gets_the_audit_settings(sandbox_template_dict, handler):
    env = function_with_handler(sandbox_template_dict, handler)[1]["Properties"]["Environment"]["Variables"]
    (witness_id, _), _ = _buckets(sandbox_template_dict)
    (fallback_id, _), _ = _queues(sandbox_template_dict)
    assert env["KYC_AUDIT_WITNESS_BUCKET"] == {"Ref": witness_id}
    assert env["KYC_AUDIT_FALLBACK_QUEUE_URL"] == {"Ref": fallback_id}
    assert env["KYC_AUDIT_RETENTION_DAYS"] == str(SANDBOX_AUDIT_RETENTION_DAYS)
    assert json.loads(env["KYC_PREVIOUS_HASH_KEY_IDS"]) == []
    assert "KYC_AUDIT_TABLE" in env and "KYC_HASH_KEY_ID" in env
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


@pytest.mark.parametrize("handler", HANDLERS)
def test_every_handler_exists_in_the_package(handler):
    """The handler strings name real callables of the asset's package (a typo fails here, not at 2 a.m.)."""
    import importlib

    module, _, name = handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


# --- Drain ------------------------------------------------------------------------------------------


def test_drain_is_triggered_by_the_fallback_queue_with_partial_batch_failures(sandbox_template_dict):
    (fallback_id, _), _ = _queues(sandbox_template_dict)
    drain_id, _ = function_with_handler(sandbox_template_dict, DRAIN_HANDLER)
    (props,) = [
        source["Properties"]
        for source in resources_of(sandbox_template_dict, "AWS::Lambda::EventSourceMapping").values()
        if source["Properties"]["EventSourceArn"] == arn_of(fallback_id)
    ]
    assert props["FunctionName"] == {"Ref": drain_id}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] <= 10


def test_drain_may_put_and_get_audit_entries_and_consume_the_queue(sandbox_template_dict):
    statements = role_statements(sandbox_template_dict, role_of(sandbox_template_dict, DRAIN_HANDLER))
    audit_id = _audit_table(sandbox_template_dict)
    (fallback_id, _), _ = _queues(sandbox_template_dict)
    assert actions_on(statements, arn_of(audit_id)) == {"dynamodb:PutItem", "dynamodb:GetItem"}
    # (and nothing that changes or deletes: test_witness_resources.py evaluates its Deny)
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions_on(statements, arn_of(fallback_id))
    assert "sqs:SendMessage" not in actions_on(statements, arn_of(fallback_id))
    assert "index" not in dumps([s["Resource"] for s in statements])  # the drain reads no index
    _no_other_data_resources(sandbox_template_dict, statements, {audit_id, fallback_id})


# --- Witness bucket ---------------------------------------------------------------------------------


def test_witness_bucket_is_write_once_for_the_audit_retention(sandbox_template_dict):
    (witness_id, witness), _ = _buckets(sandbox_template_dict)
    props = witness["Properties"]
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": SANDBOX_AUDIT_RETENTION_DAYS}},
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": arn_of(_data_key(sandbox_template_dict)),
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert witness["DeletionPolicy"] == witness["UpdateReplacePolicy"] == "Retain"
    assert _enforces_ssl(sandbox_template_dict, "AWS::S3::BucketPolicy", "Bucket", witness_id)


def test_witness_bucket_access_logs_go_to_a_private_log_bucket_by_bucket_policy(sandbox_template_dict):
    (witness_id, _), (log_id, log_bucket) = _buckets(sandbox_template_dict)
    props = log_bucket["Properties"]
    assert "AccessControl" not in props  # no LogDeliveryWrite ACL: ACLs are disabled
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert log_bucket["DeletionPolicy"] == "Retain"
    assert _enforces_ssl(sandbox_template_dict, "AWS::S3::BucketPolicy", "Bucket", log_id)
    (policy,) = [
        p
        for p in resources_of(sandbox_template_dict, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": log_id}
    ]
    (delivery,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == arn_of(witness_id)


# --- Alarms on the audit trail ----------------------------------------------------------------------


def _alarm(template: dict[str, Any], suffix: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == f"kyc-match-sandbox-{suffix}"
    ]
    return alarm


def test_alarms_on_the_dead_letter_queue_and_the_fallback_queue_age(sandbox_template_dict):
    (fallback_id, _), (dlq_id, _) = _queues(sandbox_template_dict)
    dlq = _alarm(sandbox_template_dict, "audit-dlq-messages")
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    age = _alarm(sandbox_template_dict, "audit-queue-oldest-message")
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [fallback_id, "QueueName"]}}]
    assert (age["ComparisonOperator"], age["Threshold"]) == ("GreaterThanThreshold", 15 * 60)


@pytest.mark.parametrize(("name", "handler"), [("witness", WITNESS_HANDLER), ("drain", DRAIN_HANDLER)])
def test_alarm_on_job_errors(sandbox_template_dict, name, handler):
    function_id, _ = function_with_handler(sandbox_template_dict, handler)
    alarm = _alarm(sandbox_template_dict, f"{name}-errors")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]


def test_dashboard_shows_the_audit_queue_jobs_and_their_alarms(sandbox_template_dict):
    (dashboard,) = resources_of(sandbox_template_dict, "AWS::CloudWatch::Dashboard").values()
    body = dumps(dashboard["Properties"]["DashboardBody"])
    for text in ("Audit fallback queue", "Audit jobs", "ApproximateAgeOfOldestMessage"):
        assert text in body
    for alarm_id, alarm in resources_of(sandbox_template_dict, "AWS::CloudWatch::Alarm").items():
        assert dumps(arn_of(alarm_id)) in body, alarm["Properties"]["AlarmName"]  # alarm status widget


# --- helpers ----------------------------------------------------------------------------------------


def _audit_table(template: dict[str, Any]) -> str:
    (audit_id,) = [
        logical_id
        for logical_id, table in resources_of(template, "AWS::DynamoDB::Table").items()
        if table["Properties"]["KeySchema"][0]["AttributeName"] == schema.AUDIT.partition_key
    ]
    return audit_id


def _no_other_data_resources(
    template: dict[str, Any], statements: list[dict[str, Any]], allowed: set[str]
) -> None:
    """The role touches no table, queue, bucket or secret other than `allowed` (logical ids)."""
    data_types = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SecretsManager::Secret")
    others = {i for t in data_types for i in resources_of(template, t)} - allowed
    mentioned = dumps([s["Resource"] for s in statements])
    assert [i for i in others if f'"{i}"' in mentioned] == []
