"""Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) as JSON objects.

`proto/` holds trimmed copies of the upstream `generated.proto` schemas; the build compiles them
into `_generated/` (see `hatch_build.py`). `decode.decode_protobuf` turns a body into the JSON
object kube-apiserver would have stored for it.
"""
