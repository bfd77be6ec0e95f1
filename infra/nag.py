"""cdk-nag acknowledgements: one finding, on one construct, with a reason (listed in docs/deploy.md)."""

from aws_cdk import Acknowledgment, Stack, Validations

from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` (e.g. "AwsSolutions-IAM5[Resource::*]") on `scope` and what it contains.

    Always pass the narrowest construct that carries the finding.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of an L2's resource, as cdk-nag writes it in finding ids."""
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))  # type: ignore[arg-type]
