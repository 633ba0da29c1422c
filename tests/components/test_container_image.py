"""ContainerImage under mocks: a locked-down ECR repository and a digest-pinned image for one platform."""

from __future__ import annotations

import json

import pytest

from components import ComponentArgsError, ContainerImage, ContainerImageArgs
from tests.components.helpers import children_of, component, one, run


def _args(**overrides: object) -> ContainerImageArgs:
    base: dict[str, object] = {
        "repository_name": "reggie-test-valuation",
        "context": ".",
        "dockerfile": "services/valuation/Dockerfile",
        "tag": "src-0123456789abcdef",
        "platform": "linux/arm64",
    }
    return ContainerImageArgs(**(base | overrides))  # type: ignore[arg-type]


def test_repository_is_immutable_scanned_and_pruned_and_lambda_gets_a_digest() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        image = ContainerImage("valuation", _args())
        image.image_uri.apply(lambda v: seen.__setitem__("uri", v))

    res = run(program).resources
    comp = component(res, "reggie:components:ContainerImage")
    assert {r.urn for r in res if r.custom} == {r.urn for r in children_of(res, comp)}
    repo = one(res, "aws:ecr/repository:Repository").inputs
    assert repo["name"] == "reggie-test-valuation"
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["forceDelete"] is False  # removing a repository that holds images fails unless asked
    rule = json.loads(one(res, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"][0]
    assert rule["selection"]["countType"] == "imageCountMoreThan"
    assert rule["selection"]["countNumber"] == 10

    image = one(res, "docker:index/image:Image").inputs
    assert image["build"]["platform"] == "linux/arm64"
    assert image["build"]["dockerfile"] == "services/valuation/Dockerfile"
    assert image["imageName"].endswith("/reggie-test-valuation:src-0123456789abcdef")
    assert image["registry"]["server"].endswith(".amazonaws.com/reggie-test-valuation")
    assert image["registry"]["username"] == "AWS"
    assert "@sha256:" in seen["uri"]
    assert ":src-" not in seen["uri"]  # the digest, never the tag


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"platform": "linux/386"}, "platform"),
        ({"repository_name": "Bad Name"}, "repository_name"),
        ({"tag": ":latest"}, "tag"),
        ({"keep_images": 0}, "keep_images"),
    ],
)
def test_bad_arguments_are_rejected_up_front(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ComponentArgsError, match=field):
        _args(**overrides)


def test_force_delete_is_the_callers_choice() -> None:
    res = run(lambda: ContainerImage("valuation", _args(force_delete=True))).resources
    assert one(res, "aws:ecr/repository:Repository").inputs["forceDelete"] is True
