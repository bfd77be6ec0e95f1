"""Lambda SnapStart (#29 item 2): what the snapshot of an initialised container holds, and what every
container restored from it makes its own.

With SnapStart on (the match function's published versions, infra/constructs/function.py), Lambda
initialises one container, runs its before-snapshot hooks, snapshots its memory and restores every
later container from that copy, running the after-restore hooks first. Anything in that memory is
shared by every copy, for as long as the version serves: randomness, keys, credentials, connections
and clocks' readings must not be.

- Before the snapshot, `before_snapshot` builds the composition root once (the adapters' modules are
  imported, botocore's service models loaded, the matching engine's rapidfuzz and jaconv imported, so a
  restored container skips that work) and then
  forgets every built object: the snapshot holds code, parsed settings and operator configuration,
  botocore's loaded model files and idle thread pools, and no client, key, token, connection or
  cached answer.
- After each restore, `after_restore` forgets the same again (whatever was built before the snapshot,
  by this module or anything added later) and re-seeds `random`, so each copy builds its own on its
  first request: new AWS clients on a new boto3 session (credentials resolved again), a new httpx pool
  for the operators, a new DPoP key with no token bound to the old one, empty time-bounded caches
  (routes, clients, policies, health, tokens).

`uuid.uuid4()` (every `jti`, the correlators) and `os.urandom` read the kernel's generator, which
Lambda makes unique per restored container; `random` (the retries' jitter) is a seeded generator in
memory, so it is re-seeded here.

The hooks are registered with the runtime's `snapshot_restore_py` module, which the Python 3.12
managed runtime provides (it is not in the asset: a copy there would shadow the runtime's). Where it
is absent (`kyc-match serve`, the tests, the CLI) nothing is registered and nothing changes.
"""

import importlib
import random
import sys
from types import ModuleType

from kyc_match import aws, wiring
from kyc_match.matching import load_libraries
from kyc_match.observability import logger

RUNTIME_HOOKS = "snapshot_restore_py"
# Modules imported on first use rather than at start (a match request never needs them), loaded into
# the snapshot all the same: the sandbox operator's line-history answer types, a decision's values.
LOADED_BEFORE_SNAPSHOT = ("kyc_match.domain.line_history", "kyc_match.domain.decision_model")


def register_hooks(hooks: ModuleType | None = None) -> bool:
    """Register `before_snapshot` and `after_restore` with the runtime's hooks module (or `hooks`, a
    module with the same two functions); False where the runtime has none."""
    runtime = hooks if hooks is not None else _runtime_hooks()
    if runtime is None:
        return False
    runtime.register_before_snapshot(before_snapshot)
    runtime.register_after_restore(after_restore)
    return True


def _runtime_hooks() -> ModuleType | None:
    try:
        return importlib.import_module(RUNTIME_HOOKS)
    except ImportError:
        return None


def before_snapshot() -> None:
    """Load what the first request needs into the snapshot, then drop what must not be shared."""
    _prime()
    forget_container_state()


def after_restore() -> None:
    """Make this restored copy's own randomness, keys, clients, connections and caches."""
    forget_container_state()


def forget_container_state() -> None:
    """Everything a container holds that is random, secret, connected or time-bounded, forgotten; the
    next request builds it anew. Modules not loaded yet are not imported for this."""
    random.seed()  # from os.urandom: every copy its own jitter
    wiring.forget_container()  # adapters with their clients, tokens, breakers and caches
    dpop = sys.modules.get("kyc_match.operators.dpop")
    if dpop is not None:
        # The container's DPoP key: the rebuilt adapters get a new one (their token caches are new,
        # so no token bound to the old key is used again; the old adapters go with it).
        dpop.container_proof_keys.cache_clear()
    camara = sys.modules.get("kyc_match.operators.camara")
    if camara is not None:
        camara.forget_shared_http_client()  # its pooled connections were opened by another container
    aws.renew_session()  # its credentials resolved anew, not the snapshot's


def _prime() -> None:
    """Build the API's adapters once (no AWS call: clients connect on first use), for their imports
    and service models. A failure leaves the snapshot unprimed, never unsafe: it is logged."""
    try:
        wiring.dependencies()
        load_libraries()  # the matching engine's, imported on first use otherwise (matching/similarity.py)
        for module in LOADED_BEFORE_SNAPSHOT:
            importlib.import_module(module)
    except Exception as error:  # priming is an optimisation; its type is logged
        logger.warning("snapshot not primed", extra={"error": type(error).__name__})
