"""The one Logger, Tracer and Metrics of the function, configured by POWERTOOLS_* variables.

Events are never logged (they carry personal data); log lines name attributes, never values.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "kyc-match"
NAMESPACE = "KycMatch"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
