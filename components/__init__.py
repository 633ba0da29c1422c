"""Reusable, stage-agnostic Pulumi ComponentResources. They never read config: everything is an argument."""

from components._common import Component, ComponentArgsError, Node, Transform
from components.alarms import Alarm, Alarms, AlarmsArgs, AlarmsTransforms, Metric, MetricMath, Probe
from components.aurora import AuroraPostgres, AuroraPostgresArgs, AuroraPostgresTransforms
from components.container_image import ContainerImage, ContainerImageArgs, ContainerImageTransforms
from components.function import Function, FunctionArgs, FunctionTransforms, ImageCode, VpcPlacement, ZipCode
from components.http_api import CustomDomain, HttpApi, HttpApiArgs, HttpApiTransforms, LambdaTarget, Route, Throttle
from components.network import Network, NetworkArgs, NetworkTransforms
from components.r2_bucket import R2Bucket, R2BucketArgs, R2BucketTransforms
from components.secrets import Secrets, SecretsArgs, SecretsTransforms
from components.site_build import SiteBuild, SiteBuildError, SiteFile, scan_build
from components.static_site import StaticSite, StaticSiteArgs, StaticSiteTransforms
from components.zone_rate_limits import RateLimitRule, ZoneRateLimits, ZoneRateLimitsArgs, ZoneRateLimitsTransforms

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
    "RateLimitRule",
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
    "Throttle",
    "Transform",
    "VpcPlacement",
    "ZipCode",
    "ZoneRateLimits",
    "ZoneRateLimitsArgs",
    "ZoneRateLimitsTransforms",
    "scan_build",
]
