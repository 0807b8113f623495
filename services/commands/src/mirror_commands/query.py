"""Pure helpers of the list query and of request validation: field-named errors, LIKE, paging."""

from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from mirror_commands.errors import InvalidRequestError, MalformedError
from mirror_schema.command_api import ListCommandsRequest
from mirror_schema.field_errors import field_error
from mirror_schema.hosts import host_id_from_hostname, is_valid_host_id

T = TypeVar("T")


def decode(decoder: Callable[[bytes], T], data: bytes) -> T:
    """Decode and validate one request; an InvalidRequestError naming the field if it fails."""
    if not data.strip():
        raise InvalidRequestError("body: empty; send a JSON object")
    try:
        return decoder(data)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(field_error(exc)) from None
    except msgspec.DecodeError as exc:
        raise MalformedError(f"body: not JSON ({exc})") from None


def list_request(params: Mapping[str, str]) -> ListCommandsRequest:
    """The list query of ``GET /api/commands?...`` (strings) as a validated request.

    ``status`` may list several states separated by commas; an empty parameter is left out.
    """
    fields: dict[str, object] = {k: v for k, v in params.items() if v != ""}
    status = fields.pop("status", None)
    if isinstance(status, str):
        fields["status"] = [part.strip() for part in status.split(",") if part.strip()]
    try:
        return msgspec.convert(fields, ListCommandsRequest, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(field_error(exc, body="query")) from None


def host_ids_for(hostname: str) -> list[str]:
    """The host ids a `hostname` filter matches: itself if it is one, and the id derived from
    it (so ``Web-01.example.com`` finds ``web-01-example-com``)."""
    ids: list[str] = []
    if is_valid_host_id(hostname):
        ids.append(hostname)
    try:
        derived = host_id_from_hostname(hostname)
    except ValueError:
        derived = ""
    if derived and derived not in ids:
        ids.append(derived)
    return ids


def like_pattern(search: str) -> str:
    """An ILIKE pattern finding `search` anywhere, its own `%`, `_` and `\\` taken literally."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def offset(page: int, page_size: int) -> int:
    """Rows skipped before `page` (numbered from 1)."""
    return (page - 1) * page_size
