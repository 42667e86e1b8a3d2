"""The apimachinery types whose JSON form is not their protobuf message's fields: `metav1.Time`,
`MicroTime`, `Duration`, `FieldsV1`, `runtime.RawExtension`, `resource.Quantity`,
`intstr.IntOrString` and the authn/authz/certificates `ExtraValue`, by full protobuf name in
`_SPECIAL`.

Each converter takes the message and returns what encoding/json writes for the Go value
(apimachinery time_proto.go, quantity_proto.go, intstr.go, duration.go); a malformed one raises
ValueError, which decode_protobuf's caller turns into a 400. `go_duration` is Go's
`time.Duration.String()`. Pure; used by kubeproto/decode.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from google.protobuf.message import Message


def _time(message: Message) -> str | None:
    # metav1.Time: an empty message is the zero time, which marshals as null; otherwise whole
    # seconds in RFC 3339 UTC. The nanos are ignored on decode (apimachinery time_proto.go).
    if message.ByteSize() == 0:
        return None
    return _rfc3339(int(message.seconds), 0, micro=False)


def _micro_time(message: Message) -> str | None:
    # metav1.MicroTime: like Time but keeps the nanos and writes exactly 6 fractional digits.
    if message.ByteSize() == 0:
        return None
    return _rfc3339(int(message.seconds), int(message.nanos), micro=True)


def _rfc3339(seconds: int, nanos: int, *, micro: bool) -> str:
    # time.Unix normalises nanos outside [0, 1e9) into the seconds; floor division does the same.
    seconds += nanos // 1_000_000_000
    nanos %= 1_000_000_000
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError as exc:
        raise ValueError(f"timestamp {seconds}s is out of range") from exc
    # Formatted by hand: strftime does not zero-pad years before 1000.
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if micro:
        text += f".{nanos // 1000:06d}"  # Go's Format truncates, it does not round
    return text + "Z"


def _quantity(message: Message) -> str:
    # Go clients send the canonical string (Quantity.String()); the zero Quantity is "0".
    return str(message.string) or "0"


def _int_or_string(message: Message) -> int | str:
    kind = int(message.type)
    if kind == 0:
        return int(message.intVal)
    if kind == 1:
        return str(message.strVal)
    raise ValueError(f"invalid IntOrString type {kind}")


def _raw_json(field_name: str) -> Callable[[Message], Any]:
    # RawExtension and FieldsV1 hold JSON that encoding/json writes as is; an unset one is null.
    def convert(message: Message) -> Any:
        raw = bytes(getattr(message, field_name))
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{message.DESCRIPTOR.name} does not hold JSON: {exc}") from exc

    return convert


def _extra_value(message: Message) -> list[str]:
    # authentication/authorization/certificates ExtraValue is `[]string` in Go, a message
    # wrapping `items` on the wire. It only occurs as a map value, which gogoproto decodes into
    # a fresh non-nil `ExtraValue{}`: an empty one is `[]`, never null.
    return [str(item) for item in message.items]


def _duration(message: Message) -> str:
    return go_duration(int(message.duration))


def go_duration(nanoseconds: int) -> str:
    """Go's `time.Duration.String()`: "1h2m3.5s", "1.5ms", "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    left = abs(nanoseconds)
    if left < 1_000_000_000:
        # Under a second Go uses the largest unit that keeps an integer part: 1.5ms, 2µs, 10ns.
        for limit, digits, unit in _SUBSECOND_UNITS:
            if left < limit:
                return sign + _fraction(left, digits) + unit
    text = _fraction(left % 60_000_000_000, 9) + "s"
    minutes = left // 60_000_000_000
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes >= 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


_SUBSECOND_UNITS: Final = ((1_000, 0, "ns"), (1_000_000, 3, "µs"), (1_000_000_000, 6, "ms"))


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    if not frac:
        return str(whole)
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


_SPECIAL: Final[dict[str, Callable[[Message], Any]]] = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": _time,
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": _micro_time,
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": _duration,
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": _raw_json("Raw"),
    "k8s.io.apimachinery.pkg.runtime.RawExtension": _raw_json("raw"),
    "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
    "k8s.io.api.authentication.v1.ExtraValue": _extra_value,
    "k8s.io.api.authorization.v1.ExtraValue": _extra_value,
    "k8s.io.api.certificates.v1.ExtraValue": _extra_value,
}
