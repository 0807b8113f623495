"""NVIDIA GPUs through NVML (the optional nvidia-ml-py extra); none without it."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from mirror_schema.samples import Gpu

__all__ = ["GpuReader", "import_pynvml"]

log = logging.getLogger(__name__)


def import_pynvml() -> Any:
    """The pynvml module, or None when nvidia-ml-py is not installed."""
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


class GpuReader:
    """Initialises NVML once, on first use; a host without it reads as no GPUs, every time."""

    def __init__(self, load: Callable[[], Any] = import_pynvml) -> None:
        self._load = load
        self._nvml: Any = None
        self._started = False

    def read(self) -> list[Gpu]:
        """One Gpu per device; a metric the device does not support is None."""
        nvml = self._start()
        if nvml is None:
            return []
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError:
            return []
        gpus: list[Gpu] = []
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
            except nvml.NVMLError:  # fell off the bus, or lost since the count
                continue
            gpus.append(_read_gpu(nvml, index, handle))
        return gpus

    def _start(self) -> Any:
        if not self._started:
            self._started = True
            nvml = self._load()
            if nvml is not None:
                try:
                    nvml.nvmlInit()
                except nvml.NVMLError as exc:  # the library without a driver: no GPU here
                    log.info("gpus.unavailable reason=%s", exc)
                    nvml = None
            self._nvml = nvml
        return self._nvml


def _read_gpu(nvml: Any, index: int, handle: Any) -> Gpu:
    def attempt(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except nvml.NVMLError:  # NotSupported on many consumer boards
            return None

    name = attempt(lambda: nvml.nvmlDeviceGetName(handle))
    utilization = attempt(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
    memory = attempt(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
    temperature = attempt(lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
    power_mw = attempt(lambda: nvml.nvmlDeviceGetPowerUsage(handle))
    if isinstance(name, bytes):  # nvidia-ml-py before 11.5 returns bytes
        name = name.decode("utf-8", errors="replace")
    return Gpu(
        index=index,
        name=str(name or ""),
        utilization_percent=(
            min(100.0, float(utilization.gpu)) if utilization is not None else None
        ),
        memory_used_bytes=int(memory.used) if memory is not None else None,
        memory_total_bytes=int(memory.total) if memory is not None else None,
        temperature_celsius=float(temperature) if temperature is not None else None,
        power_watts=power_mw / 1000.0 if power_mw is not None else None,
    )
