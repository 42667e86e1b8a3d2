"""kube's defaulting (SetDefaults_* in pkg/apis/<group>/v1/defaults.go and the declarative
`+default` markers of k8s.io/api), applied to the JSON object as kube applies it while decoding
every create, update and patch body -- so what watchproxy stores reads back as kube-apiserver's
would.

`podspec.py`: the Pod spec and everything under it (containers, probes, volumes), reused by
every pod template (zz_generated.defaults.go recurses into Deployments, StatefulSets,
DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs, PodTemplates);
`workloads.py`: apps/v1 and batch/v1; `core.py`: the other core/v1 types and the small groups.

Every function takes objects as decoded JSON and leaves a value of the wrong JSON type alone
(the type check or validation refuses it later): defaulting never raises.
"""

from watchproxy.registry.defaults.apiextensions import DEFAULTERS as CRD_DEFAULTERS
from watchproxy.registry.defaults.core import DEFAULTERS as CORE_DEFAULTERS
from watchproxy.registry.defaults.workloads import DEFAULTERS as WORKLOAD_DEFAULTERS

DEFAULTERS = {**CORE_DEFAULTERS, **WORKLOAD_DEFAULTERS, **CRD_DEFAULTERS}

__all__ = ["DEFAULTERS"]
