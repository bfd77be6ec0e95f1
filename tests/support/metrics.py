"""The CloudWatch embedded-metric-format (EMF) lines the function prints to stdout."""

import json
from typing import Any


def emf_lines(out: str, metric: str) -> list[dict[str, Any]]:
    """Each EMF document printed in `out` that carries a value of `metric`, in order."""
    documents = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    return [document for document in documents if metric in document]
