"""What this host is: OS, kernel, CPU model and hardware vendor, read once at start-up."""

from __future__ import annotations

import platform
from pathlib import Path

import msgspec

__all__ = [
    "SystemInfo",
    "cpu_model_from_cpuinfo",
    "pretty_name_from_os_release",
    "read_system_info",
]

OS_RELEASE_PATHS = (Path("/etc/os-release"), Path("/usr/lib/os-release"))
CPUINFO_PATH = Path("/proc/cpuinfo")
DMI_DIR = Path("/sys/class/dmi/id")
# Firmware placeholders that say nothing about the machine.
_DMI_PLACEHOLDERS = frozenset(
    {"", "to be filled by o.e.m.", "default string", "system product name", "not specified"}
)


class SystemInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Facts about the host that do not change while the agent runs; None when unknown."""

    platform: str | None = None
    os_distro: str | None = None
    os_release: str | None = None
    os_kernel: str | None = None
    cpu_model: str | None = None
    system_model: str | None = None
    system_manufacturer: str | None = None


def pretty_name_from_os_release(text: str) -> str | None:
    """Return PRETTY_NAME of an os-release file's text, unquoted, or None if absent."""
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key == "PRETTY_NAME":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return value or None
    return None


def cpu_model_from_cpuinfo(text: str) -> str | None:
    """Return the first "model name" (x86) or "Model"/"Hardware" (ARM) of /proc/cpuinfo."""
    fallback: str | None = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep or not value.strip():
            continue
        key = key.strip().lower()
        if key == "model name":
            return " ".join(value.split())
        if key in ("model", "hardware") and fallback is None and not value.strip().isdigit():
            fallback = " ".join(value.split())
    return fallback


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # absent on this OS, or root-only (product_serial and friends)
        return None


def _dmi(name: str, dmi_dir: Path) -> str | None:
    text = _read_text(dmi_dir / name)
    if text is None or text.strip().lower() in _DMI_PLACEHOLDERS:
        return None
    return text.strip()


def _os_distro(paths: tuple[Path, ...]) -> str | None:
    for path in paths:
        text = _read_text(path)
        if text is not None:
            name = pretty_name_from_os_release(text)
            if name:
                return name
    return platform.system() or None


def read_system_info(
    *,
    os_release_paths: tuple[Path, ...] = OS_RELEASE_PATHS,
    cpuinfo_path: Path = CPUINFO_PATH,
    dmi_dir: Path = DMI_DIR,
) -> SystemInfo:
    """Read the host's identity; a file that is absent or unreadable leaves its field None."""
    cpuinfo = _read_text(cpuinfo_path)
    cpu_model = cpu_model_from_cpuinfo(cpuinfo) if cpuinfo else None
    return SystemInfo(
        platform=platform.platform() or None,
        os_distro=_os_distro(os_release_paths),
        os_release=platform.release() or None,
        os_kernel=platform.version() or None,
        cpu_model=cpu_model or platform.processor() or platform.machine() or None,
        system_model=_dmi("product_name", dmi_dir),
        system_manufacturer=_dmi("sys_vendor", dmi_dir),
    )
