"""The Reggie platform's Pulumi program: read the stage config once, build the platform, export its outputs.

A network stack (`dev-network`) declares only the VPC that personal stages share (and, if asked, its NAT's alarms)."""

from infra.config import load_stage
from infra.monitoring import monitor
from infra.network import export_network, own_network
from infra.wiring import build_platform, export_outputs

stage = load_stage()
if stage.kind == "network":
    network = own_network(stage)
    monitor(stage, network=network)
    export_network(network)
else:
    export_outputs(build_platform(stage))
