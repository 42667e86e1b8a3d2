"""auth/authn/impersonation.py: kube's impersonation filter."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authn.errors import ImpersonationBadRequest, ImpersonationForbidden
from watchproxy.auth.authn.impersonation import (
    forbidden_message,
    impersonate,
    parse_impersonation_headers,
)
from watchproxy.auth.user import UserInfo

ALICE = UserInfo("alice", groups=("admins", "system:authenticated"))


class Recorder:
    """An authorizer that allows everything but `deny` and records the checks."""

    def __init__(self, *deny: tuple[str, str], reason: str = "") -> None:
        self.deny = set(deny)
        self.reason = reason
        self.seen: list[Attributes] = []

    def __call__(self, attributes: Attributes) -> Verdict:
        self.seen.append(attributes)
        if (attributes.resource, attributes.name) in self.deny:
            return Verdict(Decision.NO_OPINION, self.reason)
        return Verdict(Decision.ALLOW)


async def test_no_headers_no_impersonation() -> None:
    assert await impersonate(ALICE, [("Accept", "application/json")], Recorder()) is None


async def test_impersonate_a_user() -> None:
    authorize = Recorder()
    result = await impersonate(ALICE, [("impersonate-user", "bob")], authorize)
    assert result is not None
    assert result.original is ALICE
    assert result.user == UserInfo("bob", "", ("system:authenticated",), {})
    (check,) = authorize.seen
    assert check == Attributes(
        user=ALICE,
        verb="impersonate",
        is_resource_request=True,
        resource="users",
        name="bob",
    )


async def test_impersonate_user_groups_extra_and_uid_in_kube_order() -> None:
    authorize = Recorder()
    headers = [
        ("Impersonate-User", "bob"),
        ("Impersonate-Group", "dev"),
        ("Impersonate-Extra-Acme.Com%2FProject", "p1"),
        ("Impersonate-Group", "ops"),
        ("impersonate-extra-acme.com%2Fproject", "p2"),
        ("Impersonate-Uid", "1234"),
    ]
    result = await impersonate(ALICE, headers, authorize)
    assert result is not None
    assert result.user.groups == ("dev", "ops", "system:authenticated")
    assert dict(result.user.extra) == {"acme.com/project": ("p1", "p2")}
    assert result.user.uid == "1234"
    assert [
        (a.resource, a.subresource, a.api_group, a.api_version, a.name) for a in authorize.seen
    ] == [
        ("users", "", "", "", "bob"),
        ("groups", "", "", "", "dev"),
        ("groups", "", "", "", "ops"),
        ("userextras", "acme.com/project", "authentication.k8s.io", "v1", "p1"),
        ("userextras", "acme.com/project", "authentication.k8s.io", "v1", "p2"),
        ("uids", "", "authentication.k8s.io", "v1", "1234"),
    ]
    assert result.checks == tuple(authorize.seen)


async def test_service_account_gets_its_groups_unless_groups_are_given() -> None:
    authorize = Recorder()
    result = await impersonate(
        ALICE, [("Impersonate-User", "system:serviceaccount:ci:builder")], authorize
    )
    assert result is not None
    assert result.user.name == "system:serviceaccount:ci:builder"
    assert result.user.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:ci",
        "system:authenticated",
    )
    check = authorize.seen[0]
    assert (check.resource, check.namespace, check.name) == ("serviceaccounts", "ci", "builder")

    result = await impersonate(
        ALICE,
        [("Impersonate-User", "system:serviceaccount:ci:builder"), ("Impersonate-Group", "x")],
        Recorder(),
    )
    assert result is not None and result.user.groups == ("x", "system:authenticated")


async def test_malformed_service_account_name_is_a_user() -> None:
    authorize = Recorder()
    await impersonate(ALICE, [("Impersonate-User", "system:serviceaccount:Bad_NS:x")], authorize)
    assert authorize.seen[0].resource == "users"


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ((), ("system:unauthenticated",)),
        (("system:unauthenticated",), ("system:unauthenticated",)),
    ],
)
async def test_anonymous_gets_unauthenticated(
    groups: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    headers = [("Impersonate-User", "system:anonymous")]
    headers += [("Impersonate-Group", g) for g in groups]
    result = await impersonate(ALICE, headers, Recorder())
    assert result is not None and result.user.groups == expected


async def test_explicit_unauthenticated_group_suppresses_authenticated() -> None:
    headers = [("Impersonate-User", "bob"), ("Impersonate-Group", "system:unauthenticated")]
    result = await impersonate(ALICE, headers, Recorder())
    assert result is not None and result.user.groups == ("system:unauthenticated",)


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ([("Impersonate-Group", "g1")], "[{Group  g1    }]"),
        (
            [("Impersonate-Uid", "u1"), ("Impersonate-Extra-Scopes", "view")],
            "[{UserExtra  view  authentication.k8s.io/v1  scopes}"
            " {UID  u1  authentication.k8s.io/v1  }]",
        ),
        ([("Impersonate-User", ""), ("Impersonate-Group", "g")], "[{Group  g    }]"),
    ],
)
async def test_groups_extra_or_uid_without_user_is_bad_request(
    headers: list[tuple[str, str]], shown: str
) -> None:
    authorize = Recorder()
    with pytest.raises(ImpersonationBadRequest) as err:
        await impersonate(ALICE, headers, authorize)
    assert err.value.code == 400
    assert err.value.message == f"requested {shown} without impersonating a user"
    assert authorize.seen == []


async def test_refused_user_is_forbidden_with_kube_message() -> None:
    with pytest.raises(ImpersonationForbidden) as err:
        await impersonate(ALICE, [("Impersonate-User", "bob")], Recorder(("users", "bob")))
    assert err.value.code == 403
    assert err.value.message == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group'
        ' "" at the cluster scope'
    )
    assert err.value.details == {"name": "bob", "group": "", "kind": "users"}


async def test_refused_group_stops_before_later_checks() -> None:
    authorize = Recorder(("groups", "system:masters"), reason="no way")
    headers = [
        ("Impersonate-User", "bob"),
        ("Impersonate-Group", "system:masters"),
        ("Impersonate-Uid", "1"),
    ]
    with pytest.raises(ImpersonationForbidden) as err:
        await impersonate(ALICE, headers, authorize)
    assert err.value.message == (
        'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups"'
        ' in API group "" at the cluster scope: no way'
    )
    assert [a.resource for a in authorize.seen] == ["users", "groups"]


async def test_refused_extra_and_service_account_messages() -> None:
    with pytest.raises(ImpersonationForbidden) as err:
        await impersonate(
            ALICE,
            [("Impersonate-User", "bob"), ("Impersonate-Extra-Scopes", "admin")],
            Recorder(("userextras", "admin")),
        )
    assert err.value.message == (
        'userextras.authentication.k8s.io "admin" is forbidden: User "alice" cannot impersonate'
        ' resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope'
    )
    with pytest.raises(ImpersonationForbidden) as err:
        await impersonate(
            ALICE,
            [("Impersonate-User", "system:serviceaccount:kube-system:root")],
            Recorder(("serviceaccounts", "root")),
        )
    assert err.value.message == (
        'serviceaccounts "root" is forbidden: User "alice" cannot impersonate resource'
        ' "serviceaccounts" in API group "" in the namespace "kube-system"'
    )


async def test_async_and_bool_authorizers() -> None:
    async def allow(_: Attributes) -> bool:
        return True

    assert await impersonate(ALICE, [("Impersonate-User", "bob")], allow) is not None

    def deny(_: Attributes) -> bool:
        return False

    with pytest.raises(ImpersonationForbidden):
        await impersonate(ALICE, [("Impersonate-User", "bob")], deny)


def test_extra_key_is_lowercased_then_unescaped() -> None:
    requests = parse_impersonation_headers(
        [
            ("Impersonate-User", "bob"),
            ("Impersonate-Extra-Foo%41", "v"),  # %41 is "A": decoded after lower-casing
            ("Impersonate-Extra-Bad%zz", "w"),  # malformed: kept as is
        ]
    )
    assert [(r.kind, r.field_path, r.name) for r in requests[1:]] == [
        ("UserExtra", "fooA", "v"),
        ("UserExtra", "bad%zz", "w"),
    ]


def test_first_user_value_counts() -> None:
    requests = parse_impersonation_headers(
        [("Impersonate-User", "bob"), ("Impersonate-User", "eve")]
    )
    assert [(r.kind, r.name) for r in requests] == [("User", "bob")]


def test_forbidden_message_is_sanitized() -> None:
    attributes = Attributes(
        user=UserInfo("<script>"),
        verb="impersonate",
        is_resource_request=True,
        resource="users",
        name="x",
    )
    message: Any = forbidden_message(attributes)
    assert message == (
        'users "x" is forbidden: User "&lt;script&gt;" cannot impersonate resource "users" in'
        ' API group "" at the cluster scope'
    )
