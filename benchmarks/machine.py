"""Describe the machine a benchmark ran on (for the README's numbers)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def describe() -> str:
    """CPU model, core count and Python version."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")),
                 platform.processor() or platform.machine())
    return f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
