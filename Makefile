# Lotsen: every command a newcomer or CI needs. Each target installs what it needs first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Python 3.11 for the gateway, 3.10 for Rasa: `pythonX.Y` on PATH if it runs, else pyenv's folder.
find_python = $(shell for c in python$(1) $$(pyenv root 2>/dev/null)/versions/$(1)*/bin/python$(1) \
  /usr/bin/python$(1) /usr/local/bin/python$(1); do \
  "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(1))))' 2>/dev/null \
  && { echo "$$c"; break; }; done)
comma := ,
PYTHON311 ?= $(call find_python,3.11)
PYTHON310 ?= $(call find_python,3.10)

VENV := .venv
NLU_VENV := .venv-nlu
PY := $(VENV)/bin/python
PIP_QUIET := 2>&1 | { grep -v -e 'is ignored: it is neither' -e '^$$' || true; }
PO_FILES := $(wildcard locales/*/LC_MESSAGES/lotsen.po)
MO_FILES := $(PO_FILES:.po=.mo)

# pip-tools (make lock) and pip-audit (make audit) live in a venv of their own (Python 3.11), so that
# neither adds packages to the environments it pins or audits. It ignores itself in git.
TOOLS_VENV := .venv-tools
PIP_TOOLS := pip-tools>=7.4,<8
PIP_AUDIT := pip-audit>=2.7,<3
# $(call debian,COMMAND,PACKAGES,WHY): install Debian's PACKAGES if COMMAND is missing (as root
# with apt-get; otherwise say what to install and fail).
debian = command -v $(1) >/dev/null || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
    echo "install: $(2) (Debian package, $(3))"; \
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq $(2) >/dev/null; \
  else echo "$(1) not found: install Debian's $(2) package"; exit 1; fi; }

# $(call tool,COMMAND,VARIABLE): install the requirement in VARIABLE into $(TOOLS_VENV) if COMMAND is missing.
tool = test -x $(TOOLS_VENV)/bin/$(1) || { \
  test -n "$(PYTHON311)" || { echo "Python 3.11 not found: set PYTHON311=/path/to/python3.11"; exit 1; }; \
  echo "install: $($(2)) into $(TOOLS_VENV)"; \
  test -x $(TOOLS_VENV)/bin/python || { $(PYTHON311) -m venv $(TOOLS_VENV) && echo '*' >$(TOOLS_VENV)/.gitignore; }; \
  $(TOOLS_VENV)/bin/python -m pip install -q '$($(2))' $(PIP_QUIET); }

.PHONY: help install axe run chat test test-fast test-calendar eval bench bench-channels bench-campaign lint profile valgrind model catalogs i18n-update screenshot browser faketime gettext pdf sms-segments clean lock audit config-docs

help:
	@echo "make run      start Rasa, the gateway and the worker (web chat at http://127.0.0.1:$${LOTSEN_PORT:-8080}/)"
	@echo "make test     install everything and run the whole suite (real Redis, real Rasa),"
	@echo "              then the unit tests again on two other dates (faketime)"
	@echo "make chat     talk to the bot in this terminal (Rasa from LOTSEN_RASA_URL, or its menu)"
	@echo "make eval     NLU accuracy per language and intent on ../shared/eval/nlu_dev.yml"
	@echo "make bench    NLU capacity: bare Rasa (warm, measured twice), web chat with 1 and 2 Rasa"
	@echo "              replicas with the gateway's CPU per message, overload at 3x, parse cache"
	@echo "              hit rate (about 5 minutes)"
	@echo "make profile  instructions per web chat message in the gateway (callgrind), questions and"
	@echo "              the seven-language mix; PROFILE_FLAGS='--mode cpu' or '--mode pyinstrument'"
	@echo "make bench-channels  web chat API and Telegram webhook vs Rasa alone vs bare aiohttp"
	@echo "make bench-campaign  campaign sending against stand-in providers (100 ms a call):"
	@echo "              3,000 Telegram, 1,000 SMS, 3,000 WhatsApp, a kill -9 of the worker (about 7 minutes)"
	@echo "make screenshot  the web chat in Arabic (RTL) by headless Chromium -> reports/webchat-ar.png"
	@echo "make sms-segments  SMS segments of the ten most common replies (sv, ar, so), before/after shortening"
	@echo "make lint     ruff, and mypy --strict over bot/ and connectors/"
	@echo "make lock     pin the gateway's packages with their hashes: pyproject.toml -> requirements.lock"
	@echo "make audit    pip-audit over the gateway venv (.venv) and the Rasa venv (.venv-nlu)"
	@echo "make i18n-update  re-extract messages into locales/lotsen.pot and update every .po"
	@echo "make config-docs  write docs/configuration.md and .env.example from the settings in bot/config.py"

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install it (e.g. 'pyenv install 3.11') or set PYTHON311=/path/to/python3.11"; exit 1; }
	@echo "install: gateway venv ($(PYTHON311)) from requirements.lock"
	@test -x $(PY) || $(PYTHON311) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip setuptools $(PIP_QUIET)
	@$(PY) -m pip install -q --require-hashes -r requirements.lock $(PIP_QUIET)
	@$(PY) -m pip install -q --no-deps -e . $(PIP_QUIET)
	@$(PY) -m pip check >/dev/null || { $(PY) -m pip check || true; \
	  echo "requirements.lock does not fit pyproject.toml: run 'make lock'"; exit 1; }
	@touch $@

$(NLU_VENV)/.installed: nlu/requirements.txt nlu/constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (Rasa 3.6 needs <= 3.10): install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10"; exit 1; }
	@echo "install: Rasa venv ($(PYTHON310)); takes about 90 s the first time"
	@test -x $(NLU_VENV)/bin/python || $(PYTHON310) -m venv $(NLU_VENV)
	@$(NLU_VENV)/bin/python -m pip install -q --upgrade pip $(PIP_QUIET)
	@$(NLU_VENV)/bin/python -m pip install -q -r nlu/requirements.txt -c nlu/constraints.txt $(PIP_QUIET)
	@$(NLU_VENV)/bin/rasa telemetry disable >/dev/null 2>&1 || true
	@touch $@

install: $(VENV)/.installed $(NLU_VENV)/.installed catalogs

# Debian's Chromium for the browser tests and screenshots (installed when missing and we are root).
browser:
	@$(call debian,chromium,chromium chromium-driver,for browser tests; about a minute)

# axe-core (npm, pinned in package.json and package-lock.json): the browser tests run it in each
# page to find WCAG 2.1 A/AA violations. Node.js and npm come with the machine.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (Debian: apt-get install nodejs npm)"; exit 1; }
	@echo "install: axe-core from package-lock.json (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

axe: $(AXE)

# Debian's faketime, to run the unit tests on other dates (installed when missing and we are root).
faketime:
	@$(call debian,faketime,faketime,for tests on other dates)

# GNU gettext's msgfmt: a test checks that an exported .po passes `msgfmt --check`, as a
# translator's tool would.
gettext:
	@$(call debian,msgfmt,gettext,for the .po export test)

# The monthly report's PDF (WeasyPrint needs Pango) and its test's pdftotext (poppler-utils).
pdf:
	@$(call debian,pdftotext,poppler-utils,for the monthly report test's pdftotext)
	@ldconfig -p | grep -q libpangoft2-1.0 || { $(call debian,lotsen-no-such-command,libpango-1.0-0 libpangoft2-1.0-0,for the monthly report's PDF); }

locales/%/LC_MESSAGES/lotsen.mo: locales/%/LC_MESSAGES/lotsen.po $(VENV)/.installed
	@$(VENV)/bin/pybabel -q compile --statistics -D lotsen -i $< -o $@

catalogs: $(MO_FILES)

i18n-update: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F locales/babel.cfg --no-location --sort-output \
	  --project=Lotsen --copyright-holder="City of Stockholm" -o locales/lotsen.pot .
	$(VENV)/bin/pybabel -q update -D lotsen -i locales/lotsen.pot -d locales --no-fuzzy-matching

model: $(NLU_VENV)/.installed
	@$(NLU_VENV)/bin/python nlu/build.py >/dev/null

run: install model
	@$(PY) scripts/run.py

# pytest-xdist runs the suite in one worker per core (each with its own Rasa server): most tests
# wait on processes, browsers and sockets, so two workers on 2 cores take 8 1/2 minutes where one
# took 15 (docs/development.md). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= auto
# The model trains (CPU) while the browser, axe-core and the Debian tools install (network,
# disk): on a fresh machine that saves the minutes the installs would add after the training.
test: install
	@$(MAKE) --no-print-directory model & training=$$!; \
	  $(MAKE) --no-print-directory browser axe faketime gettext pdf; tools=$$?; \
	  wait $$training && test $$tools -eq 0
	@$(PY) -m pytest -q -rs --durations=8 -n $(TEST_WORKERS)
	@$(MAKE) --no-print-directory test-calendar

# The unit tests on Christmas Eve and on the night Sweden moves to summer time: no test may
# depend on today's date or the hour (tests inject a clock; see tests/clock.py).
# libfaketime is preloaded directly, not through the `faketime` wrapper, whose semaphores in
# /dev/shm outlive a killed wrapper and make a later one with the same pid fail (scripts/libfaketime.py).
CALENDAR_DATES := '2026-12-24 18:00:00' '2027-03-28 01:30:00'
LIBFAKETIME = $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1))
test-calendar: install faketime
	@test -n "$(LIBFAKETIME)" || { echo "test-calendar: libfaketime not found" >&2; exit 1; }
	@echo "test-calendar: tests/unit at $(CALENDAR_DATES) (libfaketime, both at once)"
	@pids=""; n=0; for when in $(CALENDAR_DATES); do n=$$((n + 1)); \
	  LD_PRELOAD=$(LIBFAKETIME) FAKETIME="@$$when" $(PY) -m pytest -q -rf -p no:cacheprovider tests/unit \
	    >.test-calendar-$$n.log 2>&1 & pids="$$pids $$!"; done; \
	status=0; n=0; for pid in $$pids; do n=$$((n + 1)); wait $$pid || status=1; \
	  echo "test-calendar: date $$n:"; grep -E '^(FAILED|ERROR)|passed|failed' .test-calendar-$$n.log; \
	  rm -f .test-calendar-$$n.log; done; exit $$status

test-fast: install
	@$(PY) -m pytest -q -m "not integration"

chat: install model
	@$(PY) scripts/chat.py

eval: install model
	@$(PY) scripts/eval.py

bench: install model
	@$(PY) scripts/bench.py

# Debian's valgrind, for make profile's instruction counts (installed when missing and we are root).
valgrind:
	@$(call debian,callgrind_control,valgrind,for make profile)

# Instructions per web chat message (callgrind: the same on a busy machine), for the questions
# and for the seven-language mix; PROFILE_FLAGS for the other modes (scripts/profile_gateway.py).
PROFILE_FLAGS ?=
profile: install model valgrind
	@if [ -n "$(PROFILE_FLAGS)" ]; then $(PY) scripts/profile_gateway.py $(PROFILE_FLAGS); else \
	  $(PY) scripts/profile_gateway.py --questions --messages 100 && \
	  $(PY) scripts/profile_gateway.py --messages 200; fi

bench-channels: install model
	@$(PY) scripts/bench_channels.py

bench-campaign: install faketime
	@$(PY) -m scripts.bench_campaign

sms-segments: install
	@$(PY) scripts/sms_segments.py --languages sv,ar,so

screenshot: install model browser
	@$(PY) scripts/screenshot.py

# ruff over everything; mypy --strict over bot/ and connectors/ (settings in pyproject.toml).
lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .
	@$(PY) -m mypy

# docs/configuration.md and .env.example are generated from Settings (bot/config.py);
# tests/unit/test_config_docs.py fails when either is stale.
config-docs: $(VENV)/.installed
	@$(PY) -m bot.config_docs

# requirements.lock: every package of the gateway venv (dependencies and the dev extra) pinned with
# the hashes of all its files on PyPI. Pins that still fit pyproject.toml are kept: to move them,
# make lock LOCK_FLAGS=--upgrade (all) or LOCK_FLAGS='--upgrade-package aiohttp' (one).
LOCK_FLAGS ?=
lock:
	@$(call tool,pip-compile,PIP_TOOLS)
	@echo "lock: pyproject.toml -> requirements.lock (pip-compile for Python 3.11, with hashes; minutes the first time)"
	@CUSTOM_COMPILE_COMMAND="make lock" $(TOOLS_VENV)/bin/pip-compile -q --generate-hashes --extra dev \
	  --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) \
	  -o requirements.lock pyproject.toml $(PIP_QUIET)
	@echo "lock: $$(grep -c '^[a-z]' requirements.lock) packages pinned; 'make install' installs these pins"

# Known vulnerabilities in the gateway venv and the Rasa venv as installed (pip-audit, from its own
# venv). Fails on a vulnerability, and also when the service could not be asked about a package:
# pip-audit alone then says "No known vulnerabilities found". AUDIT_SERVICE=osv asks OSV, not PyPI;
# AUDIT_FLAGS passes more, e.g. '--ignore-vuln ID' or '--osv-url URL' (a mirror of OSV's API).
AUDIT_SERVICE ?= pypi
AUDIT_FLAGS ?=
define AUDIT_SUMMARY
import json, sys
venv, report, errors = sys.argv[1:4]
try:
    deps = json.load(open(report))["dependencies"]
except (OSError, ValueError, KeyError):
    lines = open(errors).read().strip().splitlines() or ["no output"]
    sys.exit(f"audit: {venv}: pip-audit failed: {lines[-1]}")
found = [(d, v) for d in deps for v in d.get("vulns", [])]
for d, v in found:
    ids = ", ".join([v["id"], *v.get("aliases", [])])
    print(f"  {d['name']} {d['version']}: {ids}; fixed in {', '.join(v['fix_versions']) or 'no release yet'}")
audited = [d for d in deps if "skip_reason" not in d]
names = {d["name"] for d, _ in found}
print(f"audit: {venv}: {len(found)} known vulnerabilities in {len(names)} of {len(audited)} packages audited")
skipped = [d for d in deps if "skip_reason" in d and "editable" not in d["skip_reason"]]
if skipped:
    print(f"audit: {venv}: {len(skipped)} packages NOT audited (the service had no answer for them), e.g. {skipped[0]['skip_reason']}")
sys.exit(1 if found or skipped else 0)
endef
export AUDIT_SUMMARY
audit: $(VENV)/.installed $(NLU_VENV)/.installed
	@$(call tool,pip-audit,PIP_AUDIT)
	@status=0; for venv in $(VENV) $(NLU_VENV); do \
	  site=$$($$venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))'); \
	  echo "audit: $$venv ($$($$venv/bin/python -V)) against $(AUDIT_SERVICE)"; \
	  $(TOOLS_VENV)/bin/pip-audit -s $(AUDIT_SERVICE) -f json --progress-spinner off --skip-editable \
	    $(AUDIT_FLAGS) --path "$$site" >$(TOOLS_VENV)/audit.json 2>$(TOOLS_VENV)/audit.err || true; \
	  $(TOOLS_VENV)/bin/python -c "$$AUDIT_SUMMARY" $$venv $(TOOLS_VENV)/audit.json $(TOOLS_VENV)/audit.err \
	    || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) $(NLU_VENV) .venv-tools node_modules nlu/models .pytest_cache reports
