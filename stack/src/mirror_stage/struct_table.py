"""A Markdown table of a msgspec Struct's keys: default, what each accepts, and its meaning (the
description in the field's msgspec.Meta)."""

import msgspec
import msgspec.inspect as mi

from mirror_runtime.setting import shown_value


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def bounds(node: mi.FloatType | mi.IntType) -> str:
    """`from 1 to 10`, `>= 1`, `> 0` or nothing."""
    low = f"{node.ge:g}" if node.ge is not None else None
    high = f"{node.le:g}" if node.le is not None else None
    if low is not None and high is not None:
        return f" from {low} to {high}"
    parts = [
        f"{sign} {value:g}"
        for sign, value in ((">=", node.ge), (">", node.gt), ("<=", node.le), ("<", node.lt))
        if value is not None
    ]
    return f" {' and '.join(parts)}" if parts else ""


def accepts(node: mi.Type) -> str:
    """What a value of this type looks like, in words."""
    match node:
        case mi.Metadata(type=inner, extra_json_schema=schema):
            # A named type (a host id, a coordinate) says what it accepts itself.
            described = (schema or {}).get("description")
            return str(described) if described else accepts(inner)
        case mi.UnionType(types=types):
            return " or ".join(accepts(t) for t in types if not isinstance(t, mi.NoneType))
        case mi.StrType():
            return "text"
        case mi.BoolType():
            return "`true` or `false`"
        case mi.FloatType():
            return "a number" + bounds(node)
        case mi.IntType():
            return "a whole number" + bounds(node)
        case mi.LiteralType(values=values):
            return " or ".join(f'`"{value}"`' for value in values)
        case mi.DictType(value_type=mi.StrType()):
            return "a table of text values"
        case mi.StructType(fields=fields) if len(fields) <= 4:
            return "a table: " + ", ".join(f"`{field.name}`" for field in fields)
        case mi.StructType():
            return "a table"
    raise TypeError(f"no words for {node!r}: teach mirror_stage.struct_table")


def described(field: mi.Field) -> tuple[str, mi.Type]:
    """The description in the field's own msgspec.Meta, and the type it describes."""
    node = field.type
    schema = (node.extra_json_schema or {}) if isinstance(node, mi.Metadata) else {}
    if isinstance(node, mi.Metadata) and "description" in schema:
        return str(schema["description"]), node.type
    raise ValueError(f"key {field.name!r} has no msgspec.Meta(description=...)")


def default_of(field: mi.Field) -> str:
    """The field's default as the docs show it; a table's is its own keys' defaults."""
    value = field.default if field.default_factory is msgspec.NODEFAULT else field.default_factory()
    if value is msgspec.NODEFAULT:
        return "required"
    if isinstance(value, msgspec.Struct):
        return "its keys' defaults"
    if value == {}:
        return "none"
    if isinstance(value, bool):  # TOML's, not the environment's on/off
        return "`true`" if value else "`false`"
    return shown_value(value)


def struct_table(struct: type[msgspec.Struct]) -> str:
    """One row per key of `struct`."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    rows = []
    for field in info.fields:
        meaning, node = described(field)
        rows.append(
            f"| `{field.name}` | {cell(default_of(field))} | {cell(accepts(node))} "
            f"| {cell(meaning)} |"
        )
    return "\n".join(["| key | default | accepts | meaning |", "|---|---|---|---|", *rows])
