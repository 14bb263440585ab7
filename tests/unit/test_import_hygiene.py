"""The core never imports a UI toolkit: each core module is imported in a fresh interpreter
and must not pull in textual, dash or plotly."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_PACKAGES = ("monitor", "collectors", "alerts")
UI_MODULES = ("textual", "dash", "plotly")


def core_modules() -> list[str]:
    names = []
    for package in CORE_PACKAGES:
        names.append(package)
        path = ROOT / package
        for info in pkgutil.walk_packages([str(path)], prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    # commands that exist to launch a UI import it inside run(), never at module level
    return sorted(names)


def test_core_modules_are_found() -> None:
    modules = core_modules()
    assert "monitor.runtime" in modules and "collectors.redis_info" in modules


@pytest.mark.parametrize("chunk", range(4))
def test_core_never_imports_ui_toolkits(chunk: int) -> None:
    modules = core_modules()[chunk::4]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"    loaded = [m for m in {UI_MODULES!r} if m in sys.modules]\n"
        "    if loaded:\n"
        "        print(name, loaded)\n"
        "        sys.exit(1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
