"""CDK app of the KYC Match API: one stack per region and stage (see docs/deploy.md)."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"

# The stack builds its tables and validates operator config with the application's own definitions
# (kyc_match.tables, kyc_match.operators.config) so code and infrastructure cannot drift. The package
# lives under functions/ and is not necessarily installed in the environment running `cdk synth`.
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))
