import pytest

from watchproxy.core.rv import ForeignTokenError, ResourceVersionError, TokenCodec, parse_plain


@pytest.mark.parametrize("vector", [(0, 0), (1, 2), (127, 128), (2**40, 5), (2**63 - 1, 0)])
def test_round_trip(vector: tuple[int, ...]) -> None:
    codec = TokenCodec(["shard-a", "shard-b"])
    token = codec.encode(vector)
    assert codec.decode(token) == vector
    assert parse_plain(token) is None, "a token must never read as a plain integer"
    assert token.startswith("A")


def test_fingerprint_rejects_other_layouts() -> None:
    token = TokenCodec(["shard-a", "shard-b"]).encode((5, 6))
    with pytest.raises(ForeignTokenError):
        TokenCodec(["shard-a", "shard-c"]).decode(token)


def test_order_of_names_does_not_matter() -> None:
    token = TokenCodec(["b", "a"]).encode((1, 2))
    assert TokenCodec(["a", "b"]).decode(token) == (1, 2)


@pytest.mark.parametrize("text", ["", "!!!", "AAAA", "zzzzzzzz", "A" * 40])
def test_garbage_is_a_parse_error(text: str) -> None:
    with pytest.raises((ResourceVersionError, ForeignTokenError)):
        TokenCodec(["a", "b"]).decode(text)


def test_wrong_length_vector() -> None:
    token = TokenCodec(["a", "b", "c"]).encode((1, 2, 3))
    with pytest.raises((ResourceVersionError, ForeignTokenError)):
        TokenCodec(["a", "b"]).decode(token)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("17", 17), ("-1", None), ("1e3", None), ("", None), ("9" * 25, None)],
)
def test_parse_plain(text: str, value: int | None) -> None:
    assert parse_plain(text) == value
