"""Pure helpers of the list query: the host ids a name means, LIKE patterns, paging."""

from mirror_schema.hosts import host_id_from_hostname, is_valid_host_id


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
