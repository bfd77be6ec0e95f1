"""cdk-nag acknowledgements: one finding, on one construct, with a reason (docs/deploy.md lists them)."""

from aws_cdk import Acknowledgment, Validations

from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` (e.g. "AwsSolutions-IAM5[Resource::*]") on `scope` and what it contains.

    Always pass the narrowest construct that carries the finding.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
