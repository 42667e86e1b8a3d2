"""etcd's protobuf messages and the conversions the client and the watch share: the generated
modules (built at install time by etcd/generate.py), `KeyValue` from an mvccpb.KeyValue, Txn
compares and ops, and the prefix ranges of etcd's clientv3 (`GetPrefixRangeEnd`). Pure.
"""

from __future__ import annotations

from typing import Any

try:
    from watchproxy.etcd._generated import kv_pb2, rpc_pb2, rpc_pb2_grpc
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "watchproxy.etcd._generated is missing or broken; it is produced at build time: "
        "run `pip install -e .` or `python -m watchproxy.etcd.generate`"
    ) from exc

from watchproxy.etcd.values import KeyValue

__all__ = ["kv_pb2", "rpc_pb2", "rpc_pb2_grpc"]


def prefix_range_end(prefix: bytes) -> bytes:
    """The exclusive range end covering every key starting with ``prefix``.

    Same rule as etcd's clientv3 ``GetPrefixRangeEnd``: increment the last byte
    that is not 0xff and drop what follows; ``b"\\0"`` (= "to the end of the
    keyspace") if there is no such byte.
    """
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


def _prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    # An empty key is invalid in etcd; "\0".."\0" is its spelling of "all keys".
    if not prefix:
        return b"\x00", b"\x00"
    return prefix, prefix_range_end(prefix)


def _kv(pb: Any) -> KeyValue:
    return KeyValue(
        key=bytes(pb.key),
        value=bytes(pb.value),
        create_revision=int(pb.create_revision),
        mod_revision=int(pb.mod_revision),
        version=int(pb.version),
    )


def _first_range_kv(resp: Any) -> KeyValue | None:
    """The kv read by the (single) Range op of a Txn branch, if any."""
    for op in resp.responses:
        if op.WhichOneof("response") == "response_range" and op.response_range.kvs:
            return _kv(op.response_range.kvs[0])
    return None


def _compare(key: bytes, target: str, result: str, value: int) -> Any:
    # The oneof member name matches the target ("create_revision", ...). Setting
    # it explicitly, even to 0, marks the oneof as present.
    field_name = {"CREATE": "create_revision", "MOD": "mod_revision", "VERSION": "version"}[target]
    return rpc_pb2.Compare(
        key=key,
        target=getattr(rpc_pb2.Compare, target),
        result=getattr(rpc_pb2.Compare, result),
        **{field_name: value},
    )


def _range_op(key: bytes) -> Any:
    return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))
