# Dispute desk: `make run` to try it, `make test` to check it. Run `make help` for the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/dispute_desk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

# A Python 3.12 or newer: PATH first, then pyenv's versions. Django 6.1 needs 3.12+.
define find_python
for c in python3.13 python3.12 python3.14 python3; do \
  p=$$(command -v $$c 2>/dev/null) || continue; \
  $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; exit 0; }; \
done; \
root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
for p in $$(ls -d $$root/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do \
  $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; exit 0; }; \
done; exit 1
endef

.PHONY: help venv run prod test test-fast test-chaos test-e2e fuzz-workflow lint format migrate seed browser gettext messages check-deploy bench bench-api loadtest clean

help:
	@echo "make run         start web, Celery worker and beat on http://127.0.0.1:$(PORT) with demo data"
	@echo "make prod        the production settings on this machine: PostgreSQL, Redis, gunicorn, Celery (docs/operations.md)"
	@echo "make test        the whole test suite against PostgreSQL and Redis"
	@echo "make test-fast   the suite without the browser and chaos tests"
	@echo "make test-e2e    only the browser (Playwright + Chromium) tests"
	@echo "make test-chaos  only the chaos tests: a private Redis stopped, Celery workers killed"
	@echo "make fuzz-workflow  the dispute workflow's state machine, fuzzed: 2 processes x 5000 sequences or 1 hour"
	@echo "make lint        ruff check and format check"
	@echo "make messages    compile the translations (locale/*/LC_MESSAGES/django.po) into .mo files"
	@echo "make bench       the sweep and photo benchmarks, each against its floor"
	@echo "make bench-api   the API and page reads under gunicorn, against a bare Django view"
	@echo "make loadtest    200 users on gunicorn + Celery, production settings (LOAD_SECONDS=120)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@py=$$($(find_python)) || { echo "No Python 3.12 or newer found on PATH or in pyenv. Install Python 3.13 and try again." >&2; exit 1; }; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$py"; $$py -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# Debian's Chromium for the browser tests; Playwright's own browser download is not used.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium'." >&2; exit 1; \
	  fi; \
	fi

# GNU gettext's msgfmt compiles the translations: Debian's gettext when it is missing, as for chromium.
gettext:
	@if ! command -v msgfmt >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's gettext to compile the translations"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; \
	  else \
	    echo "Compiling the translations needs msgfmt: run 'sudo apt-get install gettext'." >&2; exit 1; \
	  fi; \
	fi

# The catalogs compiled into .mo files (build output, not in git); an up-to-date one is left as it is.
# The local settings whatever the target exports: compiling needs only LOCALE_PATHS.
messages: venv gettext
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py compilemessages -v0 \
	  --ignore=.venv --ignore=var --ignore=staticfiles --ignore=node_modules

# DEBUG is off, as in production (the site's own error pages); `make run DEBUG=true` for Django's
# debug pages while developing.
run: DEBUG ?= false
run: venv messages
	@mkdir -p var/celery/broker var/celery/processed
	DEBUG=$(DEBUG) $(PY) manage.py migrate --noinput
	DEBUG=$(DEBUG) $(PY) manage.py seed_demo
	@echo
	@echo "  Dispute desk is starting on http://127.0.0.1:$(PORT)/ (DEBUG=$(DEBUG); make run DEBUG=true for debug pages)"
	@echo "  Demo logins (password: demo): buyers alice, bob; sellers carol, dave;"
	@echo "  dispute team erin, frank (admin at /admin/); platform account platform."
	@echo "  API docs: http://127.0.0.1:$(PORT)/api/docs/   Stop with Ctrl-C."
	@echo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PORT=$(PORT) DEBUG=$(DEBUG) $(VENV)/bin/honcho -f Procfile start

# The production settings tried on this machine (docs/operations.md): PostgreSQL and Redis here, gunicorn
# with 4 workers, a Celery worker and beat (Procfile.prod), mail into a local sink. It sets only what a
# local trial needs, and says which and why. Not a deployment: no TLS, a key kept in var/.
PROD_DATABASE_URL ?= postgres://root@127.0.0.1:5432/dispute_desk_prod
PROD_REDIS_URL ?= redis://127.0.0.1:6379/5
PROD_MAIL_PORT ?= 1025
PROD_DB_NAME = $(lastword $(subst /, ,$(PROD_DATABASE_URL)))
PROD_DB_SERVER = $(patsubst %/$(PROD_DB_NAME),%,$(PROD_DATABASE_URL))
# Read where it is used, so it never shows in make's echo of a command.
PROD_SECRET = SECRET_KEY="$$(cat var/prod-secret-key)"

prod: export DJANGO_SETTINGS_MODULE = config.settings.production
prod: export DATABASE_URL = $(PROD_DATABASE_URL)
prod: export REDIS_URL = $(PROD_REDIS_URL)
prod: export SITE_URL = https://localhost:$(PORT)
prod: export EMAIL_URL = smtp://127.0.0.1:$(PROD_MAIL_PORT)
prod: export SECURE_SSL_REDIRECT = false
prod: export PROMETHEUS_MULTIPROC_DIR = $(CURDIR)/var/prometheus
prod: export MEDIA_ROOT = $(CURDIR)/var/prod-media
prod: venv messages var/prod-secret-key
	@$(PY) -c 'import aiosmtpd' 2>/dev/null || { echo "make prod sends mail to a local sink, aiosmtpd: $(PY) -m pip install aiosmtpd" >&2; exit 1; }
	@echo "make prod: config.settings.production on this machine. Set for this local trial, and why:"
	@echo "  SECRET_KEY=(var/prod-secret-key)  production refuses a key under 50 characters; made once, never committed"
	@echo "  DATABASE_URL=$(DATABASE_URL)  production runs on PostgreSQL only (created when missing)"
	@echo "  REDIS_URL=$(REDIS_URL)  production needs Redis: the cache and Celery's broker"
	@echo "  SITE_URL=$(SITE_URL)  production wants its https:// address for links in mail; this trial serves plain HTTP"
	@echo "  EMAIL_URL=$(EMAIL_URL)  production sends by SMTP: a local sink (aiosmtpd) prints each message here"
	@echo "  SECURE_SSL_REDIRECT=false  no TLS proxy in front on this machine; a deployment keeps it on"
	@echo "  PROMETHEUS_MULTIPROC_DIR=var/prometheus  where gunicorn's workers and Celery keep metrics; emptied now"
	@echo "  MEDIA_ROOT=var/prod-media  this trial's photos, apart from make run's"
	@psql "$(PROD_DATABASE_URL)" -Atqc 'SELECT 1' >/dev/null 2>&1 \
	  || { echo "Creating the database $(PROD_DB_NAME)"; createdb --maintenance-db="$(PROD_DB_SERVER)/postgres" "$(PROD_DB_NAME)"; }
	@rm -rf var/prometheus && mkdir -p var/prometheus var/prod-media
	@$(PROD_SECRET) $(PY) manage.py migrate --noinput
	@$(PROD_SECRET) $(PY) manage.py collectstatic --noinput -v0
	@# seed_demo refuses the production settings (it makes known passwords): the local ones load it here.
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_demo \
	  || echo "  seed_demo refused (above); starting with the data already there"
	@echo
	@echo "  Dispute desk (production settings) is starting on http://localhost:$(PORT)/ (probes: /healthz /readyz /metrics)"
	@echo "  Gunicorn $(if $(wildcard config/gunicorn.py),with config/gunicorn.py,without a config file), 4 workers."
	@echo "  The team must set up two-step sign-in here, as in production. Stop with Ctrl-C."
	@echo
	@$(PROD_SECRET) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PORT=$(PORT) MAIL_PORT=$(PROD_MAIL_PORT) \
	  GUNICORN_CONFIG="$(if $(wildcard config/gunicorn.py),-c config/gunicorn.py)" $(VENV)/bin/honcho -f Procfile.prod start

var/prod-secret-key:
	@mkdir -p var
	@umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(64))' > $@

test: venv browser messages
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: venv messages
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -m "not e2e and not slow" $(PYTEST_ARGS)

test-chaos: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -m slow $(PYTEST_ARGS)

test-e2e: venv browser messages
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

# Two pytest processes, each on its own database (pytest-django makes test_dispute_desk_fuzz1 and _fuzz2)
# with its own seed, derandomize off. Each log ends with how many sequences it ran; fails if either fails.
FUZZ_EXAMPLES ?= 5000
FUZZ_SECONDS ?= 3600
ifeq ($(origin FUZZ_SEED), undefined)
FUZZ_SEED := $(shell date +%s)
endif
fuzz-workflow: venv
	@mkdir -p var
	@echo "Fuzzing the dispute workflow: 2 processes, each $(FUZZ_EXAMPLES) sequences or $(FUZZ_SECONDS) s;" \
	  "seeds $(FUZZ_SEED) and $$(( $(FUZZ_SEED) + 1000000 )); logs in var/fuzz-workflow-1.log and -2.log"
	@pids=""; for n in 1 2; do \
	  DATABASE_URL=$(TEST_DATABASE_URL)_fuzz$$n REDIS_URL=$(TEST_REDIS_URL) \
	  WORKFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) WORKFLOW_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  WORKFLOW_FUZZ_SEED=$$(( $(FUZZ_SEED) + (n - 1) * 1000000 )) \
	  $(VENV)/bin/pytest tests/disputes/test_workflow_machine.py -q > var/fuzz-workflow-$$n.log 2>&1 & pids="$$pids $$!"; \
	done; \
	failed=0; n=0; for pid in $$pids; do \
	  n=$$((n + 1)); \
	  if wait $$pid; then result=passed; else result=FAILED; failed=1; fi; \
	  echo "fuzz $$n $$result: $$(grep -h 'sequences,' var/fuzz-workflow-$$n.log | sed 's/^workflow machine: //')"; \
	  if [ $$result = FAILED ]; then sed -n '/= FAILURES =/,$$p' var/fuzz-workflow-$$n.log | head -n 150; fi; \
	done; \
	exit $$failed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The sweep and the photo pipeline, each against its own floor measured in the same run.
bench: venv
	@for b in bench/sweep_bench.py bench/photo_bench.py; do \
	  if [ -f $$b ]; then DATABASE_URL=$(TEST_DATABASE_URL) $(PY) $$b || exit 1; fi; \
	done

# Mixed load on the production stack: 200 users (bench/load/), database dispute_desk_load, Redis DB 8.
LOAD_SECONDS ?= 120
loadtest: venv
	LOAD_SECONDS=$(LOAD_SECONDS) $(PY) bench/load/loadtest.py

# The API and page reads under gunicorn, against a bare Django view in the same run (needs wrk).
bench-api: venv
	@command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk
	$(PY) bench/api_bench.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
	find locale -name '*.mo' -delete
