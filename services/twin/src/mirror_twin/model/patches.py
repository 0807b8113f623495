"""Patches: what a diff says of a host or link, only the fields that changed since it was sent."""

from typing import Any, Final

import msgspec

from mirror_schema.twin import HostPatch, HostView, LinkPatch, LinkView

__all__ = ["host_patch", "link_patch", "significant"]

_HOST_FIELDS: Final = HostView.__struct_fields__
_LINK_FIELDS: Final = LinkView.__struct_fields__


def _changed(
    fields: tuple[str, ...], sent: msgspec.Struct | None, now: msgspec.Struct
) -> dict[str, Any]:
    values = msgspec.structs.astuple(now)
    if sent is None:
        return dict(zip(fields, values, strict=True))
    return {
        name: value
        for name, value, old in zip(fields, values, msgspec.structs.astuple(sent), strict=True)
        if value != old
    }


def host_patch(sent: HostView | None, now: HostView) -> HostPatch | None:
    """The fields of ``now`` that differ from ``sent`` (all when ``sent`` is None); None if none."""
    fields = _changed(_HOST_FIELDS, sent, now)
    if not fields:
        return None
    fields["host_id"] = now.host_id
    return HostPatch(**fields)


def link_patch(sent: LinkView | None, now: LinkView) -> LinkPatch | None:
    """The fields of ``now`` that differ from ``sent`` (all when ``sent`` is None); None if none."""
    fields = _changed(_LINK_FIELDS, sent, now)
    if not fields:
        return None
    fields["id"] = now.id
    return LinkPatch(**fields)


def significant(value: float | None, digits: int = 4) -> float | None:
    """``value`` to ``digits`` significant digits: what a display shows, and what a diff sends.

    Rates and ratios come out of counter arithmetic with spurious precision; sending it would
    make every sample change every field.
    """
    if value is None or value == 0:
        return value
    return float(f"{value:.{digits}g}")
