"""Measure one multilingual model against one model per language (recorded in nlu/README.md).

Runs in the Rasa venv: `.venv-nlu/bin/python nlu/compare.py`. For each approach it reports
  * k-fold cross-validation on the training data (`rasa test nlu --cross-validation`), and
  * intent accuracy on the development set (../shared/eval/nlu_dev.yml), measured only: the
    cases are written to a temporary folder for `rasa test nlu`, never into nlu/data.
Per-language models are scored with the case's own language (an oracle router), which is the
best such a setup could do. Writes reports/nlu_compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

NLU_DIR = Path(__file__).resolve().parent
ROOT = NLU_DIR.parent
RASA = str(ROOT / ".venv-nlu" / "bin" / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
       "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def rasa(*args: str) -> None:
    result = subprocess.run([RASA, *args], env=ENV, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"rasa {args[0]} {args[1]} failed:\n{result.stdout[-2000:]}"
                         f"{result.stderr[-2000:]}")


def intent_report(folder: Path) -> dict:
    candidates = list(folder.rglob("intent_report.json"))
    if not candidates:
        raise SystemExit(f"no intent_report.json under {folder}")
    return json.loads(candidates[0].read_text())


def dev_cases_as_rasa(cases: list[dict], path: Path) -> None:
    by_intent: dict[str, list[str]] = {}
    for case in cases:
        by_intent.setdefault(case["intent"], []).append(case["text"])
    blocks = [{"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
              for intent, texts in by_intent.items()]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True))


def data_files(language: str | None) -> list[str]:
    files = [str(NLU_DIR / "data" / "lookup_district.yml")]
    if language is None:
        return [str(p) for p in sorted((NLU_DIR / "data").glob("*.yml"))]
    return [*files, str(NLU_DIR / "data" / f"nlu_{language}.yml")]


def merged_data(files: list[str], folder: Path) -> Path:
    target = folder / "data"
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        (target / Path(f).name).write_text(Path(f).read_text(encoding="utf-8"), encoding="utf-8")
    return target


def cross_validate(data: Path, folds: int, out: Path) -> float:
    rasa("test", "nlu", "--config", str(NLU_DIR / "config.yml"), "--nlu", str(data),
         "--cross-validation", "--folds", str(folds), "--out", str(out))
    return float(intent_report(out)["weighted avg"]["f1-score"])


def train_and_score(data: Path, dev: Path, work: Path, name: str) -> tuple[float, int]:
    rasa("train", "nlu", "--config", str(NLU_DIR / "config.yml"), "--nlu", str(data),
         "--out", str(work), "--fixed-model-name", name)
    out = work / f"test-{name}"
    rasa("test", "nlu", "--model", str(work / f"{name}.tar.gz"), "--nlu", str(dev),
         "--out", str(out))
    report = intent_report(out)
    return float(report["accuracy"]), int(report["macro avg"]["support"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path,
                        default=ROOT.parent / "shared" / "eval" / "nlu_dev.yml")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--skip-cv", action="store_true")
    args = parser.parse_args()
    cases = yaml.safe_load(args.cases.read_text(encoding="utf-8"))["cases"]
    languages = sorted({c["lang"] for c in cases})
    results: dict[str, dict] = {"multilingual": {}, "per_language": {}}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dev_all = work / "dev_all.yml"
        dev_cases_as_rasa(cases, dev_all)
        print("compare: multilingual model...", file=sys.stderr, flush=True)
        data = merged_data(data_files(None), work / "multi")
        if not args.skip_cv:
            results["multilingual"]["cv_f1"] = cross_validate(data, args.folds, work / "cv-multi")
        for lang in languages:
            dev = work / f"dev_{lang}.yml"
            dev_cases_as_rasa([c for c in cases if c["lang"] == lang], dev)
        acc, n = train_and_score(data, dev_all, work, "multi")
        results["multilingual"]["dev_accuracy"] = acc
        results["multilingual"]["dev_cases"] = n
        per_lang_hits = 0.0
        for lang in languages:
            print(f"compare: {lang} model...", file=sys.stderr, flush=True)
            data = merged_data(data_files(lang), work / f"lang-{lang}")
            entry: dict[str, float | int] = {}
            if not args.skip_cv:
                entry["cv_f1"] = cross_validate(data, args.folds, work / f"cv-{lang}")
            acc, n = train_and_score(data, work / f"dev_{lang}.yml", work, f"m-{lang}")
            entry.update(dev_accuracy=acc, dev_cases=n)
            per_lang_hits += acc * n
            results["per_language"][lang] = entry
        total = sum(e["dev_cases"] for e in results["per_language"].values())
        results["per_language_overall_dev_accuracy"] = per_lang_hits / total
    results["seconds"] = round(time.monotonic() - started)
    out = ROOT / "reports" / "nlu_compare.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
