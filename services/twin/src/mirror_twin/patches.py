"""Patches: what a diff says of a host or link, only the fields that changed since it was sent."""

from typing import Any, Final

from mirror_schema.twin import HostPatch, HostView, LinkPatch, LinkView

__all__ = ["host_patch", "link_patch", "significant"]

_HOST_FIELDS: Final = HostView.__struct_fields__
_LINK_FIELDS: Final = LinkView.__struct_fields__


def _changed(fields: tuple[str, ...], sent: object | None, now: object) -> dict[str, Any]:
    if sent is None:
        return {name: getattr(now, name) for name in fields}
    return {name: value for name in fields if (value := getattr(now, name)) != getattr(sent, name)}


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
