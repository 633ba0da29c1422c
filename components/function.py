"""Function: one Lambda (zip or container image) with its own role, log group and security group.

With ``snap_start`` (zip packages only) every change publishes a version with Lambda SnapStart and
moves the ``live`` alias to it: new execution environments resume from a snapshot taken after the
module-level initialisation (imports, SDK clients, the app) instead of running it, so a cold start
skips init. Callers then invoke :attr:`Function.entry_arn` (the alias), never ``$LATEST``.

The role starts with only what running needs, all of it inline (no AWS managed policy, whose statements
grant on ``Resource: "*"``): writing to its own log group, the network interfaces Lambda manages for it
when in a VPC (creating them only in its own subnets with its own security group), and X-Ray when traced.
Everything else is an explicit grant (`grant_*`), each naming exact actions on exact resources, never
``*`` actions. Of all these, only the actions AWS authorises on no narrower resource take ``"*"``
(:data:`UNSCOPED_ACTIONS`, each with the reason).

In a VPC the function's security group lets out only HTTPS (to the Internet, through the NAT: AWS APIs,
Stripe, Resend, the DVLA, Clerk, R2) and, through :meth:`Function.reach`, exactly the paths its links open
to it (PostgreSQL to the database's security group). DNS needs no rule: security groups never filter the
VPC's resolver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws

from components._common import (
    Component,
    ComponentArgsError,
    Transform,
    check_transform_keys,
    no_tags,
    policy_document,
    roles_of,
    trust_policy,
    with_name_tag,
)

Architecture = Literal["arm64", "x86_64"]
LIVE_ALIAS = "live"
RUNTIME = "python3.12"
HTTPS = 443
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
"""What active tracing needs of the execution role (the two write actions of ``AWSXRayDaemonWriteAccess``;
no code here reads X-Ray's sampling rules)."""
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
ENI_CREATE_ACTIONS = ("ec2:CreateNetworkInterface",)
ENI_MANAGE_ACTIONS = ("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")
"""The network-interface actions of ``AWSLambdaVPCAccessExecutionRole`` (less its log actions, which the
function's own log policy scopes), split by how far AWS lets each be scoped."""
UNSCOPED_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray authorises trace writes on no resource type",
    "xray:PutTelemetryRecords": "X-Ray authorises telemetry writes on no resource type",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe* actions support no resource-level permissions",
    "ec2:DescribeSubnets": "EC2 Describe* actions support no resource-level permissions",
}
"""The only actions a function's role is allowed on ``"*"``, and why (the policy pack's allow-list says the
same, independently)."""
LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
"""The retention values CloudWatch Logs accepts."""
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED_ENV = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_ACCESS_KEY_ID"})


class FunctionTransforms(TypedDict, total=False):
    """The roles of :class:`Function`'s children, each with its transform hook's args type."""

    log_group: Transform[aws.cloudwatch.LogGroupArgs]
    """``/aws/lambda/<function_name>`` (``<name>-logs``)."""
    role: Transform[aws.iam.RoleArgs]
    """The execution role (``<name>-role``)."""
    log_policy: Transform[aws.iam.RolePolicyArgs]
    """Writing to the function's own log group (``<name>-logs``)."""
    xray_policy: Transform[aws.iam.RolePolicyArgs]
    """With tracing: writing traces to X-Ray (``<name>-xray``)."""
    security_group: Transform[aws.ec2.SecurityGroupArgs]
    """In a VPC: the function's security group (``<name>-sg``)."""
    egress: Transform[aws.vpc.SecurityGroupEgressRuleArgs]
    """In a VPC: HTTPS out through the NAT (``<name>-out``)."""
    reach: Transform[aws.vpc.SecurityGroupEgressRuleArgs]
    """In a VPC, keyed by label: out to another security group, mirroring the ingress rule that admits the
    function there (``<name>-to-<label>``, :meth:`Function.reach`)."""
    vpc_policy: Transform[aws.iam.RolePolicyArgs]
    """In a VPC: the network interfaces Lambda manages for the function (``<name>-vpc``)."""
    function: Transform[aws.lambda_.FunctionArgs]
    """The Lambda function (``<name>-function``)."""
    alias: Transform[aws.lambda_.AliasArgs]
    """With SnapStart: the ``live`` alias (``<name>-live``)."""
    grant: Transform[aws.iam.RolePolicyArgs]
    """Keyed by label: one ``grant_*`` call's inline policy (``<name>-grant-<label>``)."""


ROLES = roles_of(FunctionTransforms)


def _empty_env() -> dict[str, pulumi.Input[str]]:
    return {}


@dataclass(frozen=True, slots=True)
class ZipCode:
    """A zip package: the archive and the handler's dotted path."""

    archive: pulumi.Input[pulumi.Archive]
    handler: str
    runtime: str = RUNTIME
    source_code_hash: str | None = None
    """Base64 SHA-256 of the archive, so an unchanged build never updates the function."""


@dataclass(frozen=True, slots=True)
class ImageCode:
    """A container image package: a digest-pinned image URI and optionally the CMD override."""

    image_uri: pulumi.Input[str]
    command: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class VpcPlacement:
    """Where a function runs inside a VPC."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]


@dataclass(frozen=True, slots=True)
class FunctionArgs:
    """Arguments of :class:`Function`."""

    function_name: str
    """Physical name, at most 64 letters, digits, hyphens and underscores; also names the role and log group."""
    code: ZipCode | ImageCode
    """The package: :class:`ZipCode` or :class:`ImageCode`."""
    log_retention_days: int
    """Retention of the function's own log group (a CloudWatch-accepted value)."""
    architecture: Architecture = "arm64"
    """CPU architecture; arm64 is cheaper per GB-second."""
    memory_mb: int = 512
    """Memory, 128 to 10240 MB (CPU scales with it)."""
    timeout_s: int = 30
    """Timeout, 1 to 900 seconds."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=_empty_env)
    """Environment variables (names, ARNs, endpoints; never secret values)."""
    reserved_concurrency: int | None = None
    """Reserved concurrent executions; ``None`` uses the account's unreserved pool."""
    tracing: bool = True
    """X-Ray active tracing."""
    snap_start: bool = False
    """Publish versions with SnapStart behind the ``live`` alias (zip packages only)."""
    vpc: VpcPlacement | None = None
    """Run inside these private subnets with a security group that lets out only HTTPS (and what
    :meth:`Function.reach` adds)."""
    description: str = ""
    """Shown in the console."""
    wait_for: Sequence[pulumi.Input[pulumi.Resource]] = ()
    """Resources the function itself must wait for (e.g. the migration run before the API changes); an
    ``Output`` of a resource also waits for the value (a failed check inside it fails this function's
    registration). A component's own ``depends_on`` does not reach its children."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: FunctionTransforms = field(default_factory=FunctionTransforms)
    """Per-child hooks keyed by role (see :class:`FunctionTransforms`)."""

    def __post_init__(self) -> None:
        if not _FUNCTION_NAME.match(self.function_name):
            raise ComponentArgsError(
                f"FunctionArgs.function_name: {self.function_name!r} must be 1-64 letters, digits, '-' or '_'"
            )
        if not 128 <= self.memory_mb <= 10_240:
            raise ComponentArgsError(f"FunctionArgs.memory_mb: {self.memory_mb} is outside 128-10240 MB")
        if not 1 <= self.timeout_s <= 900:
            raise ComponentArgsError(f"FunctionArgs.timeout_s: {self.timeout_s} is outside 1-900 s")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ComponentArgsError(
                f"FunctionArgs.log_retention_days: {self.log_retention_days} is not a CloudWatch retention value "
                f"({', '.join(map(str, LOG_RETENTION_DAYS))})"
            )
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise ComponentArgsError("FunctionArgs.reserved_concurrency: must be 0 or more")
        for key in self.environment:
            if not _ENV_NAME.match(key) or key in _RESERVED_ENV:
                raise ComponentArgsError(f"FunctionArgs.environment: {key!r} is not a settable variable name")
        if self.snap_start and not isinstance(self.code, ZipCode):
            raise ComponentArgsError("FunctionArgs.snap_start: Lambda SnapStart does not support container images")
        check_transform_keys("Function", self.transforms, ROLES)


def network_interface_policy(log_group_arn: str, security_group_id: str, subnet_ids: Sequence[str]) -> str:
    """The network-interface grant of a function in a VPC, scoped as far as EC2 allows: creating interfaces
    only in its subnets with its security group, managing interfaces of its account and region, describing
    (which EC2 authorises on no resource) anywhere. The account and region come from the function's own log
    group, so the grant needs no lookup."""
    _, _, _, region, account, *_ = log_group_arn.split(":")
    ec2 = f"arn:aws:ec2:{region}:{account}"
    interfaces = f"{ec2}:network-interface/*"
    return policy_document(
        [
            {"Sid": "DescribeInterfaces", "Effect": "Allow", "Action": list(ENI_DESCRIBE_ACTIONS), "Resource": "*"},
            {
                "Sid": "CreateInterfaces",
                "Effect": "Allow",
                "Action": list(ENI_CREATE_ACTIONS),
                "Resource": [
                    interfaces,
                    f"{ec2}:security-group/{security_group_id}",
                    *(f"{ec2}:subnet/{subnet}" for subnet in sorted(subnet_ids)),
                ],
            },
            {
                "Sid": "ManageInterfaces",
                "Effect": "Allow",
                "Action": list(ENI_MANAGE_ACTIONS),
                "Resource": [interfaces],
            },
        ]
    )


class Function(Component):
    """One Lambda function with least-privilege role, its own log group and (in a VPC) security group.

    Roles (``nodes`` and ``transforms``, see :class:`FunctionTransforms`): ``log_group``, ``role``,
    ``log_policy``, ``xray_policy`` (traced), ``security_group``, ``egress``, ``vpc_policy`` (in a VPC),
    ``function``, ``alias`` (SnapStart), ``grant`` (keyed by label, one per ``grant_*`` call) and ``reach``
    (keyed by label, one per :meth:`Function.reach` call).
    """

    function_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]
    entry_arn: pulumi.Output[str]
    """What callers (API Gateway) invoke: the ``live`` alias with SnapStart, else the function."""
    entry_qualifier: str | None
    """The alias name callers' permissions must name (``live``), or ``None`` for the unqualified function."""
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    last_modified: pulumi.Output[str]
    """Changes with every code or configuration update (triggers run-on-deploy invocations)."""
    security_group_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:Function", name, args.transforms, ROLES, opts)
        fname = args.function_name
        # Created before the function, so Lambda never auto-creates an unmanaged group without retention.
        log_group = self.child(
            "log_group",
            aws.cloudwatch.LogGroup,
            aws.cloudwatch.LogGroupArgs(
                name=f"/aws/lambda/{fname}", retention_in_days=args.log_retention_days, tags=args.tags
            ),
            "logs",
        )
        role = self.child(
            "role",
            aws.iam.Role,
            aws.iam.RoleArgs(
                name=fname,
                description=f"Execution role of {fname}",
                assume_role_policy=trust_policy("lambda.amazonaws.com"),
                tags=args.tags,
            ),
            "role",
        )
        self._role = role
        logs_policy = self.child(
            "log_policy",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=log_group.arn.apply(
                    lambda arn: policy_document(
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": [f"{arn}:*"],
                            }
                        ]
                    )
                ),
            ),
            "logs",
        )
        depends: list[pulumi.Resource] = [log_group, logs_policy]
        if args.tracing:
            depends.append(
                self.child(
                    "xray_policy",
                    aws.iam.RolePolicy,
                    aws.iam.RolePolicyArgs(
                        role=role.id,
                        policy=policy_document(
                            [{"Sid": "Traces", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"}]
                        ),
                    ),
                    "xray",
                )
            )

        vpc_config: aws.lambda_.FunctionVpcConfigArgs | None = None
        self.security_group_id = None
        self._security_group: aws.ec2.SecurityGroup | None = None
        if args.vpc is not None:
            security_group = self.child(
                "security_group",
                aws.ec2.SecurityGroup,
                aws.ec2.SecurityGroupArgs(
                    vpc_id=args.vpc.vpc_id,
                    description=f"Lambda {fname}: egress only",
                    tags=with_name_tag(args.tags, fname),
                ),
                "sg",
            )
            self._security_group = security_group
            self.child(
                "egress",
                aws.vpc.SecurityGroupEgressRule,
                aws.vpc.SecurityGroupEgressRuleArgs(
                    security_group_id=security_group.id,
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    cidr_ipv4="0.0.0.0/0",
                    description="HTTPS out through the NAT",
                ),
                "out",
            )
            depends.append(
                self.child(
                    "vpc_policy",
                    aws.iam.RolePolicy,
                    aws.iam.RolePolicyArgs(
                        role=role.id,
                        policy=pulumi.Output.all(
                            log_group.arn, security_group.id, pulumi.Output.from_input(args.vpc.subnet_ids)
                        ).apply(lambda v: network_interface_policy(str(v[0]), str(v[1]), [str(s) for s in v[2]])),
                    ),
                    "vpc",
                )
            )
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.vpc.subnet_ids, security_group_ids=[security_group.id]
            )
            self.security_group_id = security_group.id

        zip_code = args.code if isinstance(args.code, ZipCode) else None
        image_code = args.code if isinstance(args.code, ImageCode) else None
        function = self.child(
            "function",
            aws.lambda_.Function,
            aws.lambda_.FunctionArgs(
                name=fname,
                description=args.description,
                role=role.arn,
                architectures=[args.architecture],
                memory_size=args.memory_mb,
                timeout=args.timeout_s,
                environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
                if args.environment
                else None,
                reserved_concurrent_executions=args.reserved_concurrency,
                tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active" if args.tracing else "PassThrough"),
                logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
                vpc_config=vpc_config,
                tags=args.tags,
                package_type="Zip" if zip_code else "Image",
                code=zip_code.archive if zip_code else None,
                handler=zip_code.handler if zip_code else None,
                runtime=zip_code.runtime if zip_code else None,
                source_code_hash=zip_code.source_code_hash if zip_code else None,
                image_uri=image_code.image_uri if image_code else None,
                image_config=aws.lambda_.FunctionImageConfigArgs(commands=list(image_code.command))
                if image_code and image_code.command
                else None,
                publish=True if args.snap_start else None,
                snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions") if args.snap_start else None,
            ),
            "function",
            opts=pulumi.ResourceOptions(depends_on=[*depends, *args.wait_for]),
        )

        self.function_name = function.name
        self.arn = function.arn
        self.invoke_arn = function.invoke_arn
        self.entry_arn = function.arn
        self.entry_qualifier = None
        if args.snap_start:
            alias = self.child(
                "alias",
                aws.lambda_.Alias,
                aws.lambda_.AliasArgs(
                    name=LIVE_ALIAS,
                    function_name=function.name,
                    function_version=function.version,
                    description="The published version callers invoke (SnapStart)",
                ),
                "live",
            )
            self.entry_arn = alias.arn
            self.entry_qualifier = LIVE_ALIAS
        self.role_arn = role.arn
        self.role_name = role.name
        self.log_group_name = log_group.name
        self.last_modified = function.last_modified
        self.register_outputs(
            {
                "function_name": self.function_name,
                "arn": self.arn,
                "role_arn": self.role_arn,
                "log_group_name": self.log_group_name,
            }
        )

    def reach(self, label: str, admitted: aws.vpc.SecurityGroupIngressRule) -> aws.vpc.SecurityGroupEgressRule:
        """Let the function out to where ``admitted`` (an ingress rule admitting this function's security group
        elsewhere, e.g. the database's PostgreSQL rule) lets it in: the same security group, protocol and ports,
        so the two sides of the path never disagree (``<name>-to-<label>``)."""
        if self._security_group is None:
            raise ComponentArgsError(f"Function {self._name!r}: reach({label!r}) needs the function in a VPC")
        return self.child(
            "reach",
            aws.vpc.SecurityGroupEgressRule,
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=self._security_group.id,
                referenced_security_group_id=admitted.security_group_id,
                ip_protocol=admitted.ip_protocol,
                from_port=admitted.from_port,
                to_port=admitted.to_port,
                description=f"to {label}",
            ),
            f"to-{label}",
            key=label,
        )

    def _grant(self, label: str, statements: pulumi.Input[str]) -> aws.iam.RolePolicy:
        return self.child(
            "grant",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(role=self._role.id, policy=statements),
            f"grant-{label}",
            key=label,
        )

    def grant_secret_read(self, label: str, secret_arn: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Read one Secrets Manager secret (e.g. the database's RDS-managed master secret)."""
        return self._grant(
            label,
            pulumi.Output.from_input(secret_arn).apply(
                lambda arn: policy_document(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                            "Resource": [arn],
                        }
                    ]
                )
            ),
        )

    def grant_bucket_read_write(self, label: str, bucket_arn: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Read and write objects of one S3 bucket (R2 buckets are reached with R2 keys instead)."""
        return self._grant(
            label,
            pulumi.Output.from_input(bucket_arn).apply(
                lambda arn: policy_document(
                    [
                        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [arn]},
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                            "Resource": [f"{arn}/*"],
                        },
                    ]
                )
            ),
        )

    def grant_invoke(self, label: str, function_arn: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Invoke exactly one other function."""
        return self._grant(
            label,
            pulumi.Output.from_input(function_arn).apply(
                lambda arn: policy_document(
                    [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [arn]}]
                )
            ),
        )

    def grant_parameters_read(self, label: str, parameter_arns: Sequence[pulumi.Input[str]]) -> aws.iam.RolePolicy:
        """Read the named SSM parameters (SecureStrings under the AWS-managed SSM key decrypt via SSM)."""
        return self._grant(
            label,
            pulumi.Output.all(*parameter_arns).apply(
                lambda arns: policy_document(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                            "Resource": sorted(str(a) for a in arns),
                        }
                    ]
                )
            ),
        )
