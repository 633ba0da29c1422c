"""A Mermaid architecture diagram generated from the resources a stage declares (never drawn by hand).

:func:`render` reads the offline plan's :class:`~infra.planned.PlannedResource` list and draws what an
engineer needs to see: who calls whom and where things run. Nodes are the architecturally meaningful
resources (functions, the database and its key, the HTTP API and its domain, NAT, the bucket, image
repositories, secrets); plumbing (roles, routes, security-group rules, route tables) is left out.

Edges come from what the program declared, not from names alone:
- the API's Lambda integrations: the API routes to the function each one names;
- the environment contract of ``services/core/contract.py`` (what each link sets): ``DB_HOST`` reaches
  the database, ``BUCKET_NAME`` the bucket, ``<NAME>_FUNCTION_NAME`` invokes that function,
  ``*_PARAMETER`` reads SSM parameters;
- ``vpcConfig`` places a function in the private subnets, whose default route leads to the NAT (a lone
  instance, a self-healing Auto Scaling group of one, or a NAT gateway);
- an ``aws:lambda/invocation:Invocation`` runs its function on every deploy;
- a proxied Cloudflare record fronts the API's custom domain;
- a KMS key and an image repository belong to the database or function that shares their component;
- the stage's alarms notify their SNS topic, which emails whoever subscribed.
- a static site (``reggie:components:StaticSite``) is its CloudFront distribution, behind the proxied record of
  its host, reading its content bucket through Origin Access Control and logging to its log bucket; ``pulumi up``
  uploads the build and invalidates the cache (the site's own invalidation function is plumbing, not drawn).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from infra.planned import PlannedResource
from services.core import contract

FUNCTION = "aws:lambda/function:Function"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
HTTP_API = "aws:apigatewayv2/api:Api"
DOMAIN = "aws:apigatewayv2/domainName:DomainName"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
NAT_INSTANCE = "aws:ec2/instance:Instance"
NAT_GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
VPC = "aws:ec2/vpc:Vpc"
BUCKET = "cloudflare:index/r2Bucket:R2Bucket"
KMS_KEY = "aws:kms/key:Key"
REPOSITORY = "aws:ecr/repository:Repository"
PARAMETER = "aws:ssm/parameter:Parameter"
INVOCATION = "aws:lambda/invocation:Invocation"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
S3_BUCKET = "aws:s3/bucket:Bucket"
STATIC_SITE = "reggie:components:StaticSite"

_DRAWN = frozenset(
    {
        FUNCTION,
        CLUSTER,
        HTTP_API,
        DOMAIN,
        NAT_INSTANCE,
        NAT_GROUP,
        NAT_GATEWAY,
        BUCKET,
        KMS_KEY,
        REPOSITORY,
        TOPIC,
        DISTRIBUTION,
        S3_BUCKET,
    }
)


def _get(inputs: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = inputs
    for key in path:
        if not isinstance(value, Mapping):
            return None
        mapping: Mapping[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        value = mapping.get(key)
    return value


def _env(resource: PlannedResource) -> dict[str, str]:
    variables = _get(resource.inputs, "environment", "variables")
    if not isinstance(variables, Mapping):
        return {}
    mapping: Mapping[Any, Any] = variables  # pyright: ignore[reportUnknownVariableType]
    return {str(k): str(v) for k, v in mapping.items()}


def _label(text: str) -> str:
    """Mermaid-safe label text: a double quote would end the label, a pipe an edge label."""
    return re.sub(r'["|]', "'", text)


def _num(value: Any) -> str:
    """``1024.0`` (how the engine sends numbers) as ``1024``, ``0.5`` as is, unknown as ``?``."""
    return f"{value:g}" if isinstance(value, int | float) else "?"


def _function_label(r: PlannedResource) -> str:
    kind = "image" if _get(r.inputs, "packageType") == "Image" else "zip"
    arch = (_get(r.inputs, "architectures") or ["x86_64"])[0]
    memory = _get(r.inputs, "memorySize") or 128
    return f"λ {r.name}<br/>{kind} · {arch} · {_num(memory)} MB"


def _cluster_label(r: PlannedResource, everything: Sequence[PlannedResource]) -> str:
    low = _get(r.inputs, "serverlessv2ScalingConfiguration", "minCapacity")
    high = _get(r.inputs, "serverlessv2ScalingConfiguration", "maxCapacity")
    version = _get(r.inputs, "engineVersion") or ""
    instances = [x for x in everything if x.type == CLUSTER_INSTANCE and x.parent == r.parent]
    readers = sum(1 for x in instances if _get(x.inputs, "promotionTier") is not None)
    pause = ", auto-pause" if low == 0 else ""
    shape = f" · writer + {readers} failover reader(s)" if readers else ""
    return (
        f"Aurora PostgreSQL {version}<br/>{r.name} · {_num(low)}–{_num(high)} ACU{pause} · "
        f"{len(instances)} instance(s){shape}"
    )


def _nat_group_label(r: PlannedResource, everything: Sequence[PlannedResource]) -> str:
    template = next((x for x in everything if x.type == LAUNCH_TEMPLATE and x.name == r.name), None)
    size = _get(template.inputs, "instanceType") if template is not None else None
    return f"NAT instance, self-healing<br/>{r.name} · group of {_num(_get(r.inputs, 'desiredCapacity'))} · {size}"


def _topic_label(r: PlannedResource, everything: Sequence[PlannedResource]) -> str:
    alarms = sum(1 for x in everything if x.type == ALARM)
    emails = [str(_get(x.inputs, "endpoint")) for x in everything if x.type == SUBSCRIPTION]
    to = f" → {', '.join(emails)}" if emails else ""
    return f"SNS {_get(r.inputs, 'name') or r.name}{to}<br/>{alarms} CloudWatch alarms"


def _node_label(r: PlannedResource, everything: Sequence[PlannedResource]) -> str:
    labels: dict[str, str] = {
        HTTP_API: f"API Gateway HTTP API<br/>{r.name}",
        DOMAIN: f"custom domain<br/>{_get(r.inputs, 'domainName') or r.name}",
        NAT_INSTANCE: f"NAT instance<br/>{r.name} · {_get(r.inputs, 'instanceType')}",
        NAT_GATEWAY: f"NAT gateway<br/>{r.name}",
        BUCKET: f"R2 bucket<br/>{_get(r.inputs, 'name') or r.name} · {_get(r.inputs, 'jurisdiction') or 'default'}",
        KMS_KEY: f"KMS key<br/>{r.name}",
        REPOSITORY: f"ECR<br/>{r.name}",
        DISTRIBUTION: f"CloudFront<br/>{(_get(r.inputs, 'aliases') or [r.name])[0]} · {_get(r.inputs, 'httpVersion')}",
        S3_BUCKET: f"S3<br/>{r.name} · {_get(r.inputs, 'tags', 'purpose') or 'bucket'}",
    }
    if r.type == FUNCTION:
        return _function_label(r)
    if r.type == CLUSTER:
        return _cluster_label(r, everything)
    if r.type == NAT_GROUP:
        return _nat_group_label(r, everything)
    if r.type == TOPIC:
        return _topic_label(r, everything)
    return labels[r.type]


def _shape(r: PlannedResource, node_id: str, label: str) -> str:
    if r.type == CLUSTER:
        return f'{node_id}[("{label}")]'
    if r.type in (BUCKET, REPOSITORY, S3_BUCKET):
        return f'{node_id}[/"{label}"/]'
    return f'{node_id}["{label}"]'


class _Graph:
    def __init__(self, resources: Sequence[PlannedResource]) -> None:
        self.resources = resources
        sites = _inside_sites(resources)
        # a site's own invalidation function is part of the site, not an architectural node
        self.drawn = [
            r for r in resources if r.custom and r.type in _DRAWN and not (r.type == FUNCTION and r.urn in sites)
        ]
        self.ids = {r.urn: f"n{i}" for i, r in enumerate(self.drawn)}
        self.edges: list[str] = []

    def of(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.drawn if r.type == type_]

    def edge(self, source: str, target: str, label: str = "") -> None:
        arrow = f"-->|{_label(label)}|" if label else "-->"
        line = f"  {source} {arrow} {target}"
        if line not in self.edges:
            self.edges.append(line)


def _inside_sites(resources: Sequence[PlannedResource]) -> set[str]:
    """URNs of every resource somewhere under a static site component."""
    by_urn = {r.urn: r for r in resources}
    inside: set[str] = set()
    for r in resources:
        parent = by_urn.get(r.parent or "")
        while parent is not None and parent.type != STATIC_SITE:
            parent = by_urn.get(parent.parent or "")
        if parent is not None:
            inside.add(r.urn)
    return inside


def _site_edges(graph: _Graph) -> None:
    """Each site: Cloudflare to its distribution by host, the distribution to its buckets, the deploy's upload."""
    for cdn in graph.of(DISTRIBUTION):
        host = (_get(cdn.inputs, "aliases") or [""])[0]
        graph.edge("cloudflare", graph.ids[cdn.urn], host)
        for bucket in (b for b in graph.of(S3_BUCKET) if b.parent == cdn.parent):
            logs = _get(bucket.inputs, "tags", "purpose") == "access logs"
            graph.edge(graph.ids[cdn.urn], graph.ids[bucket.urn], "access logs" if logs else "OAC, SigV4")
            if not logs:
                graph.edge("deploy", graph.ids[bucket.urn], "uploads the build")
        graph.edge("deploy", graph.ids[cdn.urn], "invalidates changed files")


def _function_named(graph: _Graph, name: str) -> PlannedResource | None:
    """The function whose physical or logical name is ``name`` or ends with ``-<name>``."""
    for f in graph.of(FUNCTION):
        names = [str(n) for n in (_get(f.inputs, "name"), f.name) if n]
        if any(n == name or n.endswith(f"-{name}") for n in names):
            return f
    return None


def _names(r: PlannedResource) -> list[str]:
    return [str(n) for n in (_get(r.inputs, "name"), r.name) if n]


def _related(a: PlannedResource, b: PlannedResource) -> bool:
    """Same service by name: ``valuation`` and ``valuation-image``, ``reggie-staging-valuation`` and so on."""
    for x in _names(a):
        for y in _names(b):
            if x == y or x.startswith(f"{y}-") or y.startswith(f"{x}-") or x.endswith(f"-{y}") or y.endswith(f"-{x}"):
                return True
    return False


def _same_component(graph: _Graph, r: PlannedResource, type_: str) -> PlannedResource | None:
    siblings = [x for x in graph.of(type_) if x.parent == r.parent]
    return siblings[0] if len(siblings) == 1 else None


_CONTRACT_EDGES: tuple[tuple[str, str, str], ...] = (
    # (environment variable, target type, edge label): the function reaches the target
    (contract.DB_HOST, CLUSTER, "SQL, TLS"),
    (contract.BUCKET_NAME, BUCKET, "presigned URLs"),
)


def _routed_functions(graph: _Graph) -> set[str]:
    """Physical names of the functions an API integration invokes (``...:function:<name>[:alias]``)."""
    uris = [_get(r.inputs, "integrationUri") for r in graph.resources if r.type == INTEGRATION]
    return {
        uri.split(":function:", 1)[1].split(":", 1)[0] for uri in uris if isinstance(uri, str) and ":function:" in uri
    }


def _function_edges(graph: _Graph, ids: Mapping[str, str], parameters: int) -> None:
    routed = _routed_functions(graph)
    for f in graph.of(FUNCTION):
        env = _env(f)
        if _get(f.inputs, "name") in routed:
            for api in graph.of(HTTP_API):
                graph.edge(ids[api.urn], ids[f.urn], "routes")
        for variable, type_, label in _CONTRACT_EDGES:
            for target in graph.of(type_) if variable in env else []:
                graph.edge(ids[f.urn], ids[target.urn], label)
        for key in sorted(k for k in env if k.endswith(contract.FUNCTION_NAME_SUFFIX)):
            invoked = _function_named(graph, key.removesuffix(contract.FUNCTION_NAME_SUFFIX).lower().replace("_", "-"))
            if invoked is not None:
                graph.edge(ids[f.urn], ids[invoked.urn], "invokes")
        if parameters and any(key.endswith(contract.PARAMETER_SUFFIX) for key in env):
            graph.edge(ids[f.urn], "ssm", "reads secrets")
        if _get(f.inputs, "packageType") == "Image":
            for repository in (r for r in graph.of(REPOSITORY) if _related(r, f)):
                graph.edge(ids[repository.urn], ids[f.urn], "image by digest")


def _invocation_edges(graph: _Graph) -> None:
    for invocation in (r for r in graph.resources if r.type == INVOCATION):
        target = _get(invocation.inputs, "functionName")
        function = _function_named(graph, str(target)) if isinstance(target, str) else None
        if function is None:  # the name is unknown until deploy: fall back to the invocation's own name
            function = next((f for f in graph.of(FUNCTION) if invocation.name.startswith(f.name)), None)
        if function is not None:
            graph.edge("deploy", graph.ids[function.urn], "invoked on every deploy")


def _node(graph: _Graph, r: PlannedResource, indent: str) -> str:
    return f"{indent}{_shape(r, graph.ids[r.urn], _label(_node_label(r, graph.resources)))}"


def _node_lines(graph: _Graph, parameters: int) -> list[str]:
    """Nodes, with the VPC's public and private subnets as nested subgraphs."""
    in_vpc = [f for f in graph.of(FUNCTION) if _get(f.inputs, "vpcConfig")]
    private = in_vpc + graph.of(CLUSTER)
    nats = graph.of(NAT_INSTANCE) + graph.of(NAT_GROUP) + graph.of(NAT_GATEWAY)
    vpcs = [r for r in graph.resources if r.type == VPC]
    lines = ['  clients(["clients: web, admin, partners, agents"])']
    if private or nats:
        cidr = _get(vpcs[0].inputs, "cidrBlock") if vpcs else None
        heading = f"VPC {cidr}" if cidr else ("VPC" if vpcs else "shared network (StackReference)")
        lines.append(f'  subgraph vpc["{_label(heading)}"]')
        if nats:
            lines += ['    subgraph public["public subnets"]', *(_node(graph, r, "      ") for r in nats), "    end"]
        lines += ['    subgraph private["private subnets"]', *(_node(graph, r, "      ") for r in private), "    end"]
        lines.append("  end")
    placed = {r.urn for r in private + nats}
    lines += [_node(graph, r, "  ") for r in graph.drawn if r.urn not in placed]
    if parameters:
        lines.append(f'  ssm[["SSM Parameter Store<br/>{parameters} SecureString parameters"]]')
    if any(r.type == INVOCATION for r in graph.resources):
        lines.append('  deploy(["pulumi up"])')
    if in_vpc:
        lines.append('  internet(("internet: Clerk JWKS, Stripe, R2, DVLA"))')
        if nats:
            graph.edge("private", "public", "default route")
            graph.edge("public", "internet")
        else:
            graph.edge("private", "internet", "via the shared network's NAT")
    return lines


def _entry_edges(graph: _Graph) -> list[str]:
    """The way in: clients, proxied DNS, the custom domain, the API (or straight to the API)."""
    domains, apis = graph.of(DOMAIN), graph.of(HTTP_API)
    proxied = [r for r in graph.resources if r.type == DNS_RECORD and _get(r.inputs, "proxied") is True]
    lines: list[str] = []
    if proxied:
        lines.append('  cloudflare{{"Cloudflare DNS, proxied"}}')
        graph.edge("clients", "cloudflare", "HTTPS")
        for domain in domains:
            graph.edge("cloudflare", graph.ids[domain.urn])
    for domain in domains:
        for api in apis:
            graph.edge(graph.ids[domain.urn], graph.ids[api.urn], "TLS 1.2")
    if not proxied:
        for api in apis:
            graph.edge("clients", graph.ids[api.urn], "HTTPS")
    return lines


def render(resources: Sequence[PlannedResource], title: str | None = None) -> str:
    """The stage's architecture as a Mermaid ``flowchart``, deterministic for a given resource list."""
    graph = _Graph(resources)
    parameters = sum(1 for r in resources if r.type == PARAMETER)
    lines = ["---", f"title: {_label(title)}", "---"] if title else []
    lines += ["flowchart LR", *_node_lines(graph, parameters), *_entry_edges(graph)]
    _function_edges(graph, graph.ids, parameters)
    _invocation_edges(graph)
    _site_edges(graph)
    for cluster in graph.of(CLUSTER):
        key = _same_component(graph, cluster, KMS_KEY)
        if key is not None:
            graph.edge(graph.ids[key.urn], graph.ids[cluster.urn], "encrypts")
    return "\n".join(lines + graph.edges) + "\n"
