"""nlu/build.py as the Rasa venv runs it: loaded by path (nlu/ is not a package)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from bot.config import ROOT


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nlu_build", ROOT / "nlu" / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build
