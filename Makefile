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

.PHONY: help install run chat test test-fast test-calendar eval bench lint model catalogs i18n-update screenshot browser faketime sms-segments clean

help:
	@echo "make run      start Rasa, the gateway and the worker (web chat at http://127.0.0.1:$${LOTSEN_PORT:-8080}/)"
	@echo "make test     install everything and run the whole suite (real Redis, real Rasa),"
	@echo "              then the unit tests again on two other dates (faketime)"
	@echo "make chat     talk to the bot in this terminal (Rasa from LOTSEN_RASA_URL, or its menu)"
	@echo "make eval     NLU accuracy per language and intent on ../shared/eval/nlu_dev.yml"
	@echo "make bench    load test: web chat API vs Rasa alone vs a bare aiohttp endpoint"
	@echo "make screenshot  the web chat in Arabic (RTL) by headless Chromium -> reports/webchat-ar.png"
	@echo "make sms-segments  SMS segments of the ten most common replies (sv, ar, so), before/after shortening"
	@echo "make lint     ruff"
	@echo "make i18n-update  re-extract messages into locales/lotsen.pot and update every .po"

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install it (e.g. 'pyenv install 3.11') or set PYTHON311=/path/to/python3.11"; exit 1; }
	@echo "install: gateway venv ($(PYTHON311))"
	@test -x $(PY) || $(PYTHON311) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip $(PIP_QUIET)
	@$(PY) -m pip install -q -e '.[dev]' $(PIP_QUIET)
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
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "install: chromium (Debian package, for browser tests; about a minute)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium not found: install Debian's chromium package"; exit 1; fi; }

# Debian's faketime, to run the unit tests on other dates (installed when missing and we are root).
faketime:
	@command -v faketime >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "install: faketime (Debian package, for tests on other dates)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq faketime >/dev/null; \
	  else echo "faketime not found: install Debian's faketime package"; exit 1; fi; }

locales/%/LC_MESSAGES/lotsen.mo: locales/%/LC_MESSAGES/lotsen.po $(VENV)/.installed
	@$(VENV)/bin/pybabel -q compile --statistics -D lotsen -i $< -o $@

catalogs: $(MO_FILES)

i18n-update: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F locales/babel.cfg --no-location --sort-output \
	  --project=Lotsen --copyright-holder="City of Stockholm" -o locales/lotsen.pot .
	$(VENV)/bin/pybabel -q update -D lotsen -i locales/lotsen.pot -d locales --no-fuzzy-matching --init-missing

model: $(NLU_VENV)/.installed
	@$(NLU_VENV)/bin/python nlu/build.py >/dev/null

run: install model
	@$(PY) scripts/run.py

test: install model browser faketime
	@$(PY) -m pytest -q -rs --durations=8
	@$(MAKE) --no-print-directory test-calendar

# The unit tests on Christmas Eve and on the night Sweden moves to summer time: no test may
# depend on today's date or the hour (tests inject a clock; see tests/clock.py).
CALENDAR_DATES := '2026-12-24 18:00:00' '2027-03-28 01:30:00'
test-calendar: install faketime
	@for when in $(CALENDAR_DATES); do \
	  echo "test-calendar: tests/unit at $$when (faketime)"; \
	  faketime "$$when" $(PY) -m pytest -q -p no:cacheprovider tests/unit | tail -n 1; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

test-fast: install
	@$(PY) -m pytest -q -m "not integration"

chat: install model
	@$(PY) scripts/chat.py

eval: install model
	@$(PY) scripts/eval.py

bench: install model
	@$(PY) scripts/bench.py

sms-segments: install
	@$(PY) scripts/sms_segments.py --languages sv,ar,so

screenshot: install model browser
	@$(PY) scripts/screenshot.py

lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(NLU_VENV) nlu/models .pytest_cache reports
