"""Size of the Lambda code asset, built exactly as the CDK app builds it.

Run: .venv/bin/python bench/bench_package.py [--keep DIR]

Calls the infra's own local bundling (`infra.bundling.PipLocalBundling`: arm64 cp312
wheels from requirements/lambda.txt minus what the runtime provides, plus functions/kyc_match),
then zips the result as the CDK asset zip (deflate), and prints the zipped and unzipped sizes, the
ratio to the 10 MB target and the largest top-level entries. pip reaches the package index (or its
cache). A measurement, not a test.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_BYTES = 10 * 1024 * 1024
MB = 1024 * 1024


def build(output_dir: Path) -> None:
    sys.path.insert(0, str(REPO))
    from infra.bundling import PipLocalBundling  # noqa: PLC0415 - aws_cdk is slow to import

    PipLocalBundling().try_bundle(str(output_dir), image=None)  # type: ignore[arg-type]


def zip_asset(source: Path, archive: Path) -> None:
    """Files in sorted order, deflated, as the CDK's asset zip holds them."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(source).as_posix())


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="leave the unzipped asset and the zip in this folder")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="kyc-match-asset-"))
    asset, archive = work / "asset", work / "asset.zip"
    shutil.rmtree(asset, ignore_errors=True)
    asset.mkdir(parents=True)
    try:
        started = time.monotonic()
        build(asset)
        zip_asset(asset, archive)
        elapsed = time.monotonic() - started
        zipped, unzipped = archive.stat().st_size, tree_size(asset)
        entries = sorted(((tree_size(entry), entry.name) for entry in asset.iterdir()), reverse=True)
        print(f"Lambda asset (as infra/bundling.py bundles it), built in {elapsed:.0f} s")
        print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
        print(
            f"zipped:   {zipped / MB:6.2f} MB   ratio to the 10 MB target: {zipped / TARGET_BYTES:.2f}x "
            f"-> {'met' if zipped < TARGET_BYTES else 'NOT met'}"
        )
        print(f"unzipped: {unzipped / MB:6.2f} MB   (Lambda's limit: 250 MB)")
        print("largest entries (unzipped):")
        for size, name in entries[:12]:
            print(f"  {size / MB:6.2f} MB  {name}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
