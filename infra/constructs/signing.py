"""Lambda code signing (#25 item 6): a stage with `codeSigning` gets, once per stack, an AWS Signer
profile, a code-signing config that trusts only that profile, and the role the pipeline's signing step
assumes to sign the published function asset (docs/deploy.md, Supply chain).

Every function running the service's asset (ServiceFunction) takes the config; with Enforce, Lambda
refuses to create or update one with code the profile did not sign, whoever calls it.
"""

from aws_cdk import Aws, DefaultStackSynthesizer, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_signer as signer

from constructs import Construct
from infra.config import CodeSigning as CodeSigningSettings
from infra.config import StageConfig
from infra.nag import acknowledge

CONSTRUCT_ID = "CodeSigning"
# The bucket `cdk bootstrap` makes for file assets (default qualifier): CDK publishes the function's
# zip there as <asset hash>.zip, and the signing step replaces that object with its signed copy.
ASSETS_BUCKET = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
    "${Qualifier}", DefaultStackSynthesizer.DEFAULT_QUALIFIER
)
SIGNED_PREFIX = "signed/"  # where Signer writes its signed copies in that bucket


def signing_profile_name(stage: str) -> str:
    """The profile's name: fixed, so the pipeline's step can name it (letters, digits, underscores).
    Signer never reuses the name of a cancelled profile: a replacement profile needs a new name."""
    return f"kyc_match_{stage}"


def signer_role_name(stage: str, region: str) -> str:
    """The role the pipeline's signing step assumes in the stage's account and region."""
    return f"kyc-match-{stage}-{region}-code-signer"


def assets_bucket(account: str, region: str) -> str:
    return ASSETS_BUCKET.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)


class CodeSigning(Construct):
    """The stack's signing profile, its code-signing config and the signer role."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, settings: CodeSigningSettings):
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.profile = signer.SigningProfile(
            self,
            "Profile",
            platform=signer.Platform.AWS_LAMBDA_SHA384_ECDSA,
            signing_profile_name=signing_profile_name(stage),
        )
        self.config = lambda_.CodeSigningConfig(
            self,
            "Config",
            signing_profiles=[self.profile],
            untrusted_artifact_on_deployment=(
                lambda_.UntrustedArtifactOnDeployment.ENFORCE
                if settings.untrusted_artifacts == "Enforce"
                else lambda_.UntrustedArtifactOnDeployment.WARN
            ),
            description=f"kyc-match {stage}: only code signed by {signing_profile_name(stage)}",
        )
        # The pipeline's signing step (infra/pipeline.py): signs the published asset, nothing else.
        self.signer_role = iam.Role(
            self,
            "SignerRole",
            role_name=signer_role_name(stage, region),
            assumed_by=iam.AccountPrincipal(settings.signer_account),
            description="kyc-match pipeline: sign the function asset with the stage's signing profile",
        )
        bucket = assets_bucket(Aws.ACCOUNT_ID, Aws.REGION)
        jobs = f"arn:{Aws.PARTITION}:signer:{Aws.REGION}:{Aws.ACCOUNT_ID}:/signing-jobs/*"
        objects = f"arn:{Aws.PARTITION}:s3:::{bucket}/*"
        self.signer_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["signer:StartSigningJob", "signer:GetSigningProfile"],
                resources=[self.profile.signing_profile_arn],
            )
        )
        self.signer_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["signer:DescribeSigningJob"], resources=[jobs])
        )
        self.signer_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], resources=[objects]
            )
        )
        policy = self.signer_role.node.find_child("DefaultPolicy")
        nag_bucket = assets_bucket("<AWS::AccountId>", "<AWS::Region>")  # as cdk-nag names the tokens
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:signer:<AWS::Region>:<AWS::AccountId>:"
            "/signing-jobs/*]",
            "signer:DescribeSigningJob on the account's signing jobs: a job's id is known only once started "
            "(the step waits for its own job).",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{nag_bucket}/*]",
            "The CDK bootstrap assets bucket's objects: the step reads the published asset (by version), "
            "Signer writes the signed copy under signed/ and the step puts it in the asset's place; asset "
            "keys are content hashes known only at synth.",
        )

    @staticmethod
    def of(scope: Construct, config: StageConfig) -> "CodeSigning | None":
        """The stack's one CodeSigning (made on first use), or None when the stage signs no code."""
        if config.code_signing is None:
            return None
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(CONSTRUCT_ID)
        if isinstance(existing, CodeSigning):
            return existing
        return CodeSigning(stack, CONSTRUCT_ID, stage=config.stage, settings=config.code_signing)


def code_signing_config(scope: Construct, config: StageConfig) -> lambda_.ICodeSigningConfig | None:
    """What a function of the stage passes as code_signing_config (None: unsigned code is accepted)."""
    signing = CodeSigning.of(scope, config)
    return signing.config if signing is not None else None
