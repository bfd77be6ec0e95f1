"""Simulated DPoP operators for bench/aws_calls.py (#24 item 5): a JWT Bearer one and a CIBA one, both
requiring DPoP proofs, on loopback, verifying our KMS-signed client assertions against our JWKS (served
here from memory). Their calls cost no AWS call of their own: what the bench counts is ours."""

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kyc_match_tools.operator_sim import SimulatorHandle, start_simulator

CLIENT_ID = "aggregator-bench"
PREFIXES = {"jwt-bearer": "+33", "ciba": "+49"}


@contextlib.contextmanager
def jwks_server(jwks: Mapping[str, Any]) -> Iterator[str]:
    """`GET /.well-known/jwks.json` on loopback: our public keys, as the function publishes them."""
    payload = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def entry(sim: SimulatorHandle, grant: str) -> dict[str, Any]:
    return {
        "id": f"op-dpop-{grant}",
        "kind": "camara",
        "prefixes": [PREFIXES[grant]],
        "baseUrl": sim.url,
        "auth": {"grant": grant, "issuer": sim.issuer, "clientId": CLIENT_ID, "dpop": True},
        "timeoutSeconds": 8,
    }


@contextlib.contextmanager
def dpop_operators(jwks: Mapping[str, Any], subscribers: Sequence[Mapping[str, Any]]) -> Iterator[list[dict]]:
    """The two simulators, running for the block; yields their KYC_OPERATORS entries."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(jwks_server(jwks))
        sims = {
            grant: stack.enter_context(
                start_simulator(
                    subscribers,
                    operator_id=f"op-dpop-{grant}",
                    client_id=CLIENT_ID,
                    client_secret=None,
                    client_jwks_url=url,
                    grants=(grant,),
                    ciba_interval_seconds=0.01,  # the subscriber answers at once: a count, not a time
                )
            )
            for grant in PREFIXES
        }
        for sim in sims.values():
            sim.faults.set(dpop=True)
        yield [entry(sim, grant) for grant, sim in sims.items()]
