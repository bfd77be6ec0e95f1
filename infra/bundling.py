"""The functions' code asset, bundled on this machine without Docker: arm64 wheels for the runtime's
Python from requirements/lambda.txt (minus what the runtime provides), then the kyc_match package.

The asset's hash is computed from its inputs (recipe, platforms, requirements, package files), so it
changes exactly when they do and every stack of a synth ships the same asset.
"""

import functools
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import FUNCTIONS_DIR, REPO_ROOT

PACKAGE_DIR = FUNCTIONS_DIR / "kyc_match"
REQUIREMENTS = REPO_ROOT / "requirements" / "lambda.txt"
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"  # of RUNTIME: the wheels pip selects must match it
# manylinux2014 (glibc 2.17) first; some current wheels (rapidfuzz 3.14) ship only manylinux_2_26+ for
# aarch64, which the Python 3.12 runtime (Amazon Linux 2023, glibc 2.34) runs as well.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# Provided by the Lambda Python runtime (boto3 and its dependencies): left out of the asset.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
# Bump when the bundling recipe changes, so the asset hash changes with it.
_BUNDLING_RECIPE = "pip-target-v1"

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def asset_requirements(requirements_text: str, excluded: frozenset[str] = RUNTIME_PROVIDED) -> list[str]:
    """The pinned requirement lines of requirements/lambda.txt minus the runtime-provided packages.

    Continuation lines (`\\` + `--hash=...`) are joined, comments and option lines dropped.
    """
    logical: list[str] = []
    pending = ""
    for raw_line in requirements_text.splitlines():
        line = raw_line.split(" #", 1)[0].rstrip() if not raw_line.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line and not line.startswith("-"):
            logical.append(line)
    kept = []
    for line in logical:
        match = _NAME.match(line)
        if match is None:
            raise ValueError(f"cannot read requirement line {line!r}")
        if canonical_name(match.group(1)) not in excluded:
            kept.append(line)
    return kept


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the asset on this machine: arm64 wheels for the runtime's Python, then the package.

    `pip install --target` with `--platform/--implementation/--python-version --only-binary=:all:`
    selects the Lambda's wheels whatever the build machine is, so no Docker is needed.
    """

    def __init__(self, requirements: Path = REQUIREMENTS, package_dir: Path = PACKAGE_DIR) -> None:
        self.requirements = requirements
        self.package_dir = package_dir

    def pip_command(self, output_dir: str, requirements_file: str) -> list[str]:
        platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--require-hashes",  # every wheel must match requirements/lambda.txt's hashes (#25 item 6)
            "--no-deps",  # requirements/lambda.txt is the complete, pinned closure
            *platforms,
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            "--only-binary=:all:",
            "--no-compile",  # .pyc of the build interpreter would be dead weight on 3.12
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            output_dir,
            "-r",
            requirements_file,
        ]

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        output = Path(output_dir)
        with tempfile.TemporaryDirectory(prefix="kyc-match-bundle-") as tmp:
            requirements_file = Path(tmp) / "requirements.txt"
            requirements_file.write_text(
                "\n".join(asset_requirements(self.requirements.read_text(encoding="utf-8"))) + "\n",
                encoding="utf-8",
            )
            subprocess.run(self.pip_command(output_dir, str(requirements_file)), check=True)  # noqa: S603
        shutil.rmtree(output / "bin", ignore_errors=True)  # console scripts: unused in Lambda
        for cache in output.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(
            self.package_dir,
            output / self.package_dir.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        leaked = sorted(name for name in RUNTIME_PROVIDED if (output / name.replace("-", "_")).exists())
        if leaked:
            raise RuntimeError(f"runtime-provided packages ended up in the asset: {leaked}")
        return True


@functools.cache
def _asset_hash() -> str:
    # Once per synth: every region's stack ships the same asset even while the tree is being edited.
    return source_hash()


def source_hash(requirements: Path = REQUIREMENTS, package_dir: Path = PACKAGE_DIR) -> str:
    """Hash of what goes into the asset, so the asset changes exactly when its inputs do."""
    digest = hashlib.sha256(_BUNDLING_RECIPE.encode())
    digest.update(",".join(PLATFORMS).encode() + PYTHON_VERSION.encode())
    digest.update(requirements.read_bytes())
    for path in sorted(package_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(package_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def code_asset() -> lambda_.Code:
    """The one code asset of a stack: every function runs a handler of the same bundled package.

    Call once per stack and pass it to each function (an asset belongs to one stack); the bundling
    itself runs once per synth whatever the number of stacks (same custom hash, staged once).
    """
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=_asset_hash(),
        exclude=["__pycache__", "*.pyc"],
        bundling=BundlingOptions(image=RUNTIME.bundling_image, local=PipLocalBundling()),
    )
