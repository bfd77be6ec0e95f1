"""Cold start as deployed: a fresh runtime-only process imports the handler, beside a floor process.

Run: .venv/bin/python bench/bench_cold_start.py [--runs 15] [--python python3.12] [--importtime]
     [--bytecode both|none|compiled]

The environment is the Lambda function's, rebuilt on this machine:
- packages: requirements/lambda.txt installed with pip `--no-deps --only-binary=:all: --target` as
  infra/bundling.py builds the asset (for this machine's platform), the runtime-provided ones (boto3
  and its dependencies) into a directory of their own as Lambda's runtime holds them; built once per
  lock and interpreter under the temp directory, then reused;
- code: a copy of functions/kyc_match, as the asset holds it;
- interpreter: `-I -S` (no site-packages, user site or PYTHON* variables), sys.path = code, asset,
  runtime: no development package is visible; Python `infra.bundling.PYTHON_VERSION` when found;
- variables: those the stack gives every function (infra.constructs.function.runtime_environment),
  KYC_STAGE and KYC_OPERATORS of the stage (infra/stages), and those Lambda sets (function name, task
  root, X-Ray context-missing and daemon address). Tracing active: POWERTOOLS_TRACE_DISABLED and
  AWS_XRAY_SDK_ENABLED unset, as in Lambda; the daemon address is 127.0.0.1 (nothing is sent at init).

Timed, alternating, each in a fresh process:
- "ours": import kyc_match.handler (its module-level work included: settings, operator config), then
  the modules the first request imports beyond it, found once by an untimed process that answers
  `--event` with in-memory AWS stand-ins (bench/standins.py), so imports deferred to the first request
  are still counted;
- "floor": boto3, Powertools' APIGatewayRestResolver and pydantic's BaseModel, imported (FLOOR_MODULES);
- "bare floor": the same with `import pydantic` only, printed for comparison;
- "ours + clients" (the "+ first request" line): ours, then the composition root built as the first
  request builds it before its first AWS call (kyc_match.wiring.dependencies(): boto3's clients and
  resources with their service models, the operator adapters, the hashers). No AWS call is made; the
  credentials are dead ones in the variables Lambda sets, so botocore asks no metadata service.
Figures: start to ready as the parent sees it (interpreter start-up and imports; the target), the
CPU time of the process (steadier on a shared machine), and the imports alone as the child times them.

Bytecode (#29 items 1 and 5), both by default, each kind timed in both, alternating:
- "no bytecode": no .pyc anywhere (`-X pycache_prefix=` an empty folder, `-B`): what a cold start
  cost while the asset shipped none, Lambda's code folder being read-only;
- "bytecode": every folder compiled beforehand as unchecked-hash pycs by this interpreter, as
  infra/bundling.py now compiles the asset (`-B`: nothing written), the runtime's packages too.
The target is read on "bytecode", as the asset runs now.
A measurement, not a test: nothing here asserts a time.
"""

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from infra.bundling import (  # noqa: E402 - after the repository is on sys.path
    PACKAGE_DIR,
    PYTHON_VERSION,
    REQUIREMENTS,
    asset_requirements,
)
from infra.config import load_stage_config  # noqa: E402
from infra.constructs.function import runtime_environment  # noqa: E402

TARGET = 1.3
PIP_QUIET = ("--disable-pip-version-check",)
# What any such function loads, imported as code that uses them does: `module:name` is `from module
# import name`. pydantic's top level is lazy (`import pydantic` alone loads ~nothing of it; its BaseModel
# brings in the model machinery): the bare floor with `import pydantic` is printed as well.
FLOOR_MODULES = ("boto3", "aws_lambda_powertools.event_handler:APIGatewayRestResolver", "pydantic:BaseModel")
BARE_FLOOR_MODULES = ("boto3", "aws_lambda_powertools.event_handler:APIGatewayRestResolver", "pydantic")
HANDLER_MODULE = "kyc_match.handler"
# Not a module: the timed child builds the composition root there (kyc_match.wiring.dependencies():
# boto3's clients and resources with their service models, the operator adapters, the hashers), which
# the first request does before its first AWS call; SnapStart's before-snapshot hook does the same.
FIRST_REQUEST_OBJECTS = "(first request's clients)"
LAMBDA_CONTEXT = REPO / "functions" / "kyc_match_tools" / "lambda_context.py"

# The timed child: put the as-deployed directories first, import the given modules, report the time.
# It leaves with os._exit once ready: Lambda keeps an initialised process for the requests, it does
# not tear one down, so the interpreter's teardown (longer with more modules) is no part of a cold start.
TIMED_CHILD = """
import os, sys, time
started = time.perf_counter()
sys.path[:0] = sys.argv[1].split({sep!r})
for name in sys.argv[2].split(","):
    if name == {prime!r}:  # the first request's objects: AWS clients, adapters (no AWS call is made)
        __import__("kyc_match.wiring", fromlist=["dependencies"]).dependencies()
        continue
    module, _, attribute = name.partition(":")
    imported = __import__(module, fromlist=[attribute] if attribute else [])
    if attribute:
        getattr(imported, attribute)
print(time.perf_counter() - started, flush=True)
os._exit(0)
"""

# The untimed child: which modules does the first request import beyond the handler module?
DISCOVERY_CHILD = """
import importlib.util, json, os, sys
sys.path[:0] = sys.argv[1].split({sep!r})
import kyc_match.handler, standins
spec = importlib.util.spec_from_file_location("lambda_context", sys.argv[3])
context = importlib.util.module_from_spec(spec)
spec.loader.exec_module(context)
before = set(sys.modules)
standins.install()
with open(os.devnull, "w") as devnull:
    saved, sys.stdout = sys.stdout, devnull
    response = kyc_match.handler.lambda_handler(json.loads(open(sys.argv[2]).read()), context.local_context())
    sys.stdout = saved
assert response["statusCode"] == 200, response["statusCode"]
print(json.dumps([name for name in sys.modules if name not in before]))
"""


def find_python(requested: str | None) -> str:
    """The Lambda runtime's Python version if this machine has it, else the one running the bench."""
    home = Path.home()
    candidates = [requested] if requested else []
    candidates += [shutil.which(f"python{PYTHON_VERSION}") or ""]
    candidates += [str(path) for path in sorted(home.glob(f".pyenv/versions/{PYTHON_VERSION}*/bin/python3"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version)"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return candidate
    if requested:
        raise SystemExit(f"cannot run {requested}")
    return sys.executable


def build_environment(python: str) -> tuple[Path, Path]:
    """The asset's and the runtime's packages for `python`, built once per lock and interpreter."""
    version = subprocess.run(
        [python, "-c", "import sys, sysconfig; print(sys.version, sysconfig.get_platform())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lock = REQUIREMENTS.read_text(encoding="utf-8")
    key = hashlib.sha256((lock + version).encode()).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / f"kyc-match-cold-start-{key}"
    asset, runtime = root / "asset", root / "runtime"
    if (root / "complete").exists():
        return asset, runtime
    shutil.rmtree(root, ignore_errors=True)
    asset_lines = asset_requirements(lock)
    runtime_lines = [line for line in asset_requirements(lock, frozenset()) if line not in asset_lines]
    for target, lines in ((asset, asset_lines), (runtime, runtime_lines)):
        requirements = root / f"{target.name}.txt"
        target.mkdir(parents=True)
        requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"building {target} from {REQUIREMENTS.name} ({len(lines)} packages)...", flush=True)
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                *PIP_QUIET,
                "--target",
                str(target),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        shutil.rmtree(target / "bin", ignore_errors=True)
    (root / "complete").write_text(version, encoding="utf-8")
    return asset, runtime


def lambda_environment(task_root: Path, runtime: Path, stage: str) -> dict[str, str]:
    """The function's variables (those the stack sets, then those Lambda sets), nothing from here."""
    config = load_stage_config(stage)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        **runtime_environment(config),
        "KYC_STAGE": config.stage,
        "KYC_OPERATORS": config.operators_json,
        "AWS_REGION": "eu-west-1",  # no endpoint and a dead key: nothing can reach AWS
        "AWS_DEFAULT_REGION": "eu-west-1",
        # Lambda gives the execution role's session in these three; clients are built with them at
        # once (without them botocore would ask the instance metadata service, which Lambda has not).
        "AWS_ACCESS_KEY_ID": "ASIABENCHONLYNOTAKEY",
        "AWS_SECRET_ACCESS_KEY": "bench-only-not-a-secret",
        "AWS_SESSION_TOKEN": "bench-only-not-a-token",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PYTHON_VERSION}",
        "AWS_LAMBDA_FUNCTION_NAME": "kyc-match-bench-Match",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
        "_AWS_XRAY_DAEMON_PORT": "2000",
    }


class Deployed:
    """Fresh processes in the as-deployed environment."""

    def __init__(self, python: str, stage: str, work: Path) -> None:
        self.python = python
        asset, runtime = build_environment(python)
        code = work / "task"
        shutil.copytree(PACKAGE_DIR, code / PACKAGE_DIR.name, ignore=shutil.ignore_patterns("__pycache__"))
        self.path = [str(code), str(asset), str(runtime)]
        self.environment = lambda_environment(code, runtime, stage)
        self.no_cache = work / "no-pycache"  # stays empty: -B writes nothing there
        self.no_cache.mkdir()
        self.flags: tuple[str, ...] = ()

    def compile_bytecode(self) -> None:
        """Unchecked-hash pycs for every module of the code, asset and runtime folders, as
        infra/bundling.py compiles the asset (stale or timestamp-based ones replaced)."""
        for folder in self.path:
            subprocess.run(
                [self.python, "-m", "compileall", "-q", "-f", "-j", "0",
                 "--invalidation-mode", "unchecked-hash", folder],
                check=False, capture_output=True,  # a few files of some packages are not Python 3
            )  # fmt: skip

    def use_bytecode(self, compiled: bool) -> None:
        """Children from now on run with the compiled pycs, or with none at all; never writing any."""
        self.flags = ("-B",) if compiled else ("-B", "-X", f"pycache_prefix={self.no_cache}")

    def run(self, code: str, *arguments: str, extra_path: tuple[str, ...] = ()) -> str:
        sys_path = os.pathsep.join([*self.path, *extra_path])
        completed = subprocess.run(
            [self.python, "-I", "-S", *self.flags, "-c", self.child(code), sys_path, *arguments],
            capture_output=True,
            text=True,
            env=self.environment,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"child failed ({completed.returncode}): {completed.stderr[-3000:]}")
        return completed.stdout

    @staticmethod
    def child(code: str) -> str:
        return code.format(sep=os.pathsep, prime=FIRST_REQUEST_OBJECTS)

    def first_request_modules(self, event: Path) -> list[str]:
        output = self.run(DISCOVERY_CHILD, str(event), str(LAMBDA_CONTEXT), extra_path=(str(BENCH),))
        return [name for name in json.loads(output.splitlines()[-1]) if name not in {"lambda_context"}]

    def timed(self, modules: list[str]) -> tuple[float, float, float]:
        """(start to ready, CPU time of the process, imports as the child times them), in seconds."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        output = self.run(TIMED_CHILD, ",".join(modules))
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return wall, cpu, float(output.splitlines()[-1])

    def self_times(self, modules: list[str]) -> dict[str, int]:
        """Each module's own import time in µs (python -X importtime, one process)."""
        child = TIMED_CHILD.format(sep=os.pathsep, prime=FIRST_REQUEST_OBJECTS)
        completed = subprocess.run(
            [
                self.python,
                "-I",
                "-S",
                *self.flags,
                "-X",
                "importtime",
                "-c",
                child,
                os.pathsep.join(self.path),
                ",".join(modules),
            ],
            capture_output=True,
            text=True,
            env=self.environment,
            check=True,
        )
        times = {}
        for line in completed.stderr.splitlines():
            if line.startswith("import time:") and "cumulative" not in line:
                own, _, name = line.removeprefix("import time:").split("|")
                times[name.strip()] = int(own)
        return times

    def beyond_floor(self, ours: list[str], floor: list[str], top: int = 20) -> list[tuple[int, str]]:
        """The modules ours loads and the floor does not, heaviest first by self time (µs)."""
        loaded_by_floor = set(self.self_times(floor))
        extra = {name: own for name, own in self.self_times(ours).items() if name not in loaded_by_floor}
        rows = sorted(((own, name) for name, own in extra.items()), reverse=True)
        return [(sum(extra.values()), f"all {len(extra)} modules"), *rows[:top]]


def spread(values: list[float]) -> str:
    quartiles = statistics.quantiles(values, n=4)
    return f"IQR {quartiles[0] * 1000:.0f}-{quartiles[2] * 1000:.0f}, min {min(values) * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed processes of each kind (>= 11)")
    parser.add_argument("--python", help=f"interpreter (default: Python {PYTHON_VERSION} if found)")
    parser.add_argument("--stage", default="production", help="stage file under infra/stages")
    parser.add_argument("--event", type=Path, default=REPO / "events" / "match-full.json")
    parser.add_argument("--importtime", action="store_true", help="print the heaviest imports of ours")
    parser.add_argument(
        "--bytecode", choices=("both", "none", "compiled"), default="both",
        help="time with no bytecode at all, with unchecked-hash pycs (as the asset has them), or both",
    )  # fmt: skip
    args = parser.parse_args()

    python = find_python(args.python)
    modes = {"both": (False, True), "none": (False,), "compiled": (True,)}[args.bytecode]
    with tempfile.TemporaryDirectory(prefix="kyc-match-cold-") as work:
        deployed = Deployed(python, args.stage, Path(work))
        first_request = deployed.first_request_modules(args.event.resolve())
        deployed.compile_bytecode()
        kinds = {
            "floor": list(FLOOR_MODULES),
            "ours": [HANDLER_MODULE, *first_request],
            "ours + clients": [HANDLER_MODULE, *first_request, FIRST_REQUEST_OBJECTS],
            "bare floor": list(BARE_FLOOR_MODULES),
        }
        for compiled in modes:  # page cache, untimed
            deployed.use_bytecode(compiled)
            for modules in kinds.values():
                deployed.timed(modules)
        by_mode: dict[bool, dict[str, list[tuple[float, float, float]]]] = {
            compiled: {kind: [] for kind in kinds} for compiled in modes
        }
        for _ in range(args.runs):
            for compiled in modes:
                deployed.use_bytecode(compiled)
                for kind, modules in kinds.items():
                    by_mode[compiled][kind].append(deployed.timed(modules))
        deployed.use_bytecode(modes[-1])
        profile = deployed.beyond_floor(kinds["ours"], kinds["floor"]) if args.importtime else []

    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"cold start as deployed ({REQUIREMENTS.relative_to(REPO)}, stage {args.stage}, tracing active), "
        f"medians of {args.runs} alternating fresh processes each"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {version} "
        f"(-I -S), load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"ours: {HANDLER_MODULE} + {len(first_request)} modules the first request imports ({args.event.name})"
    )
    print(f"floor: {', '.join(FLOOR_MODULES)}; bare floor: {', '.join(BARE_FLOOR_MODULES)}")
    ratio = 0.0
    for compiled, samples in by_mode.items():
        title = "bytecode: unchecked-hash pycs, as the asset now carries them" if compiled else (
            "no bytecode: no .pyc anywhere (the asset before #29, a read-only code folder)"
        )  # fmt: skip
        print(f"\n{title}")
        print(f"{'':16}{'ours':>9}{'floor':>9}{'ratio':>8}   spread ours | floor (ms)")
        figures = {
            label: {kind: [sample[column] for sample in values] for kind, values in samples.items()}
            for column, label in enumerate(("start to ready", "CPU time", "imports"))
        }
        for label, by_kind in figures.items():
            ours, floor = statistics.median(by_kind["ours"]), statistics.median(by_kind["floor"])
            print(
                f"{label:16}{ours * 1000:>7.0f}ms{floor * 1000:>7.0f}ms{ours / floor:>7.2f}x   "
                f"{spread(by_kind['ours'])} | {spread(by_kind['floor'])}"
            )
        bare = {
            label: statistics.median(ours["ours"]) / statistics.median(ours["bare floor"])
            for label, ours in figures.items()
        }
        walls, cpus = figures["start to ready"], figures["CPU time"]
        ready, floor_ready = statistics.median(walls["ours + clients"]), statistics.median(walls["floor"])
        clients_cpu = statistics.median(cpus["ours + clients"]) - statistics.median(cpus["ours"])
        print(
            f"{'+ first request':16}{ready * 1000:>7.0f}ms{floor_ready * 1000:>7.0f}ms"
            f"{ready / floor_ready:>7.2f}x   "
            f"start to ready with the first request's clients built (+{clients_cpu * 1000:.0f} ms CPU), "
            f"{spread(walls['ours + clients'])}"
        )
        print(
            "against the bare floor: " + ", ".join(f"{label} {ratio:.2f}x" for label, ratio in bare.items())
        )
        ratio = statistics.median(walls["ours"]) / statistics.median(walls["floor"])
    if len(by_mode) == 2:  # both modes timed
        cpu = {
            compiled: statistics.median([sample[1] for sample in samples["ours"]])
            for compiled, samples in by_mode.items()
        }
        print(f"\nours with bytecode / without: CPU time {cpu[True] / cpu[False]:.2f}x")
    print(f"target: start to ready <= {TARGET}x the floor -> {'met' if ratio <= TARGET else 'NOT met'}")
    if profile:
        print("\nimported by ours beyond the floor (python -X importtime, self time, one process each):")
        for own, name in profile:
            print(f"{own / 1000:>9.1f} ms  {name}")


if __name__ == "__main__":
    main()
