"""Reusable, stage-agnostic Pulumi ComponentResources. They never read config: everything is an argument."""

from components._common import ComponentArgsError, Transform, Transforms
from components.aurora import AuroraPostgres, AuroraPostgresArgs
from components.container_image import ContainerImage, ContainerImageArgs
from components.function import Function, FunctionArgs, ImageCode, VpcPlacement, ZipCode
from components.http_api import CustomDomain, HttpApi, HttpApiArgs, LambdaTarget, Route
from components.network import Network, NetworkArgs
from components.r2_bucket import R2Bucket, R2BucketArgs
from components.secrets import Secrets, SecretsArgs

__all__ = [
    "AuroraPostgres",
    "AuroraPostgresArgs",
    "ComponentArgsError",
    "ContainerImage",
    "ContainerImageArgs",
    "CustomDomain",
    "Function",
    "FunctionArgs",
    "HttpApi",
    "HttpApiArgs",
    "ImageCode",
    "LambdaTarget",
    "Network",
    "NetworkArgs",
    "R2Bucket",
    "R2BucketArgs",
    "Route",
    "Secrets",
    "SecretsArgs",
    "Transform",
    "Transforms",
    "VpcPlacement",
    "ZipCode",
]
