"""`kyc-match policy`: a client's risk policies, from draft to active, and what a change would do.

    put FILE          store as the next version, a draft (served by nobody yet)
    approve           a second person approves a draft (never its author)
    activate          the decision endpoint serves this approved version (within a minute)
    rollback --to N   serve an earlier approved version again
    deactivate        serve no version any more (the client falls back as if none was activated)
    get, history, list
    simulate          replay a period's audit entries under a policy file, before approving it

Approve, activate, rollback and deactivate each need `--reason TEXT`, and a person other than the
version's approver for the last three (kyc_match/policies/lifecycle.py). Who acts is a person, the
source identity of the operations session the command assumes against AWS (identity.py); `--as NAME`
stands in for it against the local stand-in only (AWS_ENDPOINT_URL set): against AWS a self-declared
name would let one person be both author and approver.

Against AWS the five steps that write are asked of the policy-admin function (KYC_POLICY_ADMIN_URL,
policy_admin_client.py), the only principal that may seal policy items: the request is signed in the
person's operations session and the function takes who acts from it (#23). Against the local stand-in
without that URL the command takes the step itself, with the same code (kyc_match/policies/admin.py).
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kyc_match_tools import local_aws
from kyc_match_tools.commands.arguments import check_period, day
from kyc_match_tools.errors import UsageError
from kyc_match_tools.files import read_text

if TYPE_CHECKING:
    from kyc_match.policies.lifecycle import Actor
    from kyc_match_tools.identity import IdentityProvider


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("policy", help="manage clients' risk policies")
    actions = parser.add_subparsers(dest="action", required=True)

    put = actions.add_parser("put", help="validate a policy file and store it as the next version, a draft")
    put.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    put.add_argument("file", type=Path, help="the policy document, JSON in format 2 (docs/decision.md)")
    _identity_option(put)
    put.set_defaults(run=_put)

    approve = actions.add_parser("approve", help="approve a draft (by an identity other than its author)")
    _version_options(approve)
    approve.add_argument(
        "--simulation",
        type=Path,
        metavar="FILE",
        help="the `policy simulate --report` file the approval rests on: its sha256 is recorded with it",
    )
    _identity_option(approve, reason=True)
    approve.set_defaults(run=_approve)

    activate = actions.add_parser("activate", help="serve an approved version (not by its approver)")
    _version_options(activate)
    _identity_option(activate, reason=True)
    activate.set_defaults(run=_activate)

    rollback = actions.add_parser("rollback", help="serve an earlier approved version again")
    rollback.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    rollback.add_argument("--policy", required=True, help="policy id")
    rollback.add_argument("--to", dest="version", type=int, required=True, help="the version to serve")
    _identity_option(rollback, reason=True)
    rollback.set_defaults(run=_rollback)

    deactivate = actions.add_parser("deactivate", help="serve no version of a policy any more")
    deactivate.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    deactivate.add_argument("--policy", required=True, help="policy id")
    _identity_option(deactivate, reason=True)
    deactivate.set_defaults(run=_deactivate)

    get = actions.add_parser("get", help="print a version (the active one unless --version)")
    get.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    get.add_argument("--policy", required=True, help="policy id")
    get.add_argument("--version", type=int, help="the version to print (default: the active one)")
    get.set_defaults(run=_get)

    history = actions.add_parser("history", help="every version and step: who, and the reasons given")
    history.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    history.add_argument("--policy", required=True, help="policy id")
    history.set_defaults(run=_history)

    listing = actions.add_parser("list", help="a client's policies and the version each serves")
    listing.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    listing.set_defaults(run=_list)

    simulate = actions.add_parser("simulate", help="how a policy file would have decided a past period")
    simulate.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    simulate.add_argument("--file", required=True, type=Path, help="the new policy")
    simulate.add_argument("--from", dest="start", required=True, type=day, help="YYYY-MM-DD")
    simulate.add_argument("--to", dest="end", required=True, type=day, help="YYYY-MM-DD")
    simulate.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="also write the report to FILE, for `policy approve --simulation FILE` (its sha256 is recorded)",
    )
    simulate.set_defaults(run=_simulate)


def _version_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", required=True, help="the client's id (kyc-match clients list)")
    parser.add_argument("--policy", required=True, help="policy id")
    parser.add_argument("--version", type=int, required=True, help="the version (kyc-match policy history)")


def _identity_option(parser: argparse.ArgumentParser, *, reason: bool = False) -> None:
    parser.add_argument(
        "--as", dest="as_identity", metavar="NAME", help="who acts, against the local stand-in only"
    )
    if reason:
        parser.add_argument(
            "--reason", required=True, metavar="TEXT", help="why, recorded with the step (200 characters)"
        )


AS_LOCAL_ONLY = (
    "--as is for the local stand-in (AWS_ENDPOINT_URL) only; against AWS you act as your AWS principal"
)


class _Refused(Exception):
    """A command refused before or while acting; its message goes to standard error."""


def _local() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL"))


def _settings() -> Any:
    if _local():
        local_aws.use_local_credentials()
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set

    return get_settings()


def _lifecycle() -> Any:
    from kyc_match.wiring import policy_lifecycle  # noqa: PLC0415

    return policy_lifecycle(_settings())


def identity_provider(args: argparse.Namespace) -> "IdentityProvider":
    """`--as NAME` locally; otherwise the person's own operations session (identity.py)."""
    from kyc_match_tools.identity import NamedLocally, OperationsSession  # noqa: PLC0415

    if args.as_identity:
        if not _local():
            raise _Refused(AS_LOCAL_ONLY)
        return NamedLocally(str(args.as_identity))
    settings = _settings()
    from kyc_match import aws  # noqa: PLC0415

    return OperationsSession(aws.sts(), settings.operations_role_arn)


def _take(args: argparse.Namespace, step: dict[str, Any]) -> dict[str, Any]:
    """Take a step that writes: through the policy-admin function when its URL is set (always, against
    AWS), else in this process (the local stand-in); its answer: person, version, sha256."""
    from kyc_match.policies.admin import BadRequest, parse_step, take  # noqa: PLC0415

    url = _settings().policy_admin_url
    if args.as_identity and not _local():
        raise _Refused(AS_LOCAL_ONLY)
    if args.as_identity and url:
        raise _Refused("--as is for the local stand-in only: the policy-admin function knows who you are")
    if not url and not _local():
        raise _Refused(
            "KYC_POLICY_ADMIN_URL is not set: against AWS the policy-admin function takes policy steps "
            "(the stack's PolicyAdminUrl output)"
        )
    try:
        parsed = parse_step(step)
    except BadRequest as bad:
        raise _Refused(str(bad)) from None
    if url:
        return _ask_admin(args, url, step)
    by = _identity(args)  # first: against the stand-in, the session's credentials before the table's client
    return take(_lifecycle(), parsed, by)


def _ask_admin(args: argparse.Namespace, url: str, step: dict[str, Any]) -> dict[str, Any]:
    from kyc_match_tools import policy_admin_client  # noqa: PLC0415

    _identity(args)  # the person's own operations session: the request is signed in it
    try:
        return policy_admin_client.take_step(url, step)
    except policy_admin_client.AdminRefused as refused:
        raise _Refused(str(refused)) from None


def _identity(args: argparse.Namespace) -> "Actor":
    from kyc_match_tools.identity import IdentityRefused  # noqa: PLC0415

    try:
        return identity_provider(args).current()
    except IdentityRefused as refused:
        raise _Refused(str(refused)) from None


def _refusing(step: Any, args: argparse.Namespace) -> int:
    from kyc_match.domain.policy import PolicyError  # noqa: PLC0415
    from kyc_match.policies.lifecycle import LifecycleError  # noqa: PLC0415

    try:
        return int(step(args))
    except (_Refused, LifecycleError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    except PolicyError as error:  # stored before format 2 (or by hand): it decides nothing until re-put
        print(f"refused: the stored policy does not load: {'; '.join(error.problems)}", file=sys.stderr)
        return 1


def _read_policy(path: Path) -> Any:
    from kyc_match.domain.policy import PolicyError, parse_policy  # noqa: PLC0415

    try:
        return parse_policy(read_text(path, "policy file"))
    except PolicyError as error:
        for problem in error.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return None


def _put(args: argparse.Namespace) -> int:
    policy = _read_policy(args.file)
    if policy is None:
        return 2

    def step(_: argparse.Namespace) -> int:
        done = _take(
            args, {"action": "put", "client": args.client, "document": read_text(args.file, "policy file")}
        )
        print(
            f"stored {policy.policy_id} version {done['version']} for {args.client} as a draft by "
            f"{done['person']} (sha256 {done['sha256']}); a second identity approves it with "
            "`kyc-match policy approve`",
            file=sys.stderr,
        )
        return 0

    return _refusing(step, args)


def _approve(args: argparse.Namespace) -> int:
    def step(_: argparse.Namespace) -> int:
        step = _targeted("approve", args)
        done = _take(args, step)
        simulated = f", on simulation report sha256 {step['simulation']}" if "simulation" in step else ""
        print(
            f"approved {args.policy} version {args.version} (sha256 {done['sha256']}) by {done['person']}"
            + simulated,
            file=sys.stderr,
        )
        return 0

    return _refusing(step, args)


def _activate(args: argparse.Namespace, *, rollback: bool = False) -> int:
    def step(_: argparse.Namespace) -> int:
        done = _take(args, _targeted("rollback" if rollback else "activate", args))
        verb = "rolled back to" if rollback else "activated"
        print(
            f"{verb} {args.policy} version {args.version} (sha256 {done['sha256']}) by {done['person']}; "
            "served within 60 s by the decision endpoint",
            file=sys.stderr,
        )
        return 0

    return _refusing(step, args)


def _targeted(action: str, args: argparse.Namespace) -> dict[str, Any]:
    """A step on one version: approve, activate, rollback (`--to` is its version)."""
    step = {
        "action": action,
        "client": args.client,
        "policy": args.policy,
        "version": args.version,
        "reason": args.reason,
    }
    report = getattr(args, "simulation", None)
    if report is not None:  # approve: the simulation report it rests on, by its sha256
        step["simulation"] = hashlib.sha256(_read_bytes(report)).hexdigest()
    return step


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


def _rollback(args: argparse.Namespace) -> int:
    return _activate(args, rollback=True)


def _deactivate(args: argparse.Namespace) -> int:
    def step(_: argparse.Namespace) -> int:
        step = {"action": "deactivate", "client": args.client, "policy": args.policy, "reason": args.reason}
        done = _take(args, step)
        print(
            f"deactivated {args.policy} (version {done['version']} no longer served) by {done['person']}; "
            "the decision endpoint falls back within 60 s as for a policy never activated",
            file=sys.stderr,
        )
        return 0

    return _refusing(step, args)


def _get(args: argparse.Namespace) -> int:
    def step(_: argparse.Namespace) -> int:
        policy, state = _lifecycle().version(args.client, args.policy, args.version)
        print(json.dumps(policy.model_dump(mode="json", by_alias=True), indent=2))
        print(f"version {state.version}, {state.state}, sha256 {state.sha256}", file=sys.stderr)
        return 0

    return _refusing(step, args)


def _history(args: argparse.Namespace) -> int:
    lifecycle = _lifecycle()
    rows = lifecycle.history(args.client, args.policy)
    if not rows:
        print(f"no policy {args.policy} for {args.client}", file=sys.stderr)
        return 1
    print("version\tstate\tsha256\tauthor\tapprover\treason")
    for row in rows:
        said = [row.author, row.approver or "-", row.reason or "-"]
        print("\t".join([str(row.version), row.state, row.sha256, *said]))
    for step in lifecycle.activations(args.client, args.policy):
        why = step.get("reason") or "-"
        print(f"{step['at']}\t{step['action']} version {step['version']} by {step['by']}\t{why}")
    return 0


def _list(args: argparse.Namespace) -> int:
    lifecycle = _lifecycle()
    for policy_id in lifecycle.policy_ids(args.client):
        rows = lifecycle.history(args.client, policy_id)
        active = next((f"v{row.version}" for row in rows if row.state == "active"), "none active")
        print(f"{policy_id}\t{active}\tlatest v{rows[-1].version} ({rows[-1].state})")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    check_period(args.start, args.end)  # else an inverted period replays nothing and says `replayed 0`
    policy = _read_policy(args.file)
    if policy is None:
        return 2
    from kyc_match.audit.query import entries_between  # noqa: PLC0415
    from kyc_match.audit.replay import replay  # noqa: PLC0415
    from kyc_match.wiring import audit_components  # noqa: PLC0415
    from kyc_match_tools.commands.clients import history_ids  # noqa: PLC0415

    reader = audit_components(_settings()).reader
    entries = entries_between(reader, args.start, args.end, history_ids(args.client))
    report = replay(entries, policy, any_policy=True)  # whatever policy decided them (#26 item 6)
    lines = [f"replayed {report.replayed} decisions of {args.client} under {policy.policy_id}"]
    lines.append(f"changed: {sum(report.changed.values())}")
    lines += [f"  {was} -> {would_be}: {count}" for (was, would_be), count in report.changed.items()]
    lines.append(f"unchanged: {sum(report.unchanged.values())}")
    lines += [f"  {was}: {count}" for (was, _), count in report.unchanged.items()]
    if report.skipped:
        skipped = report.skipped
        lines.append(f"not replayable (no verdicts recorded, or an age entries do not keep): {skipped}")
    if report.changes:
        lines.append("changed entries:")
        lines += [f"  {key}  {was} -> {would_be}" for key, was, would_be in report.changes]
    text = "".join(line + "\n" for line in lines)
    print(text, end="")
    if args.report is not None:
        try:
            args.report.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {args.report}: {error.strerror or error}") from None
    print(f"report sha256 {hashlib.sha256(text.encode()).hexdigest()}")
    return 0
