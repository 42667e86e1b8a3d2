"""Turn the writer's log and the watchers' recordings into latency figures and a verdict.

Correctness, per watcher and per shard: the sequence of (revision, object id) received must equal
the sequence of matching writes in revision order -- nothing lost, repeated, reordered or
attributed to the wrong key. (Across shards no order exists: each etcd has its own revisions.)
WatchList watchers also have their initial events checked: count and sum of object ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.writer import WriteLog

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class WatcherPlan:
    """What each watcher (by id) should see. `node` >= 0: only writes to pods of that node."""

    wid: int
    group: str
    node: int
    initial_count: int  # -1: not a WatchList watcher
    initial_sum: int


def _keys(shard: npt.NDArray[Any], rev: npt.NDArray[Any]) -> IntArray:
    return shard.astype(np.int64) << 48 | rev.astype(np.int64)


def pct(values: npt.NDArray[np.float64], q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


class Expectation:
    """The writes each watcher should receive, per shard, in revision order."""

    def __init__(self, log: WriteLog, write_node: IntArray | None) -> None:
        order = np.lexsort((log.rev, log.shard))
        self.shard = log.shard[order]
        self.rev = log.rev[order]
        self.oid = log.oid[order]
        self.t_commit = log.t_commit[order]
        self.keys = _keys(self.shard, self.rev)
        self.node = write_node[order] if write_node is not None else None
        self._by_node: dict[int, IntArray] = {}
        if self.node is not None:
            idx = np.argsort(self.node, kind="stable")
            nodes = self.node[idx]
            bounds = np.flatnonzero(np.diff(nodes)) + 1
            for part in np.split(idx, bounds):
                if part.size:
                    self._by_node[int(self.node[part[0]])] = np.sort(part)
        self._all = np.arange(self.rev.size)

    def indices(self, node: int) -> IntArray:
        if node < 0:
            return self._all
        return self._by_node.get(node, np.zeros(0, np.int64))

    def count(self, plans: list[WatcherPlan]) -> int:
        return int(sum(self.indices(p.node).size for p in plans))


def analyse(
    exp: Expectation, plans: list[WatcherPlan], d: dict[str, npt.NDArray[Any]]
) -> dict[str, dict[str, Any]]:
    """Per group: counts, correctness figures and latency percentiles (ms)."""
    wid = d["wid"]
    order = np.argsort(wid, kind="stable")
    wid_sorted = wid[order]
    keys = _keys(d["shard"], d["rev"])
    pos_clipped = np.minimum(np.searchsorted(exp.keys, keys), max(exp.keys.size - 1, 0))
    if keys.size and exp.keys.size:
        found = exp.keys[pos_clipped] == keys
    else:
        found = np.zeros(keys.size, np.bool_)
    latency = np.full(keys.size, np.nan)
    if keys.size and exp.keys.size:
        latency[found] = (d["t"][found] - exp.t_commit[pos_clipped[found]]) * 1000.0
    w_index = {int(w): i for i, w in enumerate(d["w_id"])}
    groups: dict[str, dict[str, Any]] = {}
    group_lat: dict[str, list[npt.NDArray[np.float64]]] = {}
    for plan in plans:
        g = groups.setdefault(
            plan.group,
            {
                "watchers": 0, "expected": 0, "delivered": 0, "lost": 0, "duplicates": 0,
                "out_of_order": 0, "unexpected": 0, "wrong_key": 0, "bad_watchers": 0,
                "ended_early": 0, "error_lines": 0, "initial_checked": 0, "initial_bad": 0,
                "examples": [],
            },
        )
        g["watchers"] += 1
        lo = int(np.searchsorted(wid_sorted, plan.wid, "left"))
        hi = int(np.searchsorted(wid_sorted, plan.wid, "right"))
        mine = order[lo:hi]  # this watcher's deliveries in receive order
        group_lat.setdefault(plan.group, []).append(latency[mine])
        want = exp.indices(plan.node)
        g["expected"] += int(want.size)
        g["delivered"] += int(mine.size)
        problems = _compare(exp, want, d, mine, found, pos_clipped)
        for k, v in problems.items():
            g[k] += v
        i = w_index.get(plan.wid)
        bad = any(problems.values())
        if i is not None:
            if d["w_ended_early"][i]:
                g["ended_early"] += 1
                bad = True
            g["error_lines"] += int(d["w_error_lines"][i])
            if plan.initial_count >= 0:
                g["initial_checked"] += 1
                if (
                    int(d["w_initial_count"][i]) != plan.initial_count
                    or int(d["w_initial_sum"][i]) != plan.initial_sum
                ):
                    g["initial_bad"] += 1
                    bad = True
        else:
            bad = True
        if bad:
            g["bad_watchers"] += 1
            if len(g["examples"]) < 3:
                g["examples"].append({"wid": plan.wid, "node": plan.node, **problems})
    for name, g in groups.items():
        lat = np.concatenate(group_lat[name]) if group_lat[name] else np.zeros(0)
        lat = lat[~np.isnan(lat)]
        g["p50_ms"] = pct(lat, 50)
        g["p99_ms"] = pct(lat, 99)
        g["max_ms"] = float(lat.max()) if lat.size else float("nan")
        g["correct"] = g["bad_watchers"] == 0
    return groups


def _compare(
    exp: Expectation,
    want: IntArray,
    d: dict[str, npt.NDArray[Any]],
    mine: IntArray,
    found: npt.NDArray[np.bool_],
    pos: IntArray,
) -> dict[str, int]:
    out = {"lost": 0, "duplicates": 0, "out_of_order": 0, "unexpected": 0, "wrong_key": 0}
    shards = d["shard"][mine]
    for s in np.union1d(np.unique(shards), np.unique(exp.shard[want])):
        got = mine[shards == s]
        got_rev = d["rev"][got]
        exp_idx = want[exp.shard[want] == s]
        exp_rev = exp.rev[exp_idx]
        if np.array_equal(got_rev, exp_rev) and np.array_equal(d["oid"][got], exp.oid[exp_idx]):
            continue
        uniq = np.unique(got_rev)
        out["duplicates"] += int(got_rev.size - uniq.size)
        out["lost"] += int(np.setdiff1d(exp_rev, uniq).size)
        out["unexpected"] += int(np.setdiff1d(uniq, exp_rev).size)
        out["out_of_order"] += int(np.count_nonzero(np.diff(got_rev) < 0))
        ok = found[got]
        out["wrong_key"] += int(
            np.count_nonzero(d["oid"][got][ok] != exp.oid[pos[got][ok]])
        )
    return out
