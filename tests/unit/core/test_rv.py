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


# -- format 2: a token that also carries the object's own revision ----------------------------

CODEC = TokenCodec(["shard-a", "shard-b"])


def test_version_1_tokens_minted_before_format_2_still_decode() -> None:
    # Literal tokens of the version-1-only codec (git history): the format must stay readable.
    assert CODEC.decode("AZ38dzzAhD3AhD0") == (1_000_000, 1_000_000)
    assert CODEC.decode("AZ38dzwFBw") == (5, 7)
    assert CODEC.encode((5, 7)) == "AZ38dzwFBw", "vector tokens keep format 1, byte for byte"


@pytest.mark.parametrize(
    ("vector", "revision"), [((0, 0), 0), ((5, 7), 3), ((2**40, 9), 2**40), ((1, 2**63 - 1), 1)]
)
def test_object_token_round_trip(vector: tuple[int, int], revision: int) -> None:
    token = CODEC.encode(vector, revision)
    assert token.startswith("A") and parse_plain(token) is None
    assert token != CODEC.encode(vector)
    assert CODEC.decode(token) == vector, "as a position, an object token is its vector"
    assert CODEC.decode_full(token) == (vector, revision)


def test_object_revision_prefers_the_objects_own_revision() -> None:
    # A WatchList initial event of an object last written at revision 3 on shard 0, sent from
    # a snapshot at (50, 70): a precondition must compare 3, not the snapshot's 50.
    token = CODEC.encode((50, 70), 3)
    assert CODEC.object_revision(token, 0) == 3
    assert CODEC.object_revision(token, 1) == 3


def test_object_revision_of_a_vector_token_is_the_shards_entry() -> None:
    token = CODEC.encode((50, 70))
    assert CODEC.object_revision(token, 0) == 50
    assert CODEC.object_revision(token, 1) == 70
    with pytest.raises(ResourceVersionError):
        CODEC.object_revision(token, 2)


@pytest.mark.parametrize("text", ["", "12", "!!!", "AAAA", "Ap38dzwFBw", "AZ38dzwFBwM"])
def test_object_revision_rejects_what_decode_rejects(text: str) -> None:
    # "Ap38dzwFBw": format 2 without its object revision; "AZ38dzwFBwM": format 1 with one extra.
    with pytest.raises(ResourceVersionError):
        CODEC.decode(text)
    with pytest.raises(ResourceVersionError):
        CODEC.object_revision(text, 0)


def test_object_revision_of_another_layout_is_foreign() -> None:
    token = TokenCodec(["shard-a", "shard-c"]).encode((1, 2), 1)
    with pytest.raises(ForeignTokenError):
        CODEC.object_revision(token, 0)


def test_memoised_vector_does_not_leak_between_vectors() -> None:
    tokens = [CODEC.encode((1, 2), 1), CODEC.encode((1, 3), 1), CODEC.encode((1, 2), 2)]
    assert [CODEC.decode_full(t) for t in tokens] == [((1, 2), 1), ((1, 3), 1), ((1, 2), 2)]


def test_unicode_digits_are_not_plain_revisions() -> None:
    assert parse_plain("\u00b2") is None  # '²'.isdigit() is True, int('²') fails
