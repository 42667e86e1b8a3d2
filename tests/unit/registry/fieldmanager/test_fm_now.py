"""A managedFields entry's time (fieldmanager/managed.now): metav1.Time of the current second,
formatted once per second."""

from __future__ import annotations

import pytest

from watchproxy.registry.fieldmanager import managed


def test_the_current_second_in_rfc3339(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_800_000_000.25]
    monkeypatch.setattr(managed.time, "time", lambda: clock[0])
    assert managed.now() == "2027-01-15T08:00:00Z"
    clock[0] = 1_800_000_000.99
    assert managed.now() == "2027-01-15T08:00:00Z"
    clock[0] = 1_800_000_001.0
    assert managed.now() == "2027-01-15T08:00:01Z"
    clock[0] = 1_799_999_999.5  # a clock stepped back is followed too
    assert managed.now() == "2027-01-15T07:59:59Z"
