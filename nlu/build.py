"""Train the Rasa NLU model only when its inputs changed.

The model file is named after a hash of the pipeline config, every training-data file and the
Rasa requirements, so `make run` and `make test` reuse a model trained from the same inputs and
retrain as soon as any of them changes. Prints the model path on its last line.

Usage: python nlu/build.py [--rasa PATH_TO_RASA] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
MODELS_DIR = NLU_DIR / "models"
INPUTS = [NLU_DIR / "config.yml", NLU_DIR / "requirements.txt",
          *sorted((NLU_DIR / "data").glob("*.yml"))]


def inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in INPUTS:
        digest.update(path.relative_to(NLU_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS_DIR / f"nlu-{inputs_hash()}.tar.gz"


def train(rasa: str, force: bool = False) -> Path:
    target = model_path()
    if target.exists() and not force:
        print(f"nlu: model up to date ({target.name})", file=sys.stderr)
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    print(f"nlu: training {target.name} from {len(INPUTS) - 2} data files "
          "(2-3 minutes on 2 cores)...", file=sys.stderr, flush=True)
    started = time.monotonic()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    command = [rasa, "train", "nlu", "--config", str(NLU_DIR / "config.yml"),
               "--nlu", str(NLU_DIR / "data"), "--out", str(MODELS_DIR),
               "--fixed-model-name", target.name.removesuffix(".tar.gz")]
    log_path = MODELS_DIR / "train.log"
    with log_path.open("w") as log:
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
