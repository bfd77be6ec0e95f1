"""`npx cdk synth -c pipeline=true` through the real, pinned CDK CLI, from a fresh copy of the repository
with no AWS credentials (issue #25 item 2's done-when): what a developer's fresh clone and the pipeline's
own synth step run. test_synth_offline.py builds the app in-process; this runs `cdk.json`'s app command
(`python3 -m infra.app`, this virtualenv's interpreter first on PATH) under the CLI, which refuses any
context lookup (`--no-lookups`) and stops on missing context.

One CLI run covers both: the pipeline synthesizes the sandbox stage and production in both its regions
for their named accounts (production 222222222222), which is exactly when CDK would look up availability
zones. `--exclusively KycMatch-pipeline` only spares the function asset's bundling (pip downloads,
~1 minute more; tests/infra/test_bundling.py covers it): the stage assemblies are synthesized and
checked all the same.

A stage file without a region's zone names is refused when it loads, naming the field
(test_synth_offline.py); the CLI run was checked to fail when the zones are not set from the stage file
(infra/app.py's `_known_zones` made a no-op in the copy): "Context lookups have been disabled … missing
context keys: availability-zones:account=222222222222:region=…", exit 1.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cdk_support import REPO_ROOT
from infra.pipeline import PIPELINE_STACK, load_pipeline_config

PRODUCTION_ACCOUNT = "222222222222"
SILENCERS = ("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION")
SYNTH = ("synth", "--no-lookups", "--no-notices", "-c", "pipeline=true", "--exclusively", PIPELINE_STACK)


def fresh_copy(destination: Path) -> Path:
    """The tracked files as they are in the working tree (so an uncommitted edit is what is tested), with
    none of what a clone lacks (cdk.context.json, cdk.out, .venv); node_modules is the repository's
    `npm ci` of package-lock.json (scripts/bootstrap), linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    assert cli.exists(), (
        "the pinned CDK CLI is missing: run `npm ci` at the repository root (scripts/bootstrap)"
    )
    (destination / "node_modules").symlink_to(REPO_ROOT / "node_modules", target_is_directory=True)
    for absent in ("cdk.context.json", "cdk.out", ".venv"):
        assert not (destination / absent).exists(), absent
    return destination


def credential_free_environment(home: Path) -> dict[str, str]:
    """Built from nothing, so no AWS_* variable, profile, container or SSO setting of this machine leaks
    in: an empty home (no ~/.aws), empty config and credentials files, no instance metadata."""
    home.mkdir()
    empty = home / "empty"
    empty.write_text("", encoding="utf-8")
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "npm_config_update_notifier": "false",
        **{name: os.environ[name] for name in SILENCERS if name in os.environ},
    }


def cdk(workdir: Path, home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`npx cdk …` in `workdir` with the pinned CLI only (`--no`: never download another)."""
    return subprocess.run(
        ["npx", "--no", "cdk", *arguments],  # npx from PATH, as a developer runs it
        cwd=workdir,
        env=credential_free_environment(home),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def manifests(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every cloud assembly's manifest: the pipeline's and each stage's nested one."""
    return {
        str(path.relative_to(outdir)): json.loads(path.read_text(encoding="utf-8"))
        for path in outdir.rglob("manifest.json")
    }


def stack_environments(outdir: Path) -> set[str]:
    return {
        artifact["environment"]
        for manifest in manifests(outdir).values()
        for artifact in manifest.get("artifacts", {}).values()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_npx_cdk_synth_of_the_pipeline_and_production_needs_no_credentials(tmp_path):
    workdir = fresh_copy(tmp_path / "clone")
    done = cdk(workdir, tmp_path / "home", *SYNTH)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    outdir = workdir / "cdk.out"
    found = manifests(outdir)
    # The pipeline's assembly and one per stage region: sandbox, production in both its regions.
    stages = {(s.stage, s.account) for s in load_pipeline_config().stages}
    assert ("production", PRODUCTION_ACCOUNT) in stages
    assert len(found) == 1 + 3, sorted(found)
    assert {name: manifest.get("missing", []) for name, manifest in found.items()} == {
        name: [] for name in found
    }
    # Production was synthesized for its named account in both regions: where CDK would look zones up.
    environments = stack_environments(outdir)
    for region in ("eu-west-1", "eu-central-1"):
        assert f"aws://{PRODUCTION_ACCOUNT}/{region}" in environments
    assert not (workdir / "cdk.context.json").exists()  # nothing was looked up and cached


@pytest.mark.parametrize("variable", ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "CDK_DEFAULT_ACCOUNT"])
def test_the_cli_environment_carries_nothing_of_this_machines_aws_settings(tmp_path, monkeypatch, variable):
    monkeypatch.setenv(variable, "from-this-machine")
    environment = credential_free_environment(tmp_path / "home")
    assert variable not in environment
    assert {name for name in environment if name.startswith("AWS_")} == {
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
    }
