"""Reusable, stage-agnostic Pulumi ComponentResources. They never read config: everything is an argument."""

from components._common import Component, ComponentArgsError, Node, Transform
from components.alarms import Alarm, Alarms, AlarmsArgs, AlarmsTransforms, Metric, MetricMath, Probe
from components.aurora import AuroraPostgres, AuroraPostgresArgs, AuroraPostgresTransforms
from components.container_image import ContainerImage, ContainerImageArgs, ContainerImageTransforms
from components.function import Function, FunctionArgs, FunctionTransforms, ImageCode, VpcPlacement, ZipCode
from components.http_api import CustomDomain, HttpApi, HttpApiArgs, HttpApiTransforms, LambdaTarget, Route
from components.network import Network, NetworkArgs, NetworkTransforms
from components.r2_bucket import R2Bucket, R2BucketArgs, R2BucketTransforms
from components.secrets import Secrets, SecretsArgs, SecretsTransforms
from components.site_build import SiteBuild, SiteBuildError, SiteFile, scan_build
from components.static_site import StaticSite, StaticSiteArgs, StaticSiteTransforms

__all__ = [
    "Alarm",
    "Alarms",
    "AlarmsArgs",
    "AlarmsTransforms",
    "AuroraPostgres",
    "AuroraPostgresArgs",
    "AuroraPostgresTransforms",
    "Component",
    "ComponentArgsError",
    "ContainerImage",
    "ContainerImageArgs",
    "ContainerImageTransforms",
    "CustomDomain",
    "Function",
    "FunctionArgs",
    "FunctionTransforms",
    "HttpApi",
    "HttpApiArgs",
    "HttpApiTransforms",
    "ImageCode",
    "LambdaTarget",
    "Metric",
    "MetricMath",
    "Network",
    "NetworkArgs",
    "NetworkTransforms",
    "Node",
    "Probe",
    "R2Bucket",
    "R2BucketArgs",
    "R2BucketTransforms",
    "Route",
    "Secrets",
    "SecretsArgs",
    "SecretsTransforms",
    "SiteBuild",
    "SiteBuildError",
    "SiteFile",
    "StaticSite",
    "StaticSiteArgs",
    "StaticSiteTransforms",
    "Transform",
    "VpcPlacement",
    "ZipCode",
    "scan_build",
]
