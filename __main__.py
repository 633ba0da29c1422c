"""The Reggie platform's Pulumi program: read the stage config once, build the platform, export its outputs."""

from infra.config import load_stage
from infra.wiring import build_platform, export_outputs

export_outputs(build_platform(load_stage()))
