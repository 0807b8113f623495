"""The parsers of MIRROR_STAGE_* values; each error names the variable and the bad value."""

import ipaddress
import math
import re

from mirror_runtime.setting import BadValueError, Parser


def number(minimum: float) -> Parser[float]:
    """A finite number at least `minimum`."""
    expected = f"a finite number >= {minimum:g}"

    def convert(variable: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise BadValueError(variable, raw, expected) from None
        if not (math.isfinite(value) and value >= minimum):  # also refuses NaN and infinities
            raise BadValueError(variable, raw, expected)
        return value

    return Parser(convert, expected)


def number_as_int(minimum: float) -> Parser[int]:
    """As `number`, with the fraction dropped: for counts and sizes that have always accepted
    a decimal point."""
    checked = number(minimum)
    return Parser(lambda variable, raw: int(checked.convert(variable, raw)), checked.accepts)


def count(minimum: int) -> Parser[int]:
    """A whole number at least `minimum`."""
    expected = f"a whole number >= {minimum}"

    def convert(variable: str, raw: str) -> int:
        if not raw.strip().isdigit() or int(raw) < minimum:
            raise BadValueError(variable, raw, expected)
        return int(raw)

    return Parser(convert, expected)


def port() -> Parser[int]:
    """A TCP port number."""
    expected = "a TCP port number from 1 to 65535"

    def convert(variable: str, raw: str) -> int:
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise BadValueError(variable, raw, expected)
        return int(raw)

    return Parser(convert, expected)


def switch() -> Parser[bool]:
    """`on` or `off` (also true/false, 1/0, yes/no)."""
    expected = "'on' or 'off'"

    def convert(variable: str, raw: str) -> bool:
        value = raw.strip().lower()
        if value in ("on", "true", "1", "yes"):
            return True
        if value in ("off", "false", "0", "no"):
            return False
        raise BadValueError(variable, raw, expected)

    return Parser(convert, expected)


def text(accepts: str) -> Parser[str]:
    """Any text, taken as it is; `accepts` says what it should be."""
    return Parser(lambda _variable, raw: raw, accepts)


def text_or_none(accepts: str) -> Parser[str | None]:
    """Any text; empty is the same as unset."""
    return Parser(lambda _variable, raw: raw or None, accepts)


def readable_file() -> Parser[str]:
    """The path of a file this process can read."""

    def convert(variable: str, raw: str) -> str:
        try:
            with open(raw, "rb"):
                pass
        except OSError as exc:
            raise BadValueError(variable, raw, f"a readable file ({exc.strerror})") from None
        return raw

    return Parser(convert, "a readable file")


def one_of(*choices: str) -> Parser[str]:
    """One of `choices`, exactly."""
    expected = " or ".join(f"'{choice}'" for choice in choices)

    def convert(variable: str, raw: str) -> str:
        if raw not in choices:
            raise BadValueError(variable, raw, expected)
        return raw

    return Parser(convert, expected)


def matching(pattern: str, expected: str) -> Parser[str]:
    """Text that matches the regular expression `pattern` whole."""
    compiled = re.compile(pattern)

    def convert(variable: str, raw: str) -> str:
        if compiled.fullmatch(raw) is None:
            raise BadValueError(variable, raw, expected)
        return raw

    return Parser(convert, expected)


def ip_address() -> Parser[str]:
    """One IP address, v4 or v6 (0.0.0.0 and :: are every interface)."""
    expected = "an IP address, e.g. 127.0.0.1, or 0.0.0.0 for every interface"

    def convert(variable: str, raw: str) -> str:
        try:
            return str(ipaddress.ip_address(raw.strip()))
        except ValueError:
            raise BadValueError(variable, raw, expected) from None

    return Parser(convert, expected)


def networks() -> Parser[tuple[str, ...]]:
    """IP addresses or networks (CIDR), comma-separated; empty is none."""
    expected = "IP addresses or networks separated by commas, e.g. 10.0.0.5,10.1.0.0/16"

    def convert(variable: str, raw: str) -> tuple[str, ...]:
        found = []
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            try:
                found.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise BadValueError(variable, raw, expected) from None
        return tuple(found)

    return Parser(convert, expected)
