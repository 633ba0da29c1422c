"""The platform's policy rules, written once and run two ways.

* Offline, by `evaluate` over the resources the plan harness captured (`infra.planned.PlannedResource`).
* By the Pulumi policy engine, through `policies()` which wraps each rule in a `pulumi_policy`
  `ResourceValidationPolicy` / `StackValidationPolicy` (see `__main__.py` beside this file).

Rules read properties the way the engine sends them (camelCase), apply the provider's default when a
property is absent, and treat an unknown value (``None`` offline; the engine raises its own
``UnknownValueError`` on access) as "cannot judge yet", never as a violation or a crash.

This module is self-contained (standard library only, `pulumi_policy` imported lazily) because the
policy pack runs in its own environment with only `pulumi` and `pulumi-policy` installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Props = Mapping[str, Any]
PUBLIC_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
DEFAULT_CONFIG: dict[str, Any] = {
    "minBackupRetentionDays": 7,
    "productionMinBackupRetentionDays": 14,
    "personalMinBackupRetentionDays": 1,
}
"""Policy configuration (the engine's policy config overrides it per policy)."""

CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DB_INSTANCE = "aws:rds/instance:Instance"
KMS_KEY = "aws:kms/key:Key"
EC2_INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AUTO_SCALING_GROUP = "aws:autoscaling/group:Group"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
API_V2_STAGE = "aws:apigatewayv2/stage:Stage"
API_V1_STAGE = "aws:apigateway/stage:Stage"
RULESET = "cloudflare:index/ruleset:Ruleset"
RATE_LIMIT_PHASE = "http_ratelimit"
CLIENT_CHARACTERISTICS = frozenset({"ip.src", "cf.unique_visitor_id"})
"""What tells one client from another in a rate-limiting rule: its address, or its address with NAT support."""
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_INVOCATION = "aws:lambda/invocation:Invocation"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
TLS_POLICIES = frozenset({"TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"})
"""CloudFront security policies at least as strict as TLSv1.2_2021."""
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IDENTITY_POLICIES = (ROLE_POLICY, IAM_POLICY, USER_POLICY, GROUP_POLICY)
ROLE = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
ROLE_POLICIES_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
ATTACHMENTS = (
    ROLE,
    ROLE_POLICY_ATTACHMENT,
    POLICY_ATTACHMENT,
    USER_POLICY_ATTACHMENT,
    GROUP_POLICY_ATTACHMENT,
    ROLE_POLICIES_EXCLUSIVE,
)
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
HTTPS_PORT = 443

UNSCOPED_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray defines no resource type for it: a traced function writes its segments",
    "xray:PutTelemetryRecords": "X-Ray defines no resource type for it: a traced function's daemon telemetry",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe* actions take no resource-level permissions (Lambda's ENIs)",
    "ec2:DescribeSubnets": "EC2 Describe* actions take no resource-level permissions (Lambda's ENIs)",
    "ssm:UpdateInstanceInformation": "the SSM agent's heartbeat: no resource type (NAT instances, Session Manager)",
    "ssmmessages:CreateControlChannel": "Session Manager's message channels have no resource type (NAT instances)",
    "ssmmessages:CreateDataChannel": "Session Manager's message channels have no resource type (NAT instances)",
    "ssmmessages:OpenControlChannel": "Session Manager's message channels have no resource type (NAT instances)",
    "ssmmessages:OpenDataChannel": "Session Manager's message channels have no resource type (NAT instances)",
}
"""The only actions an identity policy may allow on ``Resource: "*"``: AWS authorises each on no narrower
resource (the Service Authorization Reference lists no resource type for it). Anything else names its
resources."""
ALLOWED_MANAGED_POLICIES: dict[str, str] = {}
"""Managed policies a role, user or group may have attached, with the reason. None: every AWS managed policy this
platform used (``AWSLambdaVPCAccessExecutionRole``, ``AWSXRayDaemonWriteAccess``, ``AmazonSSMManagedInstanceCore``)
grants on ``"*"``, some of it actions AWS lets us scope; their needed parts are inline, scoped."""


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule knows besides the resource: the stack (from the URN) and the policy config."""

    stack: str
    config: Mapping[str, Any]

    @property
    def personal(self) -> bool:
        """Personal stages are every stack other than production and staging."""
        return self.stack not in ("production", "staging")

    @property
    def shared(self) -> bool:
        """Production and staging: people depend on them, so someone must hear when they break."""
        return not self.personal

    @property
    def min_backup_days(self) -> int:
        if self.stack == "production":
            key = "productionMinBackupRetentionDays"
        elif self.personal:
            key = "personalMinBackupRetentionDays"
        else:
            key = "minBackupRetentionDays"
        return int(self.config.get(key, DEFAULT_CONFIG[key]))


def stack_of(urn: str) -> str:
    """The stack name inside a URN: ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    parts = urn.split(":", 2)
    return parts[2].split("::", 1)[0] if len(parts) == 3 else ""


ResourceCheck = Callable[[Props, Context], Iterator[str]]
StackCheck = Callable[[Sequence[tuple[str, Props]], Context], Iterator[str]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy: a name, why it exists, how strict, and the check producing violation messages."""

    name: str
    description: str
    enforcement: Literal["mandatory", "advisory"]
    types: tuple[str, ...] = ()
    """Resource types a resource rule applies to (empty for stack rules)."""
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None


def _get(props: Props, path: str, default: Any = None) -> Any:
    """A nested property by dotted path; the provider's ``default`` when absent, ``None`` when unknown."""
    node: Any = props
    for part in path.split("."):
        if node is None:
            return None  # an unknown parent: the whole value is unknown
        if not isinstance(node, Mapping):
            return default
        mapping: Mapping[str, Any] = node  # pyright: ignore[reportUnknownVariableType]
        if part not in mapping:
            return default
        node = mapping[part]
    return node


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []  # pyright: ignore[reportUnknownArgumentType]


# --- mandatory -------------------------------------------------------------------------------------


def _aurora_encrypted(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "storageEncrypted", False) is False:
        yield "storage is not encrypted (storageEncrypted defaults to false)"
    if "kmsKeyId" not in props:
        yield "storage is not encrypted with a customer KMS key (kmsKeyId is unset, so the AWS-managed key is used)"


def _aurora_backups(props: Props, ctx: Context) -> Iterator[str]:
    days = _get(props, "backupRetentionPeriod", 1)
    if days is not None and int(days) < ctx.min_backup_days:
        yield f"backup retention is {int(days)} day(s); at least {ctx.min_backup_days} required on stack {ctx.stack}"


def _aurora_protected(props: Props, ctx: Context) -> Iterator[str]:
    if ctx.personal:
        return
    if _get(props, "deletionProtection", False) is False:
        yield f"deletion protection is off on stack {ctx.stack}"
    if _get(props, "skipFinalSnapshot", False) is True:
        yield f"the final snapshot is skipped on stack {ctx.stack}"
    elif "finalSnapshotIdentifier" not in props:
        yield "no finalSnapshotIdentifier: deleting the cluster would fail or lose the snapshot name"


def _aurora_copy_tags(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "copyTagsToSnapshot", False) is False:
        yield "copyTagsToSnapshot is off: snapshots lose cost and ownership tags"


def _not_public(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "publiclyAccessible", False) is True:
        yield "the database instance is publicly accessible"


def _managed_password(props: Props, _: Context) -> Iterator[str]:
    if props.get("masterPassword") or props.get("masterPasswordWo"):
        yield "a master password is set in the program: it would live in Pulumi state"
    elif _get(props, "manageMasterUserPassword", False) is False and "snapshotIdentifier" not in props:
        yield "manageMasterUserPassword is off: let RDS manage and rotate the master password"


def _kms_rotation(props: Props, _: Context) -> Iterator[str]:
    spec = _get(props, "customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    if spec == "SYMMETRIC_DEFAULT" and _get(props, "enableKeyRotation", False) is False:
        yield "key rotation is off (enableKeyRotation defaults to false)"


def _imdsv2(props: Props, _: Context) -> Iterator[str]:
    # An instance's, or a launch template's (whose instances a group launches), with the same property.
    if _get(props, "metadataOptions.httpTokens", "optional") == "optional":
        yield "IMDSv2 is not required (metadataOptions.httpTokens must be 'required')"


def _encrypted_template_volumes(props: Props, _: Context) -> Iterator[str]:
    devices = _list(props.get("blockDeviceMappings"))
    if not devices:
        yield "the launch template maps no volume, so the AMI's root volume is launched as the AMI has it"
    for device in devices:
        # A launch template's "encrypted" is a string ("true"/"false"); absent, the snapshot's setting applies.
        if _get(device, "ebs.encrypted", "false") in ("false", False):
            yield f"launch template volume {_get(device, 'deviceName', '?')} is not encrypted"


def _encrypted_volumes(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "rootBlockDevice.encrypted", False) is False:
        yield "the root volume is not encrypted"
    for device in _list(props.get("ebsBlockDevices")):
        if _get(device, "encrypted", False) is False:
            yield f"EBS volume {_get(device, 'deviceName', '?')} is not encrypted"


def _public_cidrs(*values: Any) -> list[str]:
    found: list[str] = []
    for value in values:
        items = _list(value) if isinstance(value, list | tuple) else [value]
        found += [str(v) for v in items if v in PUBLIC_CIDRS]
    return found


def _no_public_ingress(props: Props, _: Context) -> Iterator[str]:
    # 1. inline ingress blocks of aws.ec2.SecurityGroup
    for rule in _list(props.get("ingress")):
        for cidr in _public_cidrs(_get(rule, "cidrBlocks"), _get(rule, "ipv6CidrBlocks")):
            yield f"inline ingress {_get(rule, 'fromPort', '?')}-{_get(rule, 'toPort', '?')} is open to {cidr}"
    # 2. aws.ec2.SecurityGroupRule of type ingress
    if "type" in props and props.get("type") == "ingress":
        for cidr in _public_cidrs(props.get("cidrBlocks"), props.get("ipv6CidrBlocks")):
            yield f"ingress rule is open to {cidr}"
    # 3. aws.vpc.SecurityGroupIngressRule
    if "cidrIpv4" in props or "cidrIpv6" in props:
        for cidr in _public_cidrs(props.get("cidrIpv4"), props.get("cidrIpv6")):
            yield f"ingress rule is open to {cidr}"


def _api_access_logs(props: Props, _: Context) -> Iterator[str]:
    if "accessLogSettings" not in props:
        yield "access logging is off (no accessLogSettings)"
    elif props["accessLogSettings"] is not None and "destinationArn" not in props["accessLogSettings"]:
        yield "access logging has no destinationArn"


_ABSENT = object()


def _api_throttled(props: Props, _: Context) -> Iterator[str]:
    """An HTTP API stage without a default throttle leaves its routes to the account's 10,000 requests/s, which
    every API of the account in the region shares; a route setting without one does the same for its route."""
    for limit in ("throttlingRateLimit", "throttlingBurstLimit"):
        if _get(props, f"defaultRouteSettings.{limit}", _ABSENT) is _ABSENT:
            yield f"the stage's default route settings set no {limit}: routes draw on the whole account's limit"
    for setting in _list(props.get("routeSettings")):
        if not isinstance(setting, Mapping):
            continue  # unknown
        route: Mapping[str, Any] = setting  # pyright: ignore[reportUnknownVariableType]
        missing = [k for k in ("throttlingRateLimit", "throttlingBurstLimit") if k not in route]
        if missing:
            yield f"route {route.get('routeKey')}: its setting replaces the default and sets no {', '.join(missing)}"


def _rate_limits_per_client(props: Props, _: Context) -> Iterator[str]:
    """Every rule of a rate-limiting ruleset counts per client and acts: a rule that only logs, is disabled or
    counts everyone together (one counter for the whole world) would let one client use everything."""
    if props.get("phase") != RATE_LIMIT_PHASE:
        return
    for rule in _list(props.get("rules")):
        if not isinstance(rule, Mapping):
            continue  # unknown
        r: Mapping[str, Any] = rule  # pyright: ignore[reportUnknownVariableType]
        name = r.get("ref") or r.get("description") or "a rule"
        if r.get("action") == "log" or r.get("enabled") is False:
            yield f"rule {name}: it only logs or is disabled, so it limits nobody"
        characteristics = _get(r, "ratelimit.characteristics", [])
        if characteristics is not None and not CLIENT_CHARACTERISTICS & set(_list(characteristics)):
            yield f"rule {name}: it does not count per client (characteristics without ip.src or cf.unique_visitor_id)"


def _permission_scoped(props: Props, _: Context) -> Iterator[str]:
    principal = props.get("principal")
    if isinstance(principal, str) and principal.endswith(".amazonaws.com") and "sourceArn" not in props:
        yield f"lambda permission for {principal} has no sourceArn: any account's {principal} resource could invoke"


def _alarm_acts(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "actionsEnabled", True) is False:
        yield "the alarm's actions are disabled: it changes state and nobody hears"
    elif "alarmActions" not in props or props["alarmActions"] == []:
        yield "the alarm has no alarm action: it changes state and nobody hears"


def _alarmed(alarms: Sequence[Props], dimension: str) -> tuple[set[str], bool]:
    """The values of ``dimension`` that alarms with an action watch, and whether any such value is unknown."""
    watched: set[str] = set()
    unknown = False
    for alarm in alarms:
        if _get(alarm, "actionsEnabled", True) is False or not _list(alarm.get("alarmActions")):
            continue
        metrics: list[Any] = [_get(q, "metric") for q in _list(alarm.get("metricQueries"))] or [alarm]
        for metric in metrics:
            dimensions: Any = _get(metric, "dimensions")
            if isinstance(dimensions, Mapping) and dimension in dimensions:
                value: Any = dimensions[dimension]  # pyright: ignore[reportUnknownVariableType]
                unknown |= value is None
                if value is not None:
                    watched.add(str(value))  # pyright: ignore[reportUnknownArgumentType]
    return watched, unknown


_WATCHED: tuple[tuple[str, str, str, str], ...] = (
    # (resource type, its property, the alarm dimension naming it, what it is)
    (LAMBDA_FUNCTION, "name", "FunctionName", "function"),
    (CLUSTER, "clusterIdentifier", "DBClusterIdentifier", "Aurora cluster"),
    (AUTO_SCALING_GROUP, "name", "AutoScalingGroupName", "Auto Scaling group (a NAT)"),
)


def _shared_stages_alarmed(resources: Sequence[tuple[str, Props]], ctx: Context) -> Iterator[str]:
    if not ctx.shared:
        return
    alarms = [props for typ, props in resources if typ == METRIC_ALARM]
    for typ, prop, dimension, what in _WATCHED:
        watched, unknown = _alarmed(alarms, dimension)
        if unknown:
            continue  # an alarm whose dimension is not known yet may be the one: cannot judge until it is
        for kind, props in resources:
            name = props.get(prop) if kind == typ else None
            if isinstance(name, str) and name not in watched and not _deploy_only(props):
                yield f"{what} {name} has no alarm with an action on stack {ctx.stack}"


def _deploy_only(props: Props) -> bool:
    """A function only ``pulumi up`` invokes, whose failure fails the deploy (a site's invalidator: tagged so by
    ``components.static_site``): the deploy reports it, no alarm needs to."""
    return _get(props, "tags.invoked-by") == "deploy"


def _log_retention(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "retentionInDays", 0) == 0:
        yield "the log group never expires (retentionInDays unset or 0)"


def _s3_grants(props: Props, _: Context) -> Iterator[str]:
    """Nothing grants the public: no public canned ACL, no policy statement allowing anyone unconditionally."""
    acl = props.get("acl")
    if acl in PUBLIC_ACLS:
        yield f"the canned ACL {acl!r} is public"
    policy = props.get("policy")
    if isinstance(policy, str):
        yield from _public_statements(policy)


def _public_statements(policy: str) -> Iterator[str]:
    try:
        document: Any = json.loads(policy)
    except ValueError:
        return
    for statement in _list(_get(document, "Statement") if isinstance(document, dict) else None):  # pyright: ignore[reportUnknownArgumentType]
        anyone = _get(statement, "Principal") == "*" or _get(statement, "Principal.AWS") in ("*", ["*"])
        if _get(statement, "Effect") == "Allow" and anyone and not _get(statement, "Condition"):
            yield f"statement {_get(statement, 'Sid', '?')} allows anyone, unconditionally"


def _buckets_blocked(resources: Sequence[tuple[str, Props]], _: Context) -> Iterator[str]:
    """Every bucket has a public access block with all four flags on (each defaults to off), matched by bucket
    name when it is known, counted otherwise: a new bucket's name is unknown until it exists."""
    buckets = [props for typ, props in resources if typ == S3_BUCKET]
    blocks = [props for typ, props in resources if typ == S3_PUBLIC_ACCESS_BLOCK]
    full = [b for b in blocks if all(_get(b, flag, False) is not False for flag in BLOCK_FLAGS)]
    names = {b.get("bucket") for b in full}
    unblocked = [b for b in buckets if isinstance(b.get("bucket"), str) and b.get("bucket") not in names]
    if unblocked:
        yield f"bucket(s) {', '.join(sorted(str(b.get('bucket')) for b in unblocked))} have no full public access block"
    elif len(buckets) > len(full):
        yield f"{len(buckets) - len(full)} bucket(s) without a public access block blocking all four ways"


def _origin_access_control(props: Props, _: Context) -> Iterator[str]:
    for origin in _list(props.get("origins")):
        origin_id = _get(origin, "originId", "?")
        if "customOriginConfig" in origin or "vpcOriginConfig" in origin:
            continue  # not an S3 origin
        if _get(origin, "s3OriginConfig.originAccessIdentity", ""):
            yield f"origin {origin_id} reads S3 through a legacy origin access identity; use Origin Access Control"
        elif _get(origin, "originAccessControlId", "") == "":
            yield f"origin {origin_id} reads S3 without Origin Access Control (the bucket would have to be public)"


def _cloudfront_tls(props: Props, _: Context) -> Iterator[str]:
    certificate = props.get("viewerCertificate")
    if _get(props, "viewerCertificate.cloudfrontDefaultCertificate", False) is True:
        yield "the default *.cloudfront.net certificate allows TLSv1; serve a custom domain with an ACM certificate"
    elif certificate is not None:
        version = _get(props, "viewerCertificate.minimumProtocolVersion", "TLSv1")
        if version is not None and version not in TLS_POLICIES:
            yield f"minimumProtocolVersion {version} is older than TLSv1.2_2021"
    behaviours: list[Any] = [props.get("defaultCacheBehavior"), *_list(props.get("orderedCacheBehaviors"))]
    for behaviour in behaviours:
        if _get(behaviour, "viewerProtocolPolicy") == "allow-all":
            yield f"cache behaviour {_get(behaviour, 'pathPattern', 'default')} serves plain HTTP (allow-all)"


def _cloudfront_logging(resources: Sequence[tuple[str, Props]], _: Context) -> Iterator[str]:
    """Every distribution logs: standard logging (legacy, ``loggingConfig``) or an ACCESS_LOGS delivery source
    that a delivery sends somewhere (v2)."""
    distributions = [props for typ, props in resources if typ == DISTRIBUTION]
    legacy = [d for d in distributions if _get(d, "loggingConfig.bucket", "") != ""]
    delivered = {_get(props, "deliverySourceName") for typ, props in resources if typ == LOG_DELIVERY}
    sources = [
        props
        for typ, props in resources
        if typ == LOG_DELIVERY_SOURCE and _get(props, "logType") == "ACCESS_LOGS" and props.get("name") in delivered
    ]
    missing = len(distributions) - len(legacy) - len(sources)
    if missing > 0:
        yield f"{missing} distribution(s) without access logs (loggingConfig, or a delivered ACCESS_LOGS source)"


def _statements(policy: Any) -> list[Any]:
    """The statements of a policy document (a JSON string, as the engine sends ``policy``); none when unknown."""
    if not isinstance(policy, str):
        return []
    try:
        document: Any = json.loads(policy)
    except ValueError:
        return []
    statements: Any = _get(document, "Statement") if isinstance(document, dict) else None  # pyright: ignore[reportUnknownArgumentType]
    return _list(statements) if isinstance(statements, list | tuple) else [statements] if statements else []


def _strings(value: Any) -> list[str]:
    return [str(v) for v in (_list(value) if isinstance(value, list | tuple) else [value]) if v is not None]


def _scoped_resources(props: Props, _: Context) -> Iterator[str]:
    """Every allowed action names its resources: ``Resource: "*"`` only for actions AWS authorises on no
    narrower resource (:data:`UNSCOPED_ACTIONS`), never a wildcard action, never ``NotAction``/``NotResource``."""
    for statement in _statements(props.get("policy")):
        if _get(statement, "Effect") != "Allow":
            continue
        sid = _get(statement, "Sid", "?")
        for negated in ("NotAction", "NotResource"):
            if negated in statement:
                yield f"statement {sid} allows by {negated}: it grants everything it does not name"
        actions = _strings(_get(statement, "Action"))
        wild = [a for a in actions if "*" in a]
        if wild:
            yield f"statement {sid} allows wildcard actions {', '.join(wild)}"
        if "*" in _strings(_get(statement, "Resource")):
            unlisted = [a for a in actions if a not in UNSCOPED_ACTIONS]
            if unlisted:
                yield f"statement {sid} allows {', '.join(unlisted)} on every resource; name the resources"


def _no_managed_policies(props: Props, _: Context) -> Iterator[str]:
    """No managed policy attached, however (an attachment resource, a role's ``managedPolicyArns``), unless it is
    allow-listed with its reason: an AWS managed policy grants on ``"*"`` and changes when AWS decides."""
    arns = _strings(props.get("policyArn")) + _strings(props.get("managedPolicyArns"))
    arns += _strings(props.get("policyArns"))
    for arn in arns:
        if arn not in ALLOWED_MANAGED_POLICIES:
            yield f"managed policy {arn} is attached; grant what is needed inline, scoped to its resources"


def _function_egress(resources: Sequence[tuple[str, Props]], _: Context) -> Iterator[str]:
    """A function's security group lets out HTTPS to the Internet and other ports only to a security group (a path
    a link opened), never every protocol and port. Judged on the groups functions name in ``vpcConfig`` (a group
    not known yet cannot be judged)."""
    groups: set[str] = set()
    for typ, props in resources:
        if typ == LAMBDA_FUNCTION:
            groups.update(g for g in _strings(_get(props, "vpcConfig.securityGroupIds")) if g)
    for typ, props in resources:
        group = props.get("securityGroupId")
        if typ != EGRESS_RULE or group not in groups:
            continue
        protocol = props.get("ipProtocol")
        ports = (props.get("fromPort"), props.get("toPort"))
        if protocol in ("-1", "all", -1):
            yield f"function security group {group} lets out every protocol and port"
        elif _public_cidrs(props.get("cidrIpv4"), props.get("cidrIpv6")) and any(
            p is not None and int(p) != HTTPS_PORT for p in ports
        ):
            yield f"function security group {group} lets out port(s) {ports[0]}-{ports[1]} to the Internet (only 443)"


# --- advisory --------------------------------------------------------------------------------------


def _lambda_in_vpc(props: Props, _: Context) -> Iterator[str]:
    if "vpcConfig" not in props:
        yield "the function runs outside the VPC"


def _lambda_tracing(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "tracingConfig.mode", "PassThrough") == "PassThrough":
        yield "X-Ray active tracing is off"


def _lambda_concurrency(resources: Sequence[tuple[str, Props]], ctx: Context) -> Iterator[str]:
    """Outside personal stages (which reserve nothing: the stage matrix), every function reserves, except the
    ones run on deploy (an invocation names them): they run once per deploy, and queue on their own lock."""
    if ctx.personal:
        return
    run_on_deploy = {props.get("functionName") for typ, props in resources if typ == LAMBDA_INVOCATION}
    for typ, props in resources:
        name = props.get("name")
        if typ != LAMBDA_FUNCTION or name is None or name in run_on_deploy:
            continue  # an unknown name cannot be judged yet
        if _get(props, "reservedConcurrentExecutions", -1) == -1:
            yield f"{name}: no reserved concurrency: a burst can starve other functions (and the database)"


def _ecr_scan(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "imageScanningConfiguration.scanOnPush", False) is False:
        yield "images are not scanned on push"


def _ecr_immutable(props: Props, _: Context) -> Iterator[str]:
    if _get(props, "imageTagMutability", "MUTABLE") == "MUTABLE":
        yield "image tags are mutable"


def _flow_logs(resources: Sequence[tuple[str, Props]], _: Context) -> Iterator[str]:
    vpcs = sum(1 for typ, _props in resources if typ == VPC)
    flow_logs = sum(1 for typ, props in resources if typ == FLOW_LOG and "vpcId" in props)
    if vpcs > flow_logs:
        yield f"{vpcs - flow_logs} VPC(s) without flow logs"


RULES: tuple[Rule, ...] = (
    Rule("aurora-encrypted-customer-key", "Aurora storage encrypted with a customer KMS key", "mandatory",
         (CLUSTER,), _aurora_encrypted),
    Rule("aurora-backup-retention", "Aurora backups kept 7 days (14 in production, 1 in personal stages)", "mandatory",
         (CLUSTER,), _aurora_backups),
    Rule("aurora-deletion-protection", "Deletion protection and a final snapshot outside personal stages",
         "mandatory", (CLUSTER,), _aurora_protected),
    Rule("aurora-copy-tags-to-snapshot", "Snapshots inherit the cluster's tags", "mandatory",
         (CLUSTER,), _aurora_copy_tags),
    Rule("rds-not-publicly-accessible", "Database instances are never publicly accessible", "mandatory",
         (CLUSTER_INSTANCE, DB_INSTANCE), _not_public),
    Rule("rds-managed-master-password", "The master password is managed by RDS, never in state", "mandatory",
         (CLUSTER,), _managed_password),
    Rule("kms-key-rotation", "Customer KMS keys rotate yearly", "mandatory", (KMS_KEY,), _kms_rotation),
    Rule("ec2-imdsv2-required", "EC2 instances and launch templates require IMDSv2", "mandatory",
         (EC2_INSTANCE, LAUNCH_TEMPLATE), _imdsv2),
    Rule("ec2-encrypted-volumes", "EC2 root and EBS volumes are encrypted", "mandatory",
         (EC2_INSTANCE,), _encrypted_volumes),
    Rule("launch-template-encrypted-volumes", "Launch templates encrypt every volume they map", "mandatory",
         (LAUNCH_TEMPLATE,), _encrypted_template_volumes),
    Rule("no-public-ingress", "No security-group ingress from 0.0.0.0/0 or ::/0, however it is written",
         "mandatory", (SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE), _no_public_ingress),
    Rule("api-stage-access-logging", "API stages write access logs", "mandatory",
         (API_V2_STAGE, API_V1_STAGE), _api_access_logs),
    Rule("api-stage-throttled", "API stages throttle every route: a stage default, and each route setting its own",
         "mandatory", (API_V2_STAGE,), _api_throttled),
    Rule("ratelimit-per-client", "Cloudflare rate-limiting rules count per client and act (no log-only or "
         "disabled rule)", "mandatory", (RULESET,), _rate_limits_per_client),
    Rule("lambda-permission-source-arn", "Service principals may invoke a function only from a named source",
         "mandatory", (LAMBDA_PERMISSION,), _permission_scoped),
    Rule("log-group-retention", "Every log group has a retention", "mandatory", (LOG_GROUP,), _log_retention),
    Rule("alarm-has-action", "Every alarm notifies someone (an enabled alarm action)", "mandatory",
         (METRIC_ALARM,), _alarm_acts),
    Rule("shared-stages-alarmed", "In production and staging every function, Aurora cluster and NAT group has an "
         "alarm with an action", "mandatory", stack_check=_shared_stages_alarmed),
    Rule("s3-bucket-not-public", "Every S3 bucket has a public access block with all four flags on", "mandatory",
         stack_check=_buckets_blocked),
    Rule("s3-no-public-grants", "No S3 ACL or bucket policy grants anyone access unconditionally", "mandatory",
         (S3_BUCKET, S3_BUCKET_POLICY, S3_BUCKET_ACL), _s3_grants),
    Rule("cloudfront-origin-access-control", "CloudFront reads S3 through Origin Access Control", "mandatory",
         (DISTRIBUTION,), _origin_access_control),
    Rule("cloudfront-tls-minimum", "CloudFront serves HTTPS only, TLSv1.2_2021 or newer, on its own certificate",
         "mandatory", (DISTRIBUTION,), _cloudfront_tls),
    Rule("cloudfront-access-logging", "Every CloudFront distribution writes access logs", "mandatory",
         stack_check=_cloudfront_logging),
    Rule("iam-scoped-resources", 'Identity policies name their resources ("*" only for the allow-listed actions AWS '
         "authorises on no resource), with no wildcard actions", "mandatory", IDENTITY_POLICIES, _scoped_resources),
    Rule("iam-no-managed-policies", "No managed policy attachments beyond the allow-list", "mandatory",
         ATTACHMENTS, _no_managed_policies),
    Rule("lambda-egress-scoped", "Function security groups let out HTTPS to the Internet and other ports only to a "
         "security group, never everything", "mandatory", stack_check=_function_egress),
    Rule("lambda-in-vpc", "Functions run inside the VPC", "advisory", (LAMBDA_FUNCTION,), _lambda_in_vpc),
    Rule("lambda-tracing", "Functions trace with X-Ray", "advisory", (LAMBDA_FUNCTION,), _lambda_tracing),
    Rule("lambda-reserved-concurrency", "Functions reserve their concurrency (production, staging)", "advisory",
         stack_check=_lambda_concurrency),
    Rule("ecr-scan-on-push", "ECR scans images on push", "advisory", (ECR_REPOSITORY,), _ecr_scan),
    Rule("ecr-immutable-tags", "ECR tags are immutable", "advisory", (ECR_REPOSITORY,), _ecr_immutable),
    Rule("vpc-flow-logs", "Every VPC has flow logs", "advisory", stack_check=_flow_logs),
)  # fmt: skip


class ResourceLike(Protocol):
    """What `evaluate` needs of a resource (`infra.planned.PlannedResource` has it)."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    enforcement: Literal["mandatory", "advisory"]
    urn: str
    """The offending resource, or the stack's URN for stack rules."""
    message: str


def evaluate(
    resources: Iterable[ResourceLike], config: Mapping[str, Any] | None = None, rules: Sequence[Rule] = RULES
) -> list[Violation]:
    """Every violation of ``rules`` in ``resources`` (the offline twin of the policy engine)."""
    items = list(resources)
    if not items:
        return []
    ctx = Context(stack_of(items[0].urn), {**DEFAULT_CONFIG, **(config or {})})
    found: list[Violation] = []
    for rule in rules:
        if rule.check is not None:
            for res in items:
                if res.type in rule.types:
                    found += [Violation(rule.name, rule.enforcement, res.urn, m) for m in rule.check(res.inputs, ctx)]
        if rule.stack_check is not None:
            pairs = [(res.type, res.inputs) for res in items]
            found += [Violation(rule.name, rule.enforcement, items[0].urn, m) for m in rule.stack_check(pairs, ctx)]
    return found


def policies() -> list[Any]:
    """The same rules as `pulumi_policy` policies, for the pack's `PolicyPack(...)`."""
    from pulumi_policy import (  # noqa: PLC0415 - only the policy pack needs it
        EnforcementLevel,
        PolicyConfigSchema,
        ReportViolation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )

    schema = PolicyConfigSchema(
        properties={
            "minBackupRetentionDays": {"type": "integer", "default": 7},
            "productionMinBackupRetentionDays": {"type": "integer", "default": 14},
            "personalMinBackupRetentionDays": {"type": "integer", "default": 1},
        }
    )

    def level(rule: Rule) -> Any:
        return EnforcementLevel.MANDATORY if rule.enforcement == "mandatory" else EnforcementLevel.ADVISORY

    def resource_policy(rule: Rule, check: ResourceCheck) -> Any:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type in rule.types:
                ctx = Context(stack_of(args.urn), {**DEFAULT_CONFIG, **args.get_config()})
                for message in check(args.props, ctx):
                    report(message, args.urn)

        return ResourceValidationPolicy(
            rule.name, rule.description, validate, enforcement_level=level(rule), config_schema=schema
        )

    def stack_policy(rule: Rule, check: StackCheck) -> Any:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            pairs = [(r.resource_type, r.props) for r in args.resources]
            stack = stack_of(args.resources[0].urn) if args.resources else ""
            for message in check(pairs, Context(stack, {**DEFAULT_CONFIG, **args.get_config()})):
                report(message, None)

        return StackValidationPolicy(rule.name, rule.description, validate, enforcement_level=level(rule))

    built: list[Any] = []
    for rule in RULES:
        if rule.check is not None:
            built.append(resource_policy(rule, rule.check))
        if rule.stack_check is not None:
            built.append(stack_policy(rule, rule.stack_check))
    return built
