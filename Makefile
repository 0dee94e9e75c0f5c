# Gongzhi — `make demo` and `make test` set everything up themselves on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export GONGZHI_INSECURE_DEV ?= 1

.PHONY: setup demo test lint bench faults clean chromium

setup: $(STAMP) node_modules/.installed chromium

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed (apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements.lock -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium; install it when it is missing (root, or sudo without a password).
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

demo: setup
	$(VENV)/bin/gongzhi migrate --no-input
	$(VENV)/bin/gongzhi demo
	@# The worker writes notifications (the outbox), sends mail and webhooks, and sweeps deadlines.
	$(VENV)/bin/gongzhi worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	  $(VENV)/bin/gongzhi serve --bind 127.0.0.1:8000

test: setup
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) bench/run.py

# Crash gunicorn and a private PostgreSQL cluster during a burst of reports, kill a worker mid-sweep:
# nothing acknowledged lost, nothing doubled (docs/reliability.md). Needs PostgreSQL's server binaries.
faults: setup
	$(PY) bench/faults.py

clean:
	rm -rf $(VENV) node_modules var
