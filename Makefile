# Two commands for a new user: `make run` and `make test`. Both set up what they need.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
CASE ?= musk-v-openai

# Django 6.1 needs Python 3.12+. Prefer pyenv's 3.12 (the default python3 on these
# machines is 3.11), then whatever new-enough interpreter is on PATH.
PYTHON ?= $(shell \
	for c in "$$(PYENV_VERSION=3.12 pyenv which python3 2>/dev/null)" python3.13 python3.12 python3; do \
		[ -n "$$c" ] || continue; \
		if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo "$$c"; break; fi; \
	done)

CHROMIUM ?= /usr/bin/chromium
AXE := node_modules/axe-core/axe.min.js

.PHONY: help install run serve migrate demo test lint check-python browser-deps load load-deps screenshot bench bench-postgres bench-csv clean

help:
	@echo "make run   - set up, load the demo case and serve it on http://$(HOST):$(PORT)"
	@echo "make serve - the same site the production way: gunicorn, DEBUG off, on http://$(HOST):$(PORT)"
	@echo "make load  - LOAD_SECONDS of mixed traffic and admin saves against make serve"
	@echo "make test  - run the test suite (DATABASE_URL selects PostgreSQL)"
	@echo "make lint  - ruff"
	@echo "make bench - benchmark pages and CSV export on BENCH_EVENTS synthetic events (SQLite)"

check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: Python 3.12 or newer is required (Django 6.1). Install it, or run 'make PYTHON=/path/to/python3.12 ...'." >&2; \
		exit 1; \
	fi

$(STAMP): requirements.txt | check-python
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_case $(CASE)

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production settings refuse a weak key: a random one is made once and kept in
# LOCAL_SECRET (gitignored). Plain http on this machine, so no HTTPS redirect and no
# Secure-only cookies unless the environment says otherwise. Same database as `make
# run` (SQLITE_PATH, or DATABASE_URL); REDIS_URL selects a shared Redis cache.
LOCAL_SECRET := .local-secret-key

$(LOCAL_SECRET):
	@umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(64))' > $@

serve: install $(LOCAL_SECRET)
	@set -e; set -a; \
	DJANGO_SETTINGS_MODULE=casetracker.settings.prod; \
	SECRET_KEY="$${SECRET_KEY:-$$(cat $(LOCAL_SECRET))}"; \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}"; \
	SECURE_SSL_REDIRECT="$${SECURE_SSL_REDIRECT:-0}"; \
	SESSION_COOKIE_SECURE="$${SESSION_COOKIE_SECURE:-0}"; \
	CSRF_COOKIE_SECURE="$${CSRF_COOKIE_SECURE:-0}"; \
	set +a; \
	$(BIN)/python manage.py collectstatic --noinput -v0; \
	$(BIN)/python manage.py migrate --noinput -v0; \
	$(BIN)/python manage.py load_case $(CASE); \
	echo "Serving on http://$(HOST):$(PORT)/ (gunicorn, DEBUG off)"; \
	exec $(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) casetracker.wsgi

# wrk, from Debian's packages, drives the load test.
load-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "Installing Debian's wrk for the load test..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk \
			|| echo "warning: could not install wrk; the load test will fail under CI=true" >&2; \
	fi

# `make serve` on a free port, LOAD_SECONDS of wrk on a mix of public pages while an
# editor saves events through the admin; fails on any error or lost save.
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/casetracker_load make load for PostgreSQL
# (the database is created if missing).
LOAD_SECONDS ?= 30
LOAD_CONNECTIONS ?= 16

load: install load-deps
	$(BIN)/python manage.py load_test --seconds $(LOAD_SECONDS) --connections $(LOAD_CONNECTIONS) $(LOAD_ARGS)

# The browser tests drive Debian's Chromium (Playwright's own download cannot run
# here) and run axe-core inside it.
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

browser-deps: $(AXE)
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium \
			|| echo "warning: could not install chromium; browser tests will fail under CI=true" >&2; \
	fi

test: install browser-deps load-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks: a synthetic database in bench/ (kept between runs) of a case of
# BENCH_EVENTS events, one of 1,000 and BENCH_OTHERS more of 1,000, then medians of every
# page and of the CSV export. `make bench-postgres` does the same on BENCH_DATABASE_URL.
# Figures go to bench/*.json; docs/performance.md explains.
BENCH_EVENTS ?= 1000000
BENCH_OTHERS ?= 200
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/casetracker_bench

bench: install load-deps
	@mkdir -p bench
	SQLITE_PATH=bench/bench.sqlite3 $(BIN)/python manage.py migrate -v0
	SQLITE_PATH=bench/bench.sqlite3 $(BIN)/python manage.py bench --events $(BENCH_EVENTS) --others $(BENCH_OTHERS) --json bench/sqlite.json

bench-postgres: install load-deps
	@mkdir -p bench
	createdb -h 127.0.0.1 -U postgres casetracker_bench 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py bench --events $(BENCH_EVENTS) --others $(BENCH_OTHERS) --json bench/postgresql.json

# Only the CSV comparisons (the site, the sqlite3 shell, a django-import-export sample),
# keeping the page figures in bench/sqlite.json.
bench-csv: install
	@mkdir -p bench
	SQLITE_PATH=bench/bench.sqlite3 $(BIN)/python manage.py migrate -v0
	SQLITE_PATH=bench/bench.sqlite3 $(BIN)/python manage.py bench --events $(BENCH_EVENTS) --skip-pages --json bench/sqlite.json

screenshot: install browser-deps
	SCREENSHOT_PATH=docs/timeline.png $(BIN)/python -m pytest -q tests/browser -k screenshot

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache node_modules
