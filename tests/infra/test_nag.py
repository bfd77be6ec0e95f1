"""cdk-nag AwsSolutions runs on every synth (validation plugin) and finds nothing unacknowledged."""

import json

import pytest
from aws_cdk import App
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from cdk_support import without_aws_credentials
from infra.app import build_app


@pytest.mark.parametrize("stage", ["sandbox", "production", "production_regions"])
def test_synth_passes_the_aws_solutions_pack_with_no_open_findings(stage, request):
    # production adds what sandbox lacks (backups); production_regions its primary region too (#25)
    synth = request.getfixturevalue(stage)
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []
    assert all(plugin["conclusion"] == "success" for plugin in report["pluginReports"])


def test_an_unacknowledged_finding_fails_synth(tmp_path):
    """Negative control: the plugin build_app() registers does run and does fail the synth."""
    with without_aws_credentials():
        app = App(context={"aws:cdk:bundling-stacks": [], "regions": "eu-west-1"}, outdir=str(tmp_path))
        build_app(app)
        stack = app.node.children[0]
        sns.Topic(stack, "TopicWithoutSsl")  # AwsSolutions-SNS3 (error level)
        dynamodb.Table(  # AwsSolutions-DDB3 (warning level): warnings fail the synth too
            stack,
            "TableWithoutPitr",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        )
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failed = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert failed == {"AwsSolutions-SNS3", "AwsSolutions-DDB3"}
    paths = {
        c["constructPath"]
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    }
    assert all("TopicWithoutSsl" in path or "TableWithoutPitr" in path for path in paths)
