"""The function asset: built locally without Docker, arm64 wheels for cp312, no runtime-provided boto3."""

import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from aws_cdk import AssetStaging
from cdk_support import resources_of, synthesize, without_aws_credentials
from infra.app import stack_name
from infra.bundling import (
    PACKAGE_DIR,
    REQUIREMENTS,
    RUNTIME_PROVIDED,
    asset_requirements,
    canonical_name,
    source_hash,
)

ELF_MACHINE_AARCH64 = 0xB7


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


@pytest.fixture(scope="module")
def bundled_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one real bundling of the suite: synth with bundling on (pip reaches the package index)."""
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
    assert not list(bundled_asset.rglob("__pycache__"))
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


def test_bundled_asset_zips_below_12_mb(bundled_asset: Path, tmp_path: Path):
    archive = tmp_path / "asset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(bundled_asset.rglob("*")):
            zipped.write(path, path.relative_to(bundled_asset))
    size = archive.stat().st_size
    print(f"zipped asset: {size / 1e6:.1f} MB")
    # 10 MB until #12: cryptography (KMS's DER signatures and public keys -> JOSE) adds ~2.5 MB zipped.
    # It is imported only by containers with a camara operator or serving the JWKS, not at cold start.
    assert size < 12 * 1024 * 1024
