"""auth/authn/tokenfile.py (--token-auth-file, Go csv rules) and bearer.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from watchproxy.auth.authn.bearer import parse_authorization_header
from watchproxy.auth.authn.tokenfile import TokenFile


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokens.csv"
    path.write_text(text)
    return path


def test_records_with_and_without_groups(tmp_path: Path) -> None:
    tokens = TokenFile.load(
        write(
            tmp_path,
            'tok-a,alice,uid-1,"system:masters,dev"\ntok-b,bob,uid-2\ntok-c,carol,uid-3,ops,x\n',
        )
    )
    alice = tokens.authenticate("tok-a")
    assert alice is not None
    assert (alice.name, alice.uid, alice.groups) == ("alice", "uid-1", ("system:masters", "dev"))
    bob = tokens.authenticate("tok-b")
    assert bob is not None and bob.groups == ()
    carol = tokens.authenticate("tok-c")
    assert carol is not None and carol.groups == ("ops",)  # more columns are ignored
    assert tokens.authenticate("tok-d") is None
    assert tokens.authenticate("tok-a ") is None


def test_blank_lines_skipped_and_hash_is_not_a_comment(tmp_path: Path) -> None:
    tokens = TokenFile.load(write(tmp_path, "\n#t,u,1\r\n\nt2,u2,2"))
    assert len(tokens) == 2
    hashed = tokens.authenticate("#t")
    assert hashed is not None and hashed.name == "u"  # kube has no comment lines
    last = tokens.authenticate("t2")
    assert last is not None and last.uid == "2"


def test_quoted_field_with_escaped_quote_and_line_break(tmp_path: Path) -> None:
    tokens = TokenFile.load(write(tmp_path, 'tok,"a ""b""","multi\nline"\n'))
    user = tokens.authenticate("tok")
    assert user is not None and (user.name, user.uid) == ('a "b"', "multi\nline")


def test_empty_groups_field_is_one_empty_group_as_strings_split(tmp_path: Path) -> None:
    user = TokenFile.load(write(tmp_path, "tok,u,1,\n")).authenticate("tok")
    assert user is not None and user.groups == ("",)


def test_too_few_columns_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c\n\nd,e\n")
    with pytest.raises(ValueError) as err:
        TokenFile.load(path)
    message = str(err.value)
    assert message.startswith(f"{path}:3: ")
    assert "must have at least 3 columns (token, user name, user uid), found 2" in message


def test_blank_looking_line_is_a_record(tmp_path: Path) -> None:
    # Only an empty line is skipped; a line of spaces is a 1-field record (no TrimLeadingSpace).
    path = write(tmp_path, "a,b,c\n   \n")
    with pytest.raises(ValueError, match=r":2: .*found 1"):
        TokenFile.load(path)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('a,b"c,d\n', 1, 'bare " in non-quoted-field'),
        ('ok,u,1\na,"b"x,c\n', 2, 'extraneous or missing " in quoted-field'),
        ('ok,u,1\nok2,u,2\na,"never closed\n', 3, 'extraneous or missing " in quoted-field'),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as err:
        TokenFile.load(path)
    assert str(err.value).startswith(f"{path}:{line}: parse error on line {line}")
    assert str(err.value).endswith(message)


def test_empty_token_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        tokens = TokenFile.load(write(tmp_path, ",ghost,0\nt,u,1\n"))
    assert len(tokens) == 1
    assert tokens.authenticate("") is None
    assert "empty token" in caplog.text


def test_duplicate_token_later_line_wins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        tokens = TokenFile.load(write(tmp_path, "t,first,1\nt,second,2\n"))
    user = tokens.authenticate("t")
    assert user is not None and user.name == "second"
    assert "duplicate token" in caplog.text
    assert "t,first" not in caplog.text


def test_audience_agnostic_wrapper(tmp_path: Path) -> None:
    tokens = TokenFile.load(write(tmp_path, "t,u,1\n"))
    implicit = ("api", "other")
    assert tokens.authenticate_token("t", None, implicit) is not None
    response = tokens.authenticate_token("t", ("other", "x"), implicit)
    assert response is not None and response.audiences == ("other",)
    assert tokens.authenticate_token("t", ("vault",), implicit) is None


# -- bearer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer abc  ", "abc"),
        ("Bearer a b", "a"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer  abc", None),  # SplitN on one space: the token part is empty
        ("Basic dXNlcjpwdw==", None),
        ("", None),
        ("   ", None),
        ("Bearerabc", None),
    ],
)
def test_parse_authorization_header(header: str, token: str | None) -> None:
    assert parse_authorization_header(header) == token
