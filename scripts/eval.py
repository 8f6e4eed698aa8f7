"""`make eval`: NLU accuracy per language and per intent through `POST /api/nlu/parse`.

Starts its own Rasa + gateway (unless --url and --token point at a running gateway), sends every
case of the development set, prints tables and the list of errors, and writes reports/eval.json.
Then the same for our own held-out intent set (nlu/eval/intents_dev_*.yml, written apart from the
training data, which a test keeps it out of); then the specific answers: every question of our
own development set (nlu/eval/answers_dev_*.yml, never in the training data) must get its
answer (`"answer"` of the parse API), per language; and language detection on
nlu/eval/language_dev.yml (mixed-language and Arabic/Persian cases). Last, issue 28's fresh
held-out set (nlu/eval/fresh/<lang>.yml, `ar_arabizi.yml` for Arabic in Latin letters; written
before any training change of that issue and kept out of the training data by a test): intent
accuracy per language, a confusion table per language, and how much Arabizi is detected as Arabic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from scripts.stack import running_stack  # noqa: E402

DEFAULT_CASES = ROOT.parent / "shared" / "eval" / "nlu_dev.yml"
ANSWER_CASES = ROOT / "nlu" / "eval"
DETECTION_MIN_WORDS = 3


def load_cases(path: Path, languages: set[str] | None) -> list[dict[str, str]]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    return [c for c in cases if languages is None or c["lang"] in languages]


async def classify(url: str, token: str, cases: list[dict[str, str]]) -> list[dict[str, object]]:
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for case in cases:
            async with session.post(f"{url}/api/nlu/parse", json={"text": case["text"]}) as resp:
                body = await resp.json()
                if resp.status != 200:
                    raise SystemExit(f"parse failed ({resp.status}): {body}")
            answer = body.get("answer") or {}
            selected = body.get("selected") or {}
            call = body.get("close_call") or {}
            results.append({**case, "predicted": body["intent"]["name"],
                            "options": call.get("options"), "gap": call.get("gap"),
                            "selected": selected.get("name"),
                            "selected_confidence": selected.get("confidence", 0.0),
                            "confidence": body["intent"]["confidence"],
                            "predicted_answer": answer.get("name"),
                            "detected_language": body["language"]})
    return results


def load_answer_cases(folder: Path, languages: set[str] | None,
                      kind: str = "answers") -> list[dict[str, str]]:
    """Cases {text, lang, intent, answer} from nlu/eval/<kind>_dev_<lang>.yml (Rasa format):
    the specific answers (`answers`) or the intents of spec §4 (`intents`)."""
    cases = []
    for path in sorted(folder.glob(f"{kind}_dev_*.yml")):
        lang = path.stem.removeprefix(f"{kind}_dev_")
        if languages is not None and lang not in languages:
            continue
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                if line.startswith("- "):
                    cases.append({"text": line[2:].strip(), "lang": lang,
                                  "intent": block["intent"].partition("/")[0],
                                  "answer": block["intent"]})
    return cases


def load_fresh_cases(folder: Path, languages: set[str] | None) -> list[dict[str, str]]:
    """Cases {text, lang, intent, answer, variant} from nlu/eval/fresh/<lang>[_variant].yml."""
    cases = []
    for path in sorted((folder / "fresh").glob("*.yml")):
        lang, _, variant = path.stem.partition("_")
        if languages is not None and lang not in languages:
            continue
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                if line.startswith("- "):
                    cases.append({"text": line[2:].strip(), "lang": lang, "variant": variant,
                                  "intent": block["intent"].partition("/")[0],
                                  "answer": block["intent"]})
    return cases


def confusion_report(results: list[dict[str, object]]) -> dict[str, object]:
    """Per language: which intent was read as which (the errors only), most frequent first;
    and Arabic in Latin letters: how much of it is detected as Arabic."""
    tables: dict[str, list[dict[str, object]]] = {}
    print("\nConfusions per language (expected -> predicted: count)")
    for lang in sorted({str(r["lang"]) for r in results}):
        counted = Counter((str(r["intent"]), str(r["predicted"])) for r in results
                          if r["lang"] == lang and r["predicted"] != r["intent"])
        tables[lang] = [{"expected": e, "predicted": p, "count": n}
                        for (e, p), n in counted.most_common()]
        print(f"  {lang}: " + (", ".join(f"{e} -> {p}: {n}" for (e, p), n in
                                          counted.most_common()) or "none"))
    arabizi = [r for r in results if r.get("variant") == "arabizi"]
    detected = sum(r["detected_language"] == "ar" for r in arabizi)
    understood = sum(r["predicted"] == r["intent"] for r in arabizi)
    print(f"\nArabizi (Arabic in Latin letters): detected as Arabic {pct(detected, len(arabizi))} "
          f"of {len(arabizi)}; intent {pct(understood, len(arabizi))}")
    return {"confusions": tables, "arabizi": {
        "cases": len(arabizi),
        "detected_as_arabic": detected / len(arabizi) if arabizi else None,
        "intent_accuracy": understood / len(arabizi) if arabizi else None}}


def load_language_cases(path: Path, languages: set[str] | None) -> list[dict[str, str]]:
    if not path.exists():
        return []
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    return [{**c, "intent": c.get("intent", "")} for c in cases
            if languages is None or c["lang"] in languages]


def answer_report(results: list[dict[str, object]]) -> dict[str, object]:
    """Specific-answer accuracy per language: the right answer, not just the right topic."""
    by_lang: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in results:
        by_lang[str(r["lang"])].append(r)
    summary: dict[str, object] = {"languages": {}}
    print(f"\nSpecific answers on our development set ({len(results)} questions)")
    print(f"{'lang':6}{'cases':>6}{'answer acc':>12}{'topic acc':>11}")
    for lang in sorted(by_lang):
        rows = by_lang[lang]
        hits = sum(r["predicted_answer"] == r["answer"] for r in rows)
        topic = sum(r["predicted"] == r["intent"] for r in rows)
        summary["languages"][lang] = {"cases": len(rows),  # type: ignore[index]
                                      "answer_accuracy": hits / len(rows),
                                      "topic_accuracy": topic / len(rows)}
        print(f"{lang:6}{len(rows):>6}{pct(hits, len(rows)):>12}{pct(topic, len(rows)):>11}")
    hits = sum(r["predicted_answer"] == r["answer"] for r in results)
    print(f"{'all':6}{len(results):>6}{pct(hits, len(results)):>12}")
    summary["overall"] = {"cases": len(results),
                          "answer_accuracy": hits / len(results) if results else None}
    summary["thresholds"] = threshold_sweep(results)
    errors = [r for r in results if r["predicted_answer"] != r["answer"]]
    print(f"\nSpecific-answer errors ({len(errors)}): expected -> given")
    for r in errors:
        print(f"  [{r['lang']}] {r['answer']} -> {r['predicted_answer'] or r['predicted']}: "
              f"{r['text']}")
    summary["errors"] = errors
    return summary


def threshold_sweep(results: list[dict[str, object]]) -> list[dict[str, float]]:
    """What LOTSEN_ANSWER_THRESHOLD would give: right specific answers, and wrong ones (worse
    for the person than the topic's own answer, which is what falls below the threshold)."""
    print("\nLOTSEN_ANSWER_THRESHOLD  right answer  wrong specific answer  topic answer")
    sweep = []
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        given = [r for r in results if r["predicted"] == r["intent"] and r["selected"]
                 and not str(r["selected"]).endswith("/overview")
                 and float(r["selected_confidence"]) >= threshold]  # type: ignore[arg-type]
        right = sum(r["selected"] == r["answer"] for r in given) / len(results)
        wrong = sum(r["selected"] != r["answer"] for r in given) / len(results)
        sweep.append({"threshold": threshold, "right": right, "wrong": wrong})
        print(f"{threshold:>23.1f}{100 * right:>13.1f}%{100 * wrong:>22.1f}%"
              f"{100 * (1 - right - wrong):>13.1f}%")
    return sweep


MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)


def offered_right(r: dict[str, object], option: str) -> bool:
    """Whether a "did you mean" option is what the case means: its answer when the case names
    one (the topic for `<topic>/overview`), else its intent."""
    expected = str(r.get("answer") or r["intent"])
    if "/" in expected and r.get("kind") == "answers":
        topic, _, name = expected.partition("/")
        return option == (topic if name == "overview" else expected)
    return option.partition("/")[0] == r["intent"]


def margin_sweep(sets: dict[str, list[dict[str, object]]], chosen: float) -> dict[str, object]:
    """What each LOTSEN_DISAMBIGUATION_MARGIN gives on the development sets: how often the bot
    asks "did you mean", how often the right reading is among the two it offers, and the share
    of messages that end at the right answer (first guess right and not asked, or asked with
    the right one offered). Top-1 accuracy is unchanged by asking."""
    print("\nDid you mean: LOTSEN_DISAMBIGUATION_MARGIN on the development sets "
          f"(configured: {chosen})")
    print(f"{'set':10}{'margin':>7}{'asked':>8}{'right offered':>15}{'first guess':>13}"
          f"{'ends right':>12}{'asked, 1st right':>18}")
    table: dict[str, list[dict[str, float]]] = {}
    for name, rows in sets.items():
        table[name] = []
        for margin in MARGINS:
            asked = [r for r in rows if r.get("gap") is not None and margin > 0
                     and float(r["gap"]) < margin]  # type: ignore[arg-type]
            ids = {id(r) for r in asked}
            offered = sum(any(offered_right(r, str(o)) for o in r["options"] or [])  # type: ignore[union-attr]
                          for r in asked)
            first = sum(bool(r["first_right"]) for r in rows)
            ends = sum(bool(r["first_right"]) for r in rows if id(r) not in ids) + offered
            needless = sum(bool(r["first_right"]) for r in asked)
            n = len(rows)
            table[name].append({"margin": margin, "asked": len(asked) / n,
                                "right_offered": offered / len(asked) if asked else 0.0,
                                "first_guess": first / n, "ends_right": ends / n,
                                "asked_first_right": needless / n})
            mark = " <" if abs(margin - chosen) < 1e-9 else ""
            print(f"{name:10}{margin:>7.2f}{pct(len(asked), n):>8}{pct(offered, len(asked)):>15}"
                  f"{pct(first, n):>13}{pct(ends, n):>12}{pct(needless, n):>18}{mark}")
    return {"configured": chosen, "sets": table}


def detection_report(results: list[dict[str, object]]) -> dict[str, object]:
    wrong = [r for r in results if r["detected_language"] != r["lang"]]
    print(f"\nLanguage detection on nlu/eval/language_dev.yml: "
          f"{pct(len(results) - len(wrong), len(results))} of {len(results)}")
    for r in wrong:
        print(f"  [{r['lang']} -> {r['detected_language']}] {r['text']}")
    return {"cases": len(results),
            "accuracy": (len(results) - len(wrong)) / len(results) if results else None,
            "errors": wrong}


def pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f}%" if total else "    -"


def report(results: list[dict[str, object]],
           title: str = "Intent accuracy and language detection per language") -> dict[str, object]:
    by_lang: dict[str, list[dict[str, object]]] = defaultdict(list)
    by_intent: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in results:
        by_lang[str(r["lang"])].append(r)
        by_intent[str(r["intent"])].append(r)

    def long_enough(r: dict[str, object]) -> bool:
        return len(str(r["text"]).split()) >= DETECTION_MIN_WORDS

    summary: dict[str, object] = {"languages": {}, "intents": {}, "errors": []}
    print(f"\n{title} ({len(results)} cases)")
    print(f"{'lang':6}{'cases':>6}{'intent acc':>12}{'lang det (>=3 words)':>24}")
    for lang in sorted(by_lang):
        rows = by_lang[lang]
        hits = sum(r["predicted"] == r["intent"] for r in rows)
        longer = [r for r in rows if long_enough(r)]
        det = sum(r["detected_language"] == r["lang"] for r in longer)
        summary["languages"][lang] = {  # type: ignore[index]
                                      "cases": len(rows), "intent_accuracy": hits / len(rows),
                                      "detection_cases": len(longer),
                                      "detection_accuracy": det / len(longer) if longer else None}
        print(f"{lang:6}{len(rows):>6}{pct(hits, len(rows)):>12}"
              f"{pct(det, len(longer)):>17} of {len(longer):>3}")
    hits = sum(r["predicted"] == r["intent"] for r in results)
    longer = [r for r in results if long_enough(r)]
    det = sum(r["detected_language"] == r["lang"] for r in longer)
    print(f"{'all':6}{len(results):>6}{pct(hits, len(results)):>12}{pct(det, len(longer)):>17}"
          f" of {len(longer):>3}")
    summary["overall"] = {"cases": len(results), "intent_accuracy": hits / len(results),
                          "detection_cases": len(longer),
                          "detection_accuracy": det / len(longer) if longer else None}

    print(f"\nPer intent\n{'intent':24}{'cases':>6}{'accuracy':>10}")
    for intent in sorted(by_intent):
        rows = by_intent[intent]
        ok = sum(r["predicted"] == r["intent"] for r in rows)
        summary["intents"][intent] = {"cases": len(rows), "accuracy": ok / len(rows)}  # type: ignore[index]
        print(f"{intent:24}{len(rows):>6}{pct(ok, len(rows)):>10}")

    errors = [r for r in results if r["predicted"] != r["intent"]]
    print(f"\nErrors ({len(errors)}): expected -> predicted (confidence)")
    for r in errors:
        print(f"  [{r['lang']}] {r['intent']} -> {r['predicted']} "
              f"({r['confidence']:.2f}): {r['text']}")
    confusions = Counter((str(r["intent"]), str(r["predicted"])) for r in errors)
    summary["errors"] = errors
    summary["confusions"] = [{"expected": e, "predicted": p, "count": n}
                             for (e, p), n in confusions.most_common()]
    wrong_lang = [r for r in longer if r["detected_language"] != r["lang"]]
    print(f"\nLanguage detection errors on messages of >= {DETECTION_MIN_WORDS} words "
          f"({len(wrong_lang)}):")
    for r in wrong_lang:
        print(f"  [{r['lang']} -> {r['detected_language']}] {r['text']}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=Path(os.environ.get(
        "LOTSEN_EVAL_FILE", DEFAULT_CASES)))
    parser.add_argument("--languages", help="comma-separated subset, e.g. sv,en")
    parser.add_argument("--url", help="a running gateway (default: start one)")
    parser.add_argument("--token", default=os.environ.get("LOTSEN_ADMIN_TOKEN", ""))
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "eval.json")
    args = parser.parse_args()
    if not args.cases.exists():
        raise SystemExit(f"evaluation set not found: {args.cases} (set LOTSEN_EVAL_FILE)")
    languages = set(args.languages.split(",")) if args.languages else None
    cases = load_cases(args.cases, languages)
    answer_cases = load_answer_cases(ANSWER_CASES, languages)
    own_cases = load_answer_cases(ANSWER_CASES, languages, kind="intents")
    language_cases = load_language_cases(ANSWER_CASES / "language_dev.yml", languages)
    fresh_cases = load_fresh_cases(ANSWER_CASES, languages)
    started = time.monotonic()

    async def run_all(url: str, token: str) -> tuple[list, list, list, list, list]:
        print(f"eval: {len(cases)} intent cases, {len(own_cases)} own intent cases, "
              f"{len(answer_cases)} specific questions, {len(language_cases)} language cases, "
              f"{len(fresh_cases)} fresh held-out cases...", file=sys.stderr, flush=True)
        return (await classify(url, token, cases), await classify(url, token, own_cases),
                await classify(url, token, answer_cases),
                await classify(url, token, language_cases),
                await classify(url, token, fresh_cases))

    if args.url:
        results, own, answers, detected, fresh = asyncio.run(run_all(args.url, args.token))
    else:
        print("eval: starting Rasa and the gateway...", file=sys.stderr, flush=True)
        with running_stack(prefix="lotsen-eval") as stack:
            results, own, answers, detected, fresh = asyncio.run(
                run_all(stack.gateway_url, stack.admin_token))
    summary = report(results)
    if own:
        summary["own_intents"] = report(
            own, "Intent accuracy on our own held-out set (nlu/eval/intents_dev_*.yml)")
    summary["answers"] = answer_report(answers)
    summary["language_detection"] = detection_report(detected)
    if fresh:
        summary["fresh"] = report(fresh, "Intent accuracy on the fresh held-out set "
                                         "(nlu/eval/fresh/, issue 28)")
        summary["fresh"].update(confusion_report(fresh))  # type: ignore[union-attr]
    for rows, kind in ((own, "intents"), (answers, "answers"), (fresh, "intents")):
        for r in rows:
            r["kind"] = kind
            r["first_right"] = (r["predicted_answer"] or r["predicted"]) == r["answer"] or \
                (r["predicted"] == r["intent"] and str(r["answer"]).endswith("/overview")
                 and not r["predicted_answer"]) if kind == "answers" else \
                r["predicted"] == r["intent"]
    summary["disambiguation"] = margin_sweep(
        {"intents": own, "answers": answers, "fresh": fresh},
        Settings.from_env().disambiguation_margin)
    summary["cases_file"] = str(args.cases)
    summary["seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    shown = args.out.resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown  # --out: anywhere
    print(f"\neval: wrote {shown} in {summary['seconds']} s")


if __name__ == "__main__":
    main()
