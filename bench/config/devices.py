"""Device names: checked without torch (so sweep files validate and reports render without it),
resolved against this machine with torch."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from snn.errors import UserError

DEVICE_FORMS = "cpu, cuda, cuda:N or mps"
_DEVICE = re.compile(r"(cpu|cuda|mps)(?::(\d+))?")


class DeviceUnavailableError(UserError, RuntimeError):
    """The requested device is not present on this machine."""


def device_problem(name) -> str | None:
    """Why `name` is not a device this harness can time on, or None when it is well formed."""
    match = _DEVICE.fullmatch(str(name))
    if match is None:
        return f"unknown device {name!r}: use {DEVICE_FORMS}"
    if match.group(1) != "cuda" and match.group(2) is not None and match.group(2) != "0":
        return f"unsupported device {name!r}: use {DEVICE_FORMS}"
    return None


def parse_device(name: str):
    """A device name → torch.device (ValueError for a malformed name)."""
    import torch  # here, not at import: validating names must not load torch

    if (problem := device_problem(name)) is not None:
        raise ValueError(problem)
    return torch.device(name)


def device_absence(name: str) -> str | None:
    """Why a well-formed device is not usable on this machine, or None when it is."""
    import torch

    device = parse_device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        return (f"device {str(device)!r} was asked for but torch.cuda.is_available() is False "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                "use --device cpu, or install a CUDA build of torch (see README)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        return (f"device {str(device)!r} does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        return f"device {str(device)!r} was asked for but MPS is not available here; use --device cpu"
    return None


NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")  # one entry per GPU the Linux driver sees


def installed_device_absence(name: str) -> str | None:
    """`device_absence` without loading torch, for `snn-bench list`: judged from the installed
    torch build's version tag and the NVIDIA driver's GPU list. It can only say "absent" where
    that is certain; the sweep judges again, with torch, when it starts."""
    device = _DEVICE.fullmatch(name)
    kind, index = device.group(1), int(device.group(2) or 0)
    if kind == "cuda":
        try:
            version = metadata.version("torch")
        except metadata.PackageNotFoundError:
            return "torch is not installed: run make setup"
        if version.endswith("+cpu"):
            return (f"device {name!r} was asked for but torch {version} is a CPU build; use --device "
                    "cpu, or install a CUDA build of torch (see README)")
        if sys.platform.startswith("linux"):
            gpus = len(list(NVIDIA_GPUS.iterdir())) if NVIDIA_GPUS.is_dir() else 0
            if index >= gpus:
                return f"device {name!r} does not exist: the NVIDIA driver lists {gpus} GPU(s) here"
    if kind == "mps" and sys.platform != "darwin":
        return f"device {name!r} was asked for but MPS exists only on macOS; use --device cpu"
    return None


def resolve_device(name: str):
    """The torch.device to time on; DeviceUnavailableError when this machine lacks it."""
    reason = device_absence(name)
    if reason:
        raise DeviceUnavailableError(reason)
    return parse_device(name)
