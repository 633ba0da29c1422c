"""ContainerImage: an ECR repository and one image built for one platform and pushed with an ECR token.

Tags are immutable, so each build needs a tag that changes with its content (the caller passes a
source hash); Lambda receives the digest-pinned reference (``repo@sha256:...``), never a tag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components._common import (
    Component,
    ComponentArgsError,
    Transform,
    check_transform_keys,
    no_tags,
    roles_of,
)

Platform = Literal["linux/arm64", "linux/amd64"]
PLATFORMS: tuple[Platform, ...] = ("linux/arm64", "linux/amd64")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ContainerImageTransforms(TypedDict, total=False):
    """The roles of :class:`ContainerImage`'s children, each with its transform hook's args type."""

    repository: Transform[aws.ecr.RepositoryArgs]
    """The ECR repository (``<name>-repo``)."""
    lifecycle_policy: Transform[aws.ecr.LifecyclePolicyArgs]
    """Expires all but the newest images (``<name>-lifecycle``)."""
    image: Transform[docker.ImageArgs]
    """The built and pushed image (``<name>-image``)."""


ROLES = roles_of(ContainerImageTransforms)


def _no_build_args() -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class ContainerImageArgs:
    """Arguments of :class:`ContainerImage`."""

    repository_name: str
    """ECR repository name (lowercase, 2-256 characters)."""
    context: str
    """The build context directory."""
    dockerfile: str
    """The Dockerfile path."""
    tag: str
    """The image tag; must change whenever the content does (tags are immutable)."""
    platform: Platform = "linux/arm64"
    """The one platform the image is built for; it must match the Lambda's architecture."""
    build_args: Mapping[str, str] = field(default_factory=_no_build_args)
    """Docker build arguments."""
    keep_images: int = 10
    """The lifecycle policy keeps this many most recent images."""
    force_delete: bool = False
    """Delete the repository with its images when it is removed (a throwaway stage's ``pulumi destroy``);
    off, removing a repository that holds images fails, so a protected stage never loses them by accident."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to the repository."""
    transforms: ContainerImageTransforms = field(default_factory=ContainerImageTransforms)
    """Per-child hooks keyed by role (see :class:`ContainerImageTransforms`)."""

    def __post_init__(self) -> None:
        if not (2 <= len(self.repository_name) <= 256 and _REPOSITORY.match(self.repository_name)):
            raise ComponentArgsError(
                f"ContainerImageArgs.repository_name: {self.repository_name!r} is not a valid ECR repository name"
            )
        if self.platform not in PLATFORMS:
            raise ComponentArgsError(f"ContainerImageArgs.platform: use one of {', '.join(PLATFORMS)}")
        if not _TAG.match(self.tag):
            raise ComponentArgsError(f"ContainerImageArgs.tag: {self.tag!r} is not a valid image tag")
        if self.keep_images < 1:
            raise ComponentArgsError("ContainerImageArgs.keep_images: must be at least 1")
        check_transform_keys("ContainerImage", self.transforms, ROLES)


def lifecycle_policy(keep: int) -> str:
    """An ECR lifecycle policy expiring all but the ``keep`` most recent images."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the last {keep} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                }
            ]
        }
    )


class ContainerImage(Component):
    """An ECR repository (immutable tags, scan on push, lifecycle) and one pushed image.

    Roles (``nodes`` and ``transforms``): ``repository``, ``lifecycle_policy``, ``image``.
    """

    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    image_uri: pulumi.Output[str]
    """The digest-pinned reference, ``<repository>@sha256:<digest>``."""

    def __init__(self, name: str, args: ContainerImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:ContainerImage", name, args.transforms, ROLES, opts)
        repository = self.child(
            "repository",
            aws.ecr.Repository,
            aws.ecr.RepositoryArgs(
                name=args.repository_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
                force_delete=args.force_delete,
                tags=args.tags,
            ),
            "repo",
        )
        self.child(
            "lifecycle_policy",
            aws.ecr.LifecyclePolicy,
            aws.ecr.LifecyclePolicyArgs(repository=repository.name, policy=lifecycle_policy(args.keep_images)),
            "lifecycle",
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        image = self.child(
            "image",
            docker.Image,
            docker.ImageArgs(
                image_name=repository.repository_url.apply(lambda url: f"{url}:{args.tag}"),
                build=docker.DockerBuildArgs(
                    context=args.context,
                    dockerfile=args.dockerfile,
                    platform=args.platform,
                    args=dict(args.build_args) or None,
                ),
                registry=docker.RegistryArgs(
                    server=repository.repository_url,
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                ),
                skip_push=False,
            ),
            "image",
        )
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.image_uri = image.repo_digest
        self.register_outputs(
            {"repository_url": self.repository_url, "repository_arn": self.repository_arn, "image_uri": self.image_uri}
        )
