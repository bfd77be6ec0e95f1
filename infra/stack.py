"""One stack per region and stage: wires the capability constructs together, nothing more."""

from typing import Any

from aws_cdk import Stack, Tags

from constructs import Construct
from infra.config import StageConfig
from infra.constructs.api import Api
from infra.constructs.function import MatchFunction
from infra.constructs.keys import Keys
from infra.constructs.monitoring import Monitoring
from infra.constructs.storage import Storage


class KycMatchStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("service", "kyc-match")
        Tags.of(self).add("stage", config.stage)

        self.keys = Keys(self, "Keys", stage=config.stage)
        self.storage = Storage(self, "Storage", encryption_key=self.keys.data_key)
        self.match_function = MatchFunction(
            self, "Match", config=config, tables=self.storage.tables, keys=self.keys
        )
        self.api = Api(
            self, "Api", config=config, handler=self.match_function.function, log_key=self.keys.data_key
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            stage=self.api.rest_api.deployment_stage,
            function=self.match_function.function,
            topic_key=self.keys.data_key,
        )
