"""The functions' code asset, bundled on this machine without Docker: arm64 wheels for the runtime's
Python from requirements/lambda.txt (minus what the runtime provides), then the kyc_match package,
then bytecode for every module, compiled by an interpreter of the runtime's own Python version.

Bytecode (#29 item 1): Lambda's code directory is read-only, so without `.pyc` files in the asset every
cold start compiles every module it imports, and throws the result away. The asset's `.pyc` files are
unchecked-hash pycs (PEP 552): the interpreter loads them without comparing anything with the source,
so neither the zip's timestamps nor a read-only directory make it compile again. They must be written
by the runtime's Python (bytecode and its magic number change with every minor version): the pipeline's
build image has it; on a machine without it (`KYC_BUNDLE_PYTHON`, `pythonX.Y` on PATH, pyenv's
versions are looked for) the asset is bundled without bytecode and a note says so.

The asset's hash is computed from its inputs (recipe, platforms, requirements, package files, whether
bytecode is compiled), so it changes exactly when they do and every stack of a synth ships the same
asset.
"""

import functools
import hashlib
import os
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
_BUNDLING_RECIPE = "pip-target-v2-unchecked-hash-pyc"
# Where Lambda unpacks the code: the path compiled into the bytecode (tracebacks), not the build folder,
# so the same inputs give the same bytes wherever they are bundled.
LAMBDA_TASK_ROOT = "/var/task"
BYTECODE_PYTHON_ENV = "KYC_BUNDLE_PYTHON"  # an interpreter of the runtime's version, to compile with

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


def interpreter_version(python: str) -> str | None:
    """ "3.12" for an interpreter that runs, else None (a pyenv shim without that version fails)."""
    try:
        done = subprocess.run(  # noqa: S603 - an interpreter path, no shell
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def runtime_interpreter(version: str = PYTHON_VERSION) -> str | None:
    """An interpreter of the runtime's Python version on this machine, or None: KYC_BUNDLE_PYTHON
    first, then the one running the CDK app, `pythonX.Y` on PATH, then pyenv's installed versions."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        os.environ.get(BYTECODE_PYTHON_ENV),
        sys.executable,
        shutil.which(f"python{version}"),
        *(str(path) for path in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)),
    ]
    for candidate in candidates:
        if candidate and interpreter_version(candidate) == version:
            return candidate
    return None


@functools.cache
def _runtime_interpreter() -> str | None:
    return runtime_interpreter()


def compile_command(python: str, output_dir: str) -> list[str]:
    """compileall over the whole asset: unchecked-hash pycs in `__pycache__`, at the default
    optimisation level (Lambda runs without -O), with /var/task as the recorded source folder."""
    return [
        python, "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash",
        "-s", output_dir, "-p", LAMBDA_TASK_ROOT,
        output_dir,
    ]  # fmt: skip


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the asset on this machine: arm64 wheels for the runtime's Python, then the package.

    `pip install --target` with `--platform/--implementation/--python-version --only-binary=:all:`
    selects the Lambda's wheels whatever the build machine is, so no Docker is needed.
    """

    def __init__(
        self,
        requirements: Path = REQUIREMENTS,
        package_dir: Path = PACKAGE_DIR,
        bytecode_python: str | None = None,
    ) -> None:
        """`bytecode_python`: the interpreter compiling the asset's bytecode (None: look for one of the
        runtime's version; none found, no bytecode)."""
        self.requirements = requirements
        self.package_dir = package_dir
        self.bytecode_python = bytecode_python

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
        self.compile_bytecode(output)
        return True

    def compile_bytecode(self, output: Path) -> bool:
        """Unchecked-hash pycs for every module of the asset, by the runtime's Python; False (and a
        note) when this machine has none, the asset then holding sources only."""
        python = self.bytecode_python or _runtime_interpreter()
        if python is None:
            print(
                f"kyc-match bundling: no Python {PYTHON_VERSION} on this machine "
                f"(set {BYTECODE_PYTHON_ENV}); the asset has no bytecode, so each cold start compiles what "
                f"it imports. The pipeline's "
                f"build image has Python {PYTHON_VERSION} and bundles it with bytecode.",
                file=sys.stderr,
            )
            return False
        version = interpreter_version(python)
        if version != PYTHON_VERSION:
            raise RuntimeError(f"{python} is Python {version}, not the runtime's {PYTHON_VERSION}")
        subprocess.run(compile_command(python, str(output)), check=True)  # noqa: S603
        return True


@functools.cache
def _asset_hash() -> str:
    # Once per synth: every region's stack ships the same asset even while the tree is being edited.
    return source_hash(bytecode=_runtime_interpreter() is not None)


def source_hash(
    requirements: Path = REQUIREMENTS, package_dir: Path = PACKAGE_DIR, bytecode: bool = True
) -> str:
    """Hash of what goes into the asset, so the asset changes exactly when its inputs do: an asset
    bundled without bytecode (no runtime Python here) is another asset than the pipeline's."""
    digest = hashlib.sha256(_BUNDLING_RECIPE.encode())
    digest.update(",".join(PLATFORMS).encode() + PYTHON_VERSION.encode())
    digest.update(b"bytecode" if bytecode else b"sources only")
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
