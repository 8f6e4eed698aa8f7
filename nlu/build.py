"""Train the Rasa NLU model only when its inputs changed.

The model file is named after a hash of the pipeline config, every training-data file and the
Rasa requirements, so `make run` and `make test` reuse a model trained from the same inputs and
retrain as soon as any of them changes. Prints the model path on its last line.

The five topic intents are written as Rasa retrieval intents in `data/` (`info_sfi/where`,
`info_sfi/overview`), the format the review inbox exports. DIET is trained on them as flat
classes (`info_sfi__where`): one classifier picks topic and specific answer together, and the
gateway adds up a topic's classes (bot/core/nlu.py). Measured against Rasa's ResponseSelector
in nlu/README.md: more accurate and half the training time.

Usage: python nlu/build.py [--rasa PATH_TO_RASA] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
MODELS_DIR = NLU_DIR / "models"
# The gateway passes every message through the same spelling before a parse. Loaded by path:
# the Rasa venv has none of the gateway's packages, and the file needs only the standard library.
SPELLING = NLU_DIR.parent / "bot" / "core" / "nlu" / "spelling.py"
INPUTS = [NLU_DIR / "config.yml", NLU_DIR / "requirements.txt", Path(__file__).resolve(),
          SPELLING, *sorted((NLU_DIR / "data").glob("*.yml"))]


def _load_spelling() -> Callable[[str], str]:
    spec = importlib.util.spec_from_file_location("lotsen_spelling", SPELLING)
    assert spec is not None and spec.loader is not None, SPELLING
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.for_model  # type: ignore[no-any-return]


for_model = _load_spelling()


def inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in INPUTS:
        digest.update(path.relative_to(NLU_DIR.parent).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


SUB_ANSWER = re.compile(r"^(- intent: \w+)/(\w+)[ \t]*$", re.MULTILINE)
FLAT_SEPARATOR = "__"  # `info_sfi/where` is the class `info_sfi__where` (see bot/core/nlu.py)


def flatten(text: str) -> str:
    """Training data with each `<intent>/<answer>` block as its own class `<intent>__<answer>`,
    in the spelling the gateway sends (bot/core/nlu/spelling.py)."""
    return for_model(SUB_ANSWER.sub(lambda m: f"{m[1]}{FLAT_SEPARATOR}{m[2]}", text))


def flat_data(folder: Path) -> Path:
    """A copy of data/ in `folder` with sub-answers as flat classes; returns its path."""
    target = folder / "data"
    target.mkdir()
    for path in sorted((NLU_DIR / "data").glob("*.yml")):
        (target / path.name).write_text(flatten(path.read_text(encoding="utf-8")),
                                        encoding="utf-8")
    return target


def model_path() -> Path:
    return MODELS_DIR / f"nlu-{inputs_hash()}.tar.gz"


def train(rasa: str, force: bool = False) -> Path:
    target = model_path()
    if target.exists() and not force:
        print(f"nlu: model up to date ({target.name})", file=sys.stderr)
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    print(f"nlu: training {target.name} from {len(INPUTS) - 4} data files "
          "(about 5-6 minutes on 2 cores)...", file=sys.stderr, flush=True)
    started = time.monotonic()
    # Rasa's training cache lives beside the models, not in ~/.rasa: a fresh clone trains from
    # scratch (its training time is the one the README states), and retraining in one checkout
    # reuses what did not change (e.g. the featurizers when only DIET's settings changed).
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
           "RASA_CACHE_DIRECTORY": str(MODELS_DIR / "rasa-cache")}
    log_path = MODELS_DIR / "train.log"
    with tempfile.TemporaryDirectory(prefix="lotsen-nlu-") as folder, log_path.open("w") as log:
        command = [rasa, "train", "nlu", "--config", str(NLU_DIR / "config.yml"),
                   "--nlu", str(flat_data(Path(folder))), "--out", str(MODELS_DIR),
                   "--fixed-model-name", target.name.removesuffix(".tar.gz")]
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                check=False)
    if result.returncode != 0 or not target.exists():
        tail = log_path.read_text(errors="replace").splitlines()[-25:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"nlu: training failed (exit {result.returncode}); log: {log_path}")
    for old in MODELS_DIR.glob("nlu-*.tar.gz"):
        if old != target:
            old.unlink()
    print(f"nlu: trained in {time.monotonic() - started:.0f} s -> {target}", file=sys.stderr)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", default=str(NLU_DIR.parent / ".venv-nlu" / "bin" / "rasa"))
    parser.add_argument("--force", action="store_true", help="train even if up to date")
    parser.add_argument("--print-path", action="store_true",
                        help="only print where the model for the current inputs would be")
    args = parser.parse_args()
    if args.print_path:
        print(model_path())
        return
    print(train(args.rasa, args.force))


if __name__ == "__main__":
    main()
