"""Records that survive (#17 item 5, part): key-tampering alarm, locked and copied table backups."""

import json
from pathlib import Path

import pytest
from cdk_support import dumps, resources_of
from infra.config import STAGES_DIR, StageConfigError, load_stage_config
from infra.constructs.resilience import KEY_TAMPERING_EVENTS


def _keys(template):
    return set(resources_of(template, "AWS::KMS::Key"))


def test_key_tampering_events_for_every_project_key_reach_the_alarm_topic(sandbox_template_dict):
    (rule,) = [
        r["Properties"]
        for r in resources_of(sandbox_template_dict, "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == "kyc-match-sandbox-key-tampering"
    ]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.kms"] and pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventName"] == ["ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy"]
    assert tuple(pattern["detail"]["eventName"]) == KEY_TAMPERING_EVENTS
    watched = {arn["Fn::GetAtt"][0] for arn in pattern["detail"]["resources"]["ARN"]}
    assert watched == _keys(sandbox_template_dict)  # data, HMAC and signing keys: all of them
    (topic_id,) = resources_of(sandbox_template_dict, "AWS::SNS::Topic")
    assert [target["Arn"] for target in rule["Targets"]] == [{"Ref": topic_id}]


def test_eventbridge_may_use_the_topic_key_for_that_rule_only(sandbox_template_dict):
    statements = [
        s
        for key in resources_of(sandbox_template_dict, "AWS::KMS::Key").values()
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"} and "key-tampering" in dumps(s)
    ]
    (statement,) = statements
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert "rule/kyc-match-sandbox-key-tampering" in dumps(
        statement["Condition"]["StringEquals"]["aws:SourceArn"]
    )


def test_key_tampering_is_an_alarm_on_the_first_match(sandbox_template_dict):
    (alarm,) = [
        a["Properties"]
        for a in resources_of(sandbox_template_dict, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == "kyc-match-sandbox-key-tampering"
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "MatchedEvents")
    assert (alarm["EvaluationPeriods"], alarm["Threshold"]) == (1, 1)


def test_production_backs_up_the_regulated_tables_into_a_compliance_locked_vault(production_template_dict):
    (vault,) = resources_of(production_template_dict, "AWS::Backup::BackupVault").values()
    lock = vault["Properties"]["LockConfiguration"]
    # ChangeableForDays set: after 3 days the lock is in compliance mode (immutable, root included).
    assert lock == {"MinRetentionDays": 35, "MaxRetentionDays": 1826, "ChangeableForDays": 3}
    assert "EncryptionKeyArn" in vault["Properties"] and vault["DeletionPolicy"] == "Retain"
    (plan,) = resources_of(production_template_dict, "AWS::Backup::BackupPlan").values()
    rules = {r["RuleName"]: r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"]}
    assert {name: r["Lifecycle"]["DeleteAfterDays"] for name, r in rules.items()} == {
        "Daily": 35,
        "Monthly": 1826,
    }
    for rule in rules.values():
        (copy,) = rule["CopyActions"]
        # The eu-central-1 stack copies to the vault in eu-west-1 (stage config backup.copyTo).
        assert copy["DestinationBackupVaultArn"] == (
            "arn:aws:backup:eu-west-1:111111111111:backup-vault:kyc-match-production"
        )
        assert copy["Lifecycle"] == rule["Lifecycle"]
    (selection,) = resources_of(production_template_dict, "AWS::Backup::BackupSelection").values()
    (audit,) = [
        logical_id
        for logical_id in resources_of(production_template_dict, "AWS::DynamoDB::Table")
        if logical_id.startswith("StorageAuditTable")
    ]
    # eu-central-1 holds a replica of the primary's global configuration table (#25 item 3): backed up
    # here too, by the name it is read by
    configuration = {
        "Fn::Join": [
            "",
            [
                "arn:aws:dynamodb:eu-central-1:",
                {"Ref": "AWS::AccountId"},
                ":table/kyc-match-production-configuration",
            ],
        ]
    }
    assert selection["Properties"]["BackupSelection"]["Resources"] == [
        {"Fn::GetAtt": [audit, "Arn"]},
        configuration,
    ]


def test_sandbox_has_no_backup_plan(sandbox_template_dict):
    assert resources_of(sandbox_template_dict, "AWS::Backup::BackupPlan") == {}


def _production(directory: Path, change) -> Path:
    config = json.loads((STAGES_DIR / "production.json").read_text())
    change(config)
    (directory / "production.json").write_text(json.dumps(config))
    return directory


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["backup"]["copyTo"].update(
                {"eu-west-1": "arn:aws:backup:eu-west-1:111111111111:backup-vault:kyc-match-production"}
            ),
            r"backup\.copyTo\.eu-west-1: the copy must go to another region",
        ),
        (
            lambda c: c["backup"]["copyTo"].update(
                {"eu-west-1": "arn:aws:backup:us-east-1:111111111111:backup-vault:kyc-match-production"}
            ),
            r"backup\.copyTo\.eu-west-1: us-east-1 is outside allowedRegions",
        ),
        (lambda c: c["backup"]["copyTo"].pop("eu-central-1"), r"no destination vault for eu-central-1"),
        (
            lambda c: c["backup"]["copyTo"].update({"eu-west-1": "arn:aws:s3:::bucket"}),
            r"backup\.copyTo\.eu-west-1: String should match pattern",
        ),
    ],
)
def test_backup_copies_must_leave_the_region_and_stay_resident(tmp_path, change, message):
    with pytest.raises(StageConfigError, match=message):
        load_stage_config("production", _production(tmp_path, change))
