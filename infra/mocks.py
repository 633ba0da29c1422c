"""Running a Pulumi program offline: the SDK's mock monitor, with every registration recorded.

`run_program` executes any program function under `pulumi.runtime.set_mocks` in a fresh context and
returns one :class:`~infra.planned.PlannedResource` per registered resource (the stack, components and
provider resources), in registration order. The mocks answer with plausible computed outputs (ARNs,
endpoints, digests) so the program runs exactly as under `pulumi up`.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await  # pyright: ignore[reportPrivateUsage]

from infra.planned import PlannedResource

ACCOUNT = "123456789012"
REGION = "eu-west-2"


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


INVOCATION_ANSWER = {"status": "success", "from": None, "to": "head"}
"""What a run-on-deploy function answers under mocks (the migrator's success shape)."""


def network_stack_outputs(stack_name: str) -> dict[str, Any]:
    """The outputs of a network stack read through a StackReference (``infra/network.py``'s keys), derived
    from the referenced name so a test can tell which stack was read."""
    tag = _digest(stack_name)[:8]
    return {
        "vpcId": f"vpc-{tag}",
        "vpcCidr": "10.0.0.0/16",
        "privateSubnetIds": [f"subnet-{tag}a", f"subnet-{tag}b"],
        "natPublicIps": ["203.0.113.200"],
    }


_SITE_TYPES = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:cloudfront/distribution:Distribution",
        "aws:cloudfront/function:Function",
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",
        "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
    }
)


def distribution_id(name: str) -> str:
    """A CloudFront distribution id (``E`` and 13 upper-case characters), derived from its logical name."""
    return f"E{_digest(name)[:13].upper()}"


def _site_outputs(typ: str, name: str, inputs: Mapping[str, Any], physical: str) -> dict[str, Any]:
    """What a static site reads back: bucket names and domains, CloudFront ARNs and names, log delivery ARNs
    (CloudFront's logging lives in us-east-1)."""
    match typ:
        case "aws:s3/bucket:Bucket":
            bucket = str(inputs.get("bucket") or f"{inputs.get('bucketPrefix') or name}{_digest(name)[:26]}")
            return {
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "bucketRegionalDomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
            }
        case "aws:cloudfront/distribution:Distribution":
            return {
                "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution_id(name)}",
                "domainName": f"d{_digest(name)[:13]}.cloudfront.net",
            }
        case "aws:cloudfront/function:Function":
            return {"arn": f"arn:aws:cloudfront::{ACCOUNT}:function/{physical}"}
        case _:
            kind = "delivery-source" if typ.endswith("LogDeliverySource") else "delivery-destination"
            return {"arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:{kind}:{physical}"}


def _outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:  # noqa: PLR0912, PLR0915 - a case per type
    """Computed outputs a real provider would return for ``typ`` (only those the program reads)."""
    physical = str(inputs.get("name") or name)
    out: dict[str, Any] = {"name": physical}
    module = typ.split(":")[1].split("/", maxsplit=1)[0] if typ.count(":") >= 2 else ""
    out["arn"] = _arn(module, f"{typ.rsplit(':', 1)[-1].lower()}/{physical}")
    if typ in _SITE_TYPES:
        return out | _site_outputs(typ, name, inputs, physical)
    match typ:
        case "aws:lambda/function:Function":
            arn = _arn("lambda", f"function:{physical}")
            out |= {
                "arn": arn,
                "invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
                "lastModified": "2026-01-01T00:00:00.000+0000",
                # A published version when ``publish`` is set; ``$LATEST`` otherwise, as Lambda reports.
                "version": "1" if inputs.get("publish") else "$LATEST",
            }
        case "aws:lambda/alias:Alias":
            function = str(inputs.get("functionName", ""))
            out["arn"] = _arn("lambda", f"function:{function}:{physical}")
        case "aws:iam/role:Role":
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{physical}"
        case "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = _arn("logs", f"log-group:{physical}")
        case "aws:ssm/parameter:Parameter":
            out |= {"arn": _arn("ssm", f"parameter{physical}"), "version": 1}
        case "aws:kms/key:Key":
            out |= {"keyId": f"key-{_digest(name)[:12]}", "arn": _arn("kms", f"key/{_digest(name)[:12]}")}
        case "aws:ec2/instance:Instance":
            out["primaryNetworkInterfaceId"] = f"eni-{_digest(name)[:12]}"
        case "aws:ec2/eip:Eip":
            out["publicIp"] = f"203.0.113.{int(_digest(name)[:2], 16) % 250 + 1}"
        case "aws:rds/cluster:Cluster":
            ident = inputs.get("clusterIdentifier") or name
            out |= {
                "endpoint": f"{ident}.cluster-abc123.{REGION}.rds.amazonaws.com",
                "readerEndpoint": f"{ident}.cluster-ro-abc123.{REGION}.rds.amazonaws.com",
                "port": inputs.get("port", 5432),
                "clusterResourceId": f"cluster-{_digest(name)[:12]}",
                "masterUserSecrets": [{"secretArn": _arn("secretsmanager", f"secret:rds!cluster-{ident}")}],
            }
        case "aws:rds/clusterInstance:ClusterInstance":
            # Without an AZ asked for, AWS places the instance in one of the subnet group's: the first, here.
            out["availabilityZone"] = inputs.get("availabilityZone") or f"{REGION}a"
        case "aws:apigatewayv2/api:Api":
            api_id = _digest(name)[:10]
            out |= {
                "apiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
                "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}",
            }
        case "aws:acm/certificate:Certificate":
            domain = inputs.get("domainName", "example.com")
            out["domainValidationOptions"] = [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{_digest(domain)[:8]}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{_digest(domain)[8:16]}.acm-validations.aws.",
                }
            ]
        case "aws:apigatewayv2/domainName:DomainName":
            config = dict(inputs.get("domainNameConfiguration") or {})
            config["targetDomainName"] = f"d-{_digest(name)[:10]}.execute-api.{REGION}.amazonaws.com"
            out["domainNameConfiguration"] = config
        case "aws:ecr/repository:Repository":
            out |= {"repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{physical}", "registryId": ACCOUNT}
        case "aws:lambda/invocation:Invocation":
            out["result"] = json.dumps(INVOCATION_ANSWER)
        case "pulumi:pulumi:StackReference":
            out["outputs"] = network_stack_outputs(physical)
            out["secretOutputNames"] = []
        case "docker:index/image:Image":
            image = str(inputs.get("imageName", name))
            out["repoDigest"] = f"{image.rsplit(':', 1)[0]}@sha256:{_digest(image)}"
        case _:
            pass
    return out


class PlanMocks(pulumi.runtime.Mocks):
    """Answers registrations with inputs plus computed outputs, and the few invokes the program makes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs: dict[str, Any] = dict(args.inputs)  # pyright: ignore[reportUnknownMemberType,reportUnknownArgumentType]
        outputs = {**inputs, **_outputs(args.typ, args.name, inputs)}
        if args.typ == "aws:cloudfront/distribution:Distribution":
            return distribution_id(args.name), outputs  # the invalidation's input carries it
        if args.typ == "aws:s3/bucket:Bucket":
            return outputs["bucket"], outputs  # a bucket's id is its name
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:ec2/getAmi:getAmi":  # noqa: S105 - an invoke token, not a password
            return {"id": "ami-0f0cc0ffee0000001", "imageId": "ami-0f0cc0ffee0000001", "architecture": "arm64"}, []
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":  # noqa: S105
            return {
                "userName": "AWS",
                "password": "mock-token",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
                "authorizationToken": "bW9jaw==",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": REGION,
            }, []
        return {}, []


def _plain(value: Any) -> Any:
    """Inputs as plain data: unknowns become ``None``, secrets their (mock) value."""
    if isinstance(value, str):
        return None if value == rpc.UNKNOWN else value
    if isinstance(value, Mapping):
        mapping: Mapping[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        if mapping.get(rpc._special_sig_key) == rpc._special_secret_sig:  # pyright: ignore[reportPrivateUsage]
            return _plain(mapping.get("value"))
        return {str(k): _plain(v) for k, v in mapping.items()}
    if isinstance(value, list | tuple):
        items: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return [_plain(v) for v in items]
    return value


@dataclass(frozen=True, slots=True)
class ResourceOptionsRecord:
    """The resource options the engine would act on (not part of PlannedResource, which holds inputs)."""

    retain_on_delete: bool
    protect: bool
    ignore_changes: tuple[str, ...]
    dependencies: tuple[str, ...]
    """URNs this resource explicitly depends on (``depends_on`` and input dependencies)."""
    aliases: tuple[str, ...] = ()
    """URNs the resource answers to besides its own (its ``aliases``): the engine adopts a resource in the
    state under any of them instead of replacing it."""
    provider: str = ""
    """The explicit provider's URN (``provider=``, e.g. a us-east-1 AWS provider); empty for the default one."""


@dataclass(slots=True)
class Recording:
    """What one offline run declared: the resources and, by URN, their options."""

    resources: list[PlannedResource] = field(default_factory=list[PlannedResource])
    options: dict[str, ResourceOptionsRecord] = field(default_factory=dict[str, ResourceOptionsRecord])


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping a :class:`PlannedResource` of each registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.recording = Recording()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)  # pyright: ignore[reportUnknownMemberType]
        inputs: Mapping[str, Any] = rpc.deserialize_properties(request.object)  # pyright: ignore[reportUnknownMemberType]
        urn = str(response.urn)
        self.recording.options[urn] = ResourceOptionsRecord(
            retain_on_delete=bool(request.retainOnDelete),
            protect=bool(request.protect),
            ignore_changes=tuple(str(x) for x in request.ignoreChanges),
            dependencies=tuple(str(x) for x in request.dependencies),
            # the SDK may send a type alias twice (aws.s3.Bucket's BucketV2); the engine reads a set
            aliases=tuple(dict.fromkeys(self._alias_urn(request, alias) for alias in request.aliases)),
            # a provider reference is "<provider URN>::<provider id>"
            provider=str(request.provider).rsplit("::", 1)[0] if request.provider else "",
        )
        self.recording.resources.append(
            PlannedResource(
                urn=urn,
                type=str(request.type),
                name=str(request.name),
                inputs=_plain(inputs),
                parent=str(request.parent) or None,
                custom=bool(request.custom),
            )
        )
        return response

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """An alias as the URN it stands for: a full URN as given, or a spec's name, type and parent filled in
        from the resource's own where the spec leaves them out (what the engine does)."""
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else str(spec.parentUrn or request.parent)
        return self.make_urn(parent, str(spec.type or request.type), str(spec.name or request.name))


def run_program(
    program: Callable[[], object],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: tuple[str, ...] = (),
    project: str = "reggie",
) -> Recording:
    """Run ``program`` under mocks as stack ``stack`` with ``config`` (``"reggie:key": value``); return what
    it declared. Exceptions the program raises propagate unchanged."""

    def run() -> Recording:
        pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys))
        monitor = RecordingMonitor(PlanMocks())
        pulumi.runtime.set_mocks(PlanMocks(), project=project, stack=stack, preview=False, monitor=monitor)
        # The SDK's mock settings leave the set of pending outputs process-wide: after a run that failed, its
        # unfinished outputs would be awaited (and re-raise) in the next run. Give this run its own.
        setattr(SETTINGS, "outputs", set[object]())  # noqa: B010 - typed as a context property, set like one

        def body() -> None:
            program()

        _sync_await(run_pulumi_func(body))
        return monitor.recording

    # A fresh context: no root stack, config or settings leak from one run into the next.
    return contextvars.Context().run(run)
