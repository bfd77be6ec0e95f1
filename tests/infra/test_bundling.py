"""The function asset: built locally without Docker, arm64 wheels for cp312, no runtime-provided boto3,
and unchecked-hash bytecode compiled by the runtime's own Python (#29 item 1).

The bundled-asset tests run pip against the package index (or its cache); the bytecode tests need a
Python of the runtime's version on this machine (pyenv's, `python3.12`, or KYC_BUNDLE_PYTHON) and are
skipped, saying so, where there is none: the pipeline's build image has it.
"""

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from aws_cdk import AssetStaging
from cdk_support import resources_of, synthesize, without_aws_credentials
from infra.app import stack_name
from infra.bundling import (
    PACKAGE_DIR,
    PYTHON_VERSION,
    REQUIREMENTS,
    RUNTIME,
    RUNTIME_PROVIDED,
    PipLocalBundling,
    asset_requirements,
    canonical_name,
    runtime_interpreter,
    source_hash,
)

from infra import bundling

ELF_MACHINE_AARCH64 = 0xB7
# importlib.util.MAGIC_NUMBER of each CPython release line (Lib/importlib/_bootstrap_external.py):
# a .pyc whose magic is not its interpreter's is ignored and the module compiled again.
PYC_MAGIC = {"3.11": 3495, "3.12": 3531, "3.13": 3571}
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based (bit 0), check_source off (bit 1)
RUNTIME_PYTHON = runtime_interpreter()
needs_runtime_python = pytest.mark.skipif(
    RUNTIME_PYTHON is None,
    reason=f"no Python {PYTHON_VERSION} here: the pipeline's image compiles the bytecode",
)


def pyc_header(path: Path) -> tuple[int, int]:
    """(magic number, PEP 552 flags) of a .pyc file."""
    header = path.read_bytes()[:8]
    assert header[2:4] == b"\r\n", f"{path} is no pyc"
    return int.from_bytes(header[:2], "little"), int.from_bytes(header[4:8], "little")


def test_the_magic_table_is_this_interpreters_and_the_runtime_is_its_version():
    import importlib.util

    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little") == PYC_MAGIC[running]
    assert RUNTIME.name == f"python{PYTHON_VERSION}"


def _names(lines: list[str]) -> set[str]:
    return {canonical_name(line.split("==")[0].split()[0]) for line in lines}


def test_asset_requirements_drop_what_the_runtime_provides():
    lines = asset_requirements(REQUIREMENTS.read_text())
    names = _names(lines)
    assert not names & RUNTIME_PROVIDED
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "rapidfuzz"} <= names
    assert "pydantic-settings" not in names  # settings read the environment themselves (cold start)
    assert all("==" in line for line in lines)  # pinned


def test_asset_requirements_read_hashed_continuation_lines():
    text = (
        "# comment\n"
        "boto3==1.40.76 \\\n    --hash=sha256:aaa\n"
        "pydantic-core==2.50.4 \\\n    --hash=sha256:bbb \\\n    --hash=sha256:ccc\n"
        "    # via pydantic\n"
        "--index-url https://example.invalid/simple\n"
        "Python_Dateutil==2.9.0.post0\n"
    )
    assert asset_requirements(text) == ["pydantic-core==2.50.4      --hash=sha256:bbb      --hash=sha256:ccc"]


def test_source_hash_follows_the_package_and_the_requirements(tmp_path):
    package = tmp_path / "kyc_match"
    shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    requirements = tmp_path / "lambda.txt"
    requirements.write_text(REQUIREMENTS.read_text())
    before = source_hash(requirements, package)
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert source_hash(requirements, package) == before  # caches do not count
    (package / "handler.py").write_text((package / "handler.py").read_text() + "\n# changed\n")
    assert source_hash(requirements, package) != before
    changed = source_hash(requirements, package)
    requirements.write_text(requirements.read_text() + "extra==1.0\n")
    assert source_hash(requirements, package) != changed


def index_reachable(tmp_path: Path) -> str | None:
    """None when pip can fetch one of the asset's wheels (from the index or its cache), else why not:
    offline, the bundled-asset tests are skipped rather than failed."""
    (line,) = [line for line in asset_requirements(REQUIREMENTS.read_text()) if line.startswith("jaconv==")]
    (tmp_path / "probe.txt").write_text(line + "\n")
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
        "--disable-pip-version-check", "--retries", "0", "--timeout", "10",
        "--platform", "manylinux2014_aarch64", "--implementation", "cp",
        "--python-version", PYTHON_VERSION, "-d", str(tmp_path / "probe"), "-r", str(tmp_path / "probe.txt"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["pip failed"])[-1]


@pytest.fixture(scope="module")
def bundled_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one real bundling of the suite: synth with bundling on (pip reaches the package index, or
    finds the wheels in its cache; when it can do neither, these tests are skipped, saying why)."""
    unreachable = index_reachable(tmp_path_factory.mktemp("index-probe"))
    if unreachable is not None:
        pytest.skip(f"the package index is unreachable and the wheels are not cached: {unreachable}")
    AssetStaging.clear_asset_hash_cache()  # earlier synths staged the same asset hash unbundled
    outdir = tmp_path_factory.mktemp("cdk-bundled")
    started = time.monotonic()
    with without_aws_credentials():
        synth = synthesize(outdir, bundle=True, stage="sandbox", regions="eu-west-1")
    assert time.monotonic() - started < 90
    template = synth.template_dict(stack_name("sandbox", "eu-west-1"))
    # Match, drain and digest functions run handlers of the one asset.
    (s3_key,) = {
        r["Properties"]["Code"]["S3Key"] for r in resources_of(template, "AWS::Lambda::Function").values()
    }
    asset_hash = s3_key.removesuffix(".zip")
    manifest = json.loads((outdir / f"{stack_name('sandbox', 'eu-west-1')}.assets.json").read_text())
    return outdir / manifest["files"][asset_hash]["source"]["path"]


def test_bundled_asset_has_the_package_and_arm64_wheels(bundled_asset: Path):
    for module in ("handler.py", "jobs/drain.py", "jobs/witness.py"):  # the functions' handlers
        assert (bundled_asset / "kyc_match" / module).is_file()
    assert not (bundled_asset / "kyc_match_tools").exists()
    (core,) = list((bundled_asset / "pydantic_core").glob("_pydantic_core*.so"))
    assert "cpython-312-aarch64-linux-gnu" in core.name
    header = core.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64
    assert (bundled_asset / "aws_lambda_powertools").is_dir()


def test_bundled_asset_leaves_out_the_runtime_provided_sdk(bundled_asset: Path):
    present = {canonical_name(path.name) for path in bundled_asset.iterdir()}
    for name in RUNTIME_PROVIDED:
        assert canonical_name(name.replace("-", "_")) not in present
        assert not list(bundled_asset.glob(f"{name.replace('-', '_')}-*.dist-info"))


def test_bundled_asset_carries_bytecode_of_its_runtime_for_every_module(bundled_asset: Path):
    """Every module has its unchecked-hash pyc for the runtime's Python (its magic number), so a cold
    start in Lambda's read-only code directory compiles nothing. Before #29 the asset had no pyc."""
    sources = sorted(bundled_asset.rglob("*.py"))
    pycs = sorted(bundled_asset.rglob("*.pyc"))
    if RUNTIME_PYTHON is None:  # no runtime Python here: sources only, never another version's pycs
        assert pycs == []
        pytest.skip(f"no Python {PYTHON_VERSION} here: bundled without bytecode (the pipeline compiles it)")
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    expected = {source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc" for source in sources}
    assert len(sources) > 500
    assert set(pycs) == expected
    assert {pyc_header(pyc) for pyc in pycs} == {(PYC_MAGIC[PYTHON_VERSION], UNCHECKED_HASH)}


def test_bundled_asset_zips_below_16_mb(bundled_asset: Path, tmp_path: Path):
    archive = tmp_path / "asset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(bundled_asset.rglob("*")):
            zipped.write(path, path.relative_to(bundled_asset))
    size = archive.stat().st_size
    print(f"zipped asset: {size / 1e6:.1f} MB")
    # 10 MB until #12: cryptography (KMS's DER signatures and public keys -> JOSE) adds ~2.5 MB zipped.
    # It is imported only by containers with a camara operator or serving the JWKS, not at cold start.
    # 12 MB until #29: every module's bytecode adds ~4.5 MB zipped (11.0 -> 15.5 MB measured).
    assert size < 16 * 1024 * 1024


# --- Bytecode (#29 item 1): the mechanism on a small tree, offline ---


def small_tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "mod.py").write_text("VALUE = 1\n")
    (root / "top.py").write_text("import pkg.sub.mod\n")
    return root


@needs_runtime_python
def test_the_runtime_python_writes_unchecked_hash_pycs_that_a_read_only_folder_loads(tmp_path: Path):
    tree = small_tree(tmp_path / "asset")
    assert PipLocalBundling(bytecode_python=RUNTIME_PYTHON).compile_bytecode(tree) is True
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    pyc = tree / "pkg" / "sub" / "__pycache__" / f"mod.{tag}.pyc"
    assert pyc_header(pyc) == (PYC_MAGIC[PYTHON_VERSION], UNCHECKED_HASH)
    assert (tree / "__pycache__" / f"top.{tag}.pyc").is_file()
    # Unchecked: the runtime runs the pyc without looking at the source. Changed afterwards (and its
    # timestamp with it), the source is not compiled again: the pyc's VALUE is the one imported.
    (tree / "pkg" / "sub" / "mod.py").write_text("VALUE = 2\n")
    for path in [*tree.rglob("*"), tree]:
        path.chmod(0o555 if path.is_dir() else 0o444)  # read-only, as Lambda's /var/task
    try:
        shown = subprocess.run(
            [str(RUNTIME_PYTHON), "-c", "import pkg.sub.mod as m; print(m.VALUE, m.__cached__ is not None)"],
            cwd=tree, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
    finally:
        for path in [tree, *tree.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert shown.stdout.split() == ["1", "True"]


def test_without_the_runtime_python_the_asset_is_bundled_without_bytecode_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(bundling, "_runtime_interpreter", lambda: None)
    tree = small_tree(tmp_path / "asset")
    assert PipLocalBundling().compile_bytecode(tree) is False
    assert list(tree.rglob("*.pyc")) == []
    assert f"no Python {PYTHON_VERSION} on this machine" in capsys.readouterr().err


def test_bytecode_of_another_python_version_is_refused(tmp_path: Path):
    other = next(
        (python for python in (sys.executable,) if bundling.interpreter_version(python) != PYTHON_VERSION),
        None,
    )
    if other is None:
        pytest.skip(f"this interpreter is Python {PYTHON_VERSION}")
    tree = small_tree(tmp_path / "asset")
    with pytest.raises(RuntimeError, match=f"not the runtime's {PYTHON_VERSION}"):
        PipLocalBundling(bytecode_python=other).compile_bytecode(tree)
    assert list(tree.rglob("*.pyc")) == []


def test_an_asset_without_bytecode_has_another_hash():
    assert source_hash(bytecode=True) != source_hash(bytecode=False)
