"""Static bearer tokens: `--token-auth-file` (apiserver/pkg/authentication/token/tokenfile/
tokenfile.go `NewCSV`).

The file is read as Go's encoding/csv reads it with kube's settings (FieldsPerRecord -1, no
comment character, no TrimLeadingSpace, strict quotes): one record per line,
`token,user,uid[,"group1,group2"[,more ignored]]`; quoted fields may hold commas, `""` and line
breaks; blank lines are skipped; a line starting with `#` is an ordinary record (kube has no
comments). As kube:

* a record with fewer than 3 fields is an error;
* a record with an empty token is skipped (kube logs a warning), an empty user name is kept;
* a duplicate token is logged and the later record wins;
* the groups field is split on "," as is (`strings.Split`): an empty 4th field is one group "".

Errors raise ValueError naming `path:line` and kube's (or Go's csv) message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from watchproxy.auth.authn.errors import TokenResponse
from watchproxy.auth.user import UserInfo

log = logging.getLogger(__name__)

_BARE_QUOTE = 'bare " in non-quoted-field'
_QUOTE = 'extraneous or missing " in quoted-field'


class _CsvError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def _lines(text: str) -> list[str]:
    """Go csv readLine: only "\\n" ends a line and lines keep it; "\\r\\n" becomes "\\n"; a
    last line without a newline loses a trailing "\\r"."""
    parts = text.split("\n")
    lines = [p[:-1] + "\n" if p.endswith("\r") else p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1].removesuffix("\r"))
    return lines


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each record, as Go's csv.Reader.Read returns them."""
    lines = _lines(text)
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        start = index  # 1-based number of this record's first line
        if line == "\n":
            continue
        fields: list[str] = []
        line_no = start
        col = 1
        while True:
            if not line.startswith('"'):
                end = line.find(",")
                field = line if end < 0 else line[:end]
                if end < 0 and field.endswith("\n"):
                    field = field[:-1]
                quote = field.find('"')
                if quote >= 0:
                    raise _CsvError(line_no, col + quote, _BARE_QUOTE)
                fields.append(field)
                if end < 0:
                    break
                line = line[end + 1 :]
                col += end + 1
                continue
            # Quoted field.
            line = line[1:]
            col += 1
            parts: list[str] = []
            while True:
                quote = line.find('"')
                if quote >= 0:
                    parts.append(line[:quote])
                    line = line[quote + 1 :]
                    col += quote + 1
                    if line.startswith('"'):
                        parts.append('"')
                        line = line[1:]
                        col += 1
                        continue
                    if line.startswith(","):
                        line = line[1:]
                        col += 1
                        fields.append("".join(parts))
                        break
                    if line in ("", "\n"):
                        fields.append("".join(parts))
                        line = ""
                        break
                    raise _CsvError(line_no, col - 1, _QUOTE)
                if line:
                    parts.append(line)
                    if index >= len(lines):
                        raise _CsvError(line_no, col + len(line.rstrip("\n")), _QUOTE)
                    line = lines[index]
                    index += 1
                    line_no += 1
                    col = 1
                    continue
                raise _CsvError(line_no, col, _QUOTE)
            if line == "":
                break
        yield start, fields


class TokenFile:
    """A loaded token file: token -> user (kube keeps a map; a dict lookup hashes the token,
    no byte-by-byte comparison against other tokens)."""

    def __init__(self, tokens: dict[str, UserInfo], path: str = "") -> None:
        self._tokens = tokens
        self.path = path

    def __len__(self) -> int:
        return len(self._tokens)

    @classmethod
    def load(cls, path: str | Path) -> TokenFile:
        """Read a `--token-auth-file`; ValueError `path:line: message` on a malformed record."""
        where = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{where}: token file is not UTF-8: {exc}") from None
        tokens: dict[str, UserInfo] = {}
        records = _records(text)
        number = 0
        while True:
            try:
                line, record = next(records)
            except StopIteration:
                break
            except _CsvError as exc:
                raise ValueError(
                    f"{where}:{exc.line}: parse error on line {exc.line}, column {exc.column}:"
                    f" {exc.message}"
                ) from None
            if len(record) < 3:
                raise ValueError(
                    f"{where}:{line}: token file '{where}' must have at least 3 columns (token,"
                    f" user name, user uid), found {len(record)}"
                )
            number += 1
            token = record[0]
            if not token:
                log.warning(
                    "empty token has been found in token file '%s', record number '%d' (line %d)",
                    where,
                    number,
                    line,
                )
                continue
            if token in tokens:
                log.warning(
                    "duplicate token has been found in token file '%s', record number '%d'"
                    " (line %d)",
                    where,
                    number,
                    line,
                )
            groups = tuple(record[3].split(",")) if len(record) >= 4 else ()
            tokens[token] = UserInfo(record[1], record[2], groups)
        return cls(tokens, where)

    def authenticate(self, token: str) -> UserInfo | None:
        """The user of `token`, or None (kube: "not mine", the next authenticator is asked)."""
        return self._tokens.get(token)

    def authenticate_token(
        self, token: str, audiences: tuple[str, ...] | None, implicit: tuple[str, ...]
    ) -> TokenResponse | None:
        """As kube wraps it (authenticator.WrapAudienceAgnosticToken): when the request names
        audiences, the token only counts for those among the API audiences `implicit`."""
        if audiences is None:
            user = self.authenticate(token)
            return None if user is None else TokenResponse(user)
        auds = tuple(a for a in implicit if a in audiences)
        if not auds:
            return None
        user = self.authenticate(token)
        return None if user is None else TokenResponse(user, auds)
