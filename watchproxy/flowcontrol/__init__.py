"""API Priority and Fairness: priority levels, flow schemas, fair queues, seat estimates
(kube-apiserver's staging/src/k8s.io/apiserver/pkg/util/flowcontrol, KEP-1040)."""

from watchproxy.flowcontrol.controller import Admission, Classification, FlowController, Rejected
from watchproxy.flowcontrol.settings import FlowControlSettings, parse_flow_control

__all__ = [
    "Admission",
    "Classification",
    "FlowControlSettings",
    "FlowController",
    "Rejected",
    "parse_flow_control",
]
