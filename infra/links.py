"""Links: what a function gets for each thing its spec links, one class per kind of linkable thing.

Each kind (the way SST's ``link`` does it) is the one place that says what linking it means: the
environment variables it sets (named in ``services/core/contract.py``), the least-privilege IAM it
grants, the network ingress it opens (and the function's matching egress), the secrets it brings and
whether it needs the VPC. The wiring asks every link of a spec the same questions and never looks at a
particular service.

| kind | environment | IAM | ingress (and egress) |
|---|---|---|---|
| ``database`` | ``DB_HOST``, ``DB_PORT``, ``DB_NAME``, ``DB_USER`` (its role) | ``rds-db:connect`` as it | PostgreSQL |
| ``database_master`` | ``DB_HOST``, ``DB_PORT``, ``DB_NAME``, ``DB_SECRET_ARN`` | read the master secret | PostgreSQL |
| ``documents`` | ``BUCKET_NAME``, ``BUCKET_ENDPOINT``; brings the R2 key pair | none (R2 takes its keys) | none |
| ``clerk`` | ``ALLOWED_ORIGINS``, ``CLERK_ISSUER``, ``CLERK_JWKS_URL`` | none | none |
| a service | ``<NAME>_FUNCTION_NAME`` | ``lambda:InvokeFunction`` on that function | none |
| secrets | ``<SECRET>_PARAMETER`` each, ``SECRETS_VERSION`` | ``ssm:GetParameter`` on those | none |
| settings | ``<SETTING>`` each, the stage's value | none | none |

A function in the VPC may send HTTPS anywhere (through the NAT: every AWS API and outside service it
calls) and, besides, exactly what its links' :meth:`Linkable.egress` opens.

The static half (:func:`link_kind`, :func:`secrets_of`, :func:`stored_secrets`, :func:`stored_settings`,
:func:`linked_services`) needs no resources: the registry validates with it and the stage config learns
from it which secrets to store and which setting keys to read. The other half (:meth:`Linkable.environment`,
:meth:`Linkable.grant`, :meth:`Linkable.admit`, :meth:`Linkable.egress`, :meth:`Linkable.ready`) acts on
the :class:`LinkTargets` the wiring has declared. What ``grant``, ``admit``, ``egress`` and ``ready`` return
is what the function needs in place before it can use the thing: a run-on-deploy function (the migrator)
runs during the same ``pulumi up``, so its invocation waits for all of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import pulumi
import pulumi_aws as aws

from components._common import policy_document
from infra.service_spec import Secret, ServiceSpec, Setting
from services.core import contract

if TYPE_CHECKING:
    from components import AuroraPostgres, Function, R2Bucket, Secrets
    from infra.config import Stage

Environment = dict[str, pulumi.Input[str]]
Needs = list[pulumi.Resource]
"""Resources a function's use of a link depends on (a component stands for all of its children)."""


@dataclass(frozen=True, slots=True)
class LinkTargets:
    """What links resolve against: the stage and the platform resources declared so far."""

    stage: Stage
    database: AuroraPostgres
    bucket: R2Bucket
    secrets: Secrets
    functions: Mapping[str, Function]
    """The functions declared so far; the registry orders specs so a linked service comes first."""


class Linkable:
    """One kind of linkable thing. The defaults give nothing: a kind overrides what it provides."""

    needs_vpc: ClassVar[bool] = False
    """Reachable only from inside the VPC: a spec linking it must set ``vpc=True``."""
    brings: ClassVar[tuple[Secret, ...]] = ()
    """Secrets linking this implies (its credentials), as if the spec had linked them itself."""

    def environment(self, targets: LinkTargets) -> Environment:
        """The variables the function gets."""
        del targets
        return {}

    def grant(self, function: Function, targets: LinkTargets) -> Needs:
        """The IAM the function gets, on exactly this thing; returns the grants it declared."""
        del function, targets
        return []

    def admit(self, function: Function, service: str, targets: LinkTargets) -> Needs:
        """The network ingress this thing opens to the function of ``service``; returns the rules it declared."""
        del function, service, targets
        return []

    def egress(self, function: Function, admitted: Needs, targets: LinkTargets) -> Needs:
        """The function's own way out to this thing; returns the rules it declared. By default exactly the
        mirror of what :meth:`admit` opened (the same security group, protocol and ports), so the two sides of
        a path never disagree: a kind admitting nothing adds nothing (HTTPS, which every VPC function may
        send, reaches it). A kind that opens several rules, or needs egress to somewhere else, overrides it."""
        del targets
        rules = [rule for rule in admitted if isinstance(rule, aws.vpc.SecurityGroupIngressRule)]
        if len(rules) > 1:
            raise TypeError(f"{type(self).__name__} admits {len(rules)} rules: it must name each one's egress")
        return [function.reach(self.kind_label, rule) for rule in rules]

    @property
    def kind_label(self) -> str:
        """The kind's name in children's names: ``DatabaseLink`` → ``database``."""
        return type(self).__name__.removesuffix("Link").lower()

    def ready(self, targets: LinkTargets) -> Needs:
        """What must exist before the function can use this thing at all, beyond what its environment
        already refers to (a cluster reports available before it has an instance to connect to)."""
        del targets
        return []

    def for_service(self, service: str) -> Linkable:
        """This kind as ``service`` links it; a kind whose grant depends on who links it (the database's
        role) returns a copy bound to the service."""
        del service
        return self


class _AuroraWriter(Linkable):
    """The Aurora writer: where it is, PostgreSQL ingress from the function, and its instance in place."""

    needs_vpc = True

    def environment(self, targets: LinkTargets) -> Environment:
        database = targets.database
        return {
            contract.DB_HOST: database.endpoint,
            contract.DB_PORT: database.port.apply(str),
            contract.DB_NAME: database.database_name,
        }

    def admit(self, function: Function, service: str, targets: LinkTargets) -> Needs:
        if function.security_group_id is None:  # never, given vpc=True (the registry checks)
            return []
        return [targets.database.allow_from(service, function.security_group_id)]

    def ready(self, targets: LinkTargets) -> Needs:
        # The cluster's endpoint resolves as soon as the cluster exists; connections succeed only once
        # its writer instance is available.
        return [targets.database.node("writer", aws.rds.ClusterInstance)]


@dataclass(frozen=True)  # no slots: its methods call super()
class DatabaseLink(_AuroraWriter):
    """The Aurora writer as the service's own role (``reggie_<service>``, created by the migrations with
    exactly the privileges its code uses), logged in with IAM authentication tokens: the function may
    ``rds-db:connect`` as that one database user and reads no password anywhere."""

    service: str = ""

    def for_service(self, service: str) -> Linkable:
        return DatabaseLink(service)

    @property
    def role(self) -> str:
        return contract.database_role(self.service)

    def environment(self, targets: LinkTargets) -> Environment:
        return super().environment(targets) | {contract.DB_USER: self.role}

    def grant(self, function: Function, targets: LinkTargets) -> Needs:
        database = targets.database
        user = pulumi.Output.all(database.cluster_arn, database.cluster_resource_id).apply(
            lambda parts: dbuser_arn(str(parts[0]), str(parts[1]), self.role)
        )
        # Through the function's own door for grants (its ``grant`` role and transform, keyed like the
        # grants its methods declare).
        policy = function.child(
            "grant",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(
                role=function.role_name,
                policy=user.apply(
                    lambda arn: policy_document([{"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [arn]}])
                ),
            ),
            "grant-db-connect",
            key="db-connect",
        )
        return [policy]


class DatabaseMasterLink(_AuroraWriter):
    """The Aurora writer as the master user, its password read from the RDS-managed secret: what creates the
    schema and the roles (the migrator), and nothing else should link."""

    def environment(self, targets: LinkTargets) -> Environment:
        return super().environment(targets) | {contract.DB_SECRET_ARN: targets.database.master_secret_arn}

    def grant(self, function: Function, targets: LinkTargets) -> Needs:
        return [function.grant_secret_read("db-secret", targets.database.master_secret_arn)]


def dbuser_arn(cluster_arn: str, cluster_resource_id: str, user: str) -> str:
    """What ``rds-db:connect`` names for ``user`` of a cluster: ``arn:<partition>:rds-db:<region>:<account>:
    dbuser:<cluster resource id>/<user>`` (the partition, region and account are the cluster's own)."""
    _, partition, _, region, account = cluster_arn.split(":")[:5]
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{cluster_resource_id}/{user}"


class DocumentsLink(Linkable):
    """The R2 bucket of claim documents. R2 takes no IAM: an R2 API token (the key pair) is its grant."""

    brings = (Secret("r2_access_key_id"), Secret("r2_secret_access_key"))

    def environment(self, targets: LinkTargets) -> Environment:
        return {contract.BUCKET_NAME: targets.bucket.bucket_name, contract.BUCKET_ENDPOINT: targets.bucket.s3_endpoint}


class ClerkLink(Linkable):
    """Clerk sign-in: what verifying a session token needs (the issuer, its keys, the allowed ``azp``)."""

    def environment(self, targets: LinkTargets) -> Environment:
        stage = targets.stage
        return {
            contract.ALLOWED_ORIGINS: ",".join(stage.allowed_origins),
            contract.CLERK_ISSUER: stage.clerk_issuer,
            contract.CLERK_JWKS_URL: contract.clerk_jwks_url(stage.clerk_issuer),
        }


@dataclass(frozen=True, slots=True)
class ServiceLink(Linkable):
    """Another service's function, invoked directly."""

    target: str

    def environment(self, targets: LinkTargets) -> Environment:
        return {contract.function_name_variable(self.target): targets.functions[self.target].function_name}

    def grant(self, function: Function, targets: LinkTargets) -> Needs:
        return [function.grant_invoke(f"invoke-{self.target}", targets.functions[self.target].arn)]

    def ready(self, targets: LinkTargets) -> Needs:
        # The invoked function with everything it declares (its role's policies, its security group's rules).
        return [targets.functions[self.target]]


@dataclass(frozen=True, slots=True)
class SecretsLink(Linkable):
    """The granted secrets of one spec, together: one read grant, and one version stamp for all of them."""

    names: tuple[str, ...]

    def environment(self, targets: LinkTargets) -> Environment:
        parameters = targets.secrets
        env: Environment = {contract.secret_parameter_variable(n): parameters.parameter_names[n] for n in self.names}
        versions = [parameters.parameter_versions[n].apply(lambda v, n=n: f"{n}:{v}") for n in self.names]
        env[contract.SECRETS_VERSION] = pulumi.Output.all(*versions).apply(lambda parts: ",".join(sorted(parts)))
        return env

    def grant(self, function: Function, targets: LinkTargets) -> Needs:
        return [function.grant_parameters_read("secrets", [targets.secrets.parameter_arns[n] for n in self.names])]


@dataclass(frozen=True, slots=True)
class SettingsLink(Linkable):
    """The stage settings one spec links: each one's value, as the stage read it (or its default)."""

    names: tuple[str, ...]

    def environment(self, targets: LinkTargets) -> Environment:
        return {contract.setting_variable(name): targets.stage.settings[name] for name in self.names}


PLATFORM_LINKS: dict[str, Linkable] = {
    "clerk": ClerkLink(),
    "database": DatabaseLink(),
    "database_master": DatabaseMasterLink(),
    "documents": DocumentsLink(),
}
"""The platform's own linkable things, by the name a spec links them with; any other name is a service."""


def links_database(spec: ServiceSpec) -> bool:
    """Whether ``spec`` reaches the database (as its own role or as the master user)."""
    return any(isinstance(link, str) and isinstance(PLATFORM_LINKS.get(link), _AuroraWriter) for link in spec.links)


def link_kind(link: str) -> Linkable:
    """What a named link is: a platform resource, or else the service of that name (the registry checks
    that it exists)."""
    return PLATFORM_LINKS.get(link) or ServiceLink(link)


def linked_services(spec: ServiceSpec) -> tuple[str, ...]:
    """The services ``spec`` links (it invokes them, so they are declared first)."""
    return tuple(link for link in spec.links if isinstance(link, str) and link not in PLATFORM_LINKS)


def secrets_of(spec: ServiceSpec) -> tuple[Secret, ...]:
    """Every secret ``spec`` links, directly or through what it links, once each, in link order (a secret
    linked both ways is granted if either link grants it)."""
    found: dict[str, Secret] = {}
    for link in spec.links:
        if isinstance(link, Setting):
            continue
        for secret in (link,) if isinstance(link, Secret) else link_kind(link).brings:
            if secret.name not in found or secret.granted:
                found[secret.name] = secret
    return tuple(found.values())


def stored_secrets(specs: Iterable[ServiceSpec]) -> tuple[str, ...]:
    """The secrets a stage stores: every one some spec links (granted or not), sorted."""
    return tuple(sorted({secret.name for spec in specs for secret in secrets_of(spec)}))


def settings_of(spec: ServiceSpec) -> tuple[Setting, ...]:
    """The stage settings ``spec`` links, in link order."""
    return tuple(link for link in spec.links if isinstance(link, Setting))


def stored_settings(specs: Iterable[ServiceSpec]) -> tuple[Setting, ...]:
    """The settings a stage reads: every one some spec links, once per name (the registry checks that specs
    linking the same name declare it alike), sorted by name."""
    found = {setting.name: setting for spec in specs for setting in settings_of(spec)}
    return tuple(found[name] for name in sorted(found))


def resolve(spec: ServiceSpec) -> list[Linkable]:
    """The linkable things of ``spec`` (a validated spec): its named links in order, then its granted
    secrets as one :class:`SecretsLink` and its settings as one :class:`SettingsLink`."""
    linked = [link_kind(link).for_service(spec.name) for link in spec.links if isinstance(link, str)]
    granted = tuple(secret.name for secret in secrets_of(spec) if secret.granted)
    if granted:
        linked.append(SecretsLink(granted))
    settings = tuple(setting.name for setting in settings_of(spec))
    if settings:
        linked.append(SettingsLink(settings))
    return linked


def function_environment(
    spec: ServiceSpec, linked: Sequence[Linkable], targets: LinkTargets, release: Mapping[str, str] | None = None
) -> Environment:
    """The whole environment contract of one function: who it is, which release (``APP_VERSION``,
    ``GIT_COMMIT``: ``infra/release.py``), what each link gives, its own extras."""
    env: Environment = {
        contract.STAGE: targets.stage.name,
        contract.SERVICE_NAME: spec.name,
        contract.LOG_LEVEL: "INFO",
        **(release or {}),
    }
    for link in linked:
        env |= link.environment(targets)
    return env | spec.environment
