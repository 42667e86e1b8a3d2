"""watchproxy: a tenant-sharded Kubernetes list/watch proxy over several etcd clusters."""

__version__ = "0.1.0"
