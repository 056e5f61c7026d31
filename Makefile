# Two commands: `make run` serves the bot on SQLite; `make test` runs every check.
# Both create .venv and install the project into it first, so a fresh clone needs only Python.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint types pytest postgres-binaries clean help bench

help:
	@echo "make run   - install into .venv, apply migrations, serve on SQLite under ./data/"
	@echo "make test  - install into .venv, then ruff, mypy and pytest (PostgreSQL included)"
	@echo "make bench - the performance suite against its peers (bench/results.json, results.md)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	@mkdir -p data
	$(PY) -m bot serve

# The PostgreSQL tests start a throwaway server from initdb/pg_ctl. Where the binaries are
# missing and we may use apt-get, install them; otherwise those tests skip and say why.
postgres-binaries:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing PostgreSQL server binaries for the scale-out tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
			|| echo "Could not install PostgreSQL: those tests will be skipped and say why"; \
	else \
		echo "No PostgreSQL binaries and no apt-get as root: PostgreSQL tests will be skipped"; \
	fi

lint: install
	$(VENV)/bin/ruff check bot tests manifests bench
	$(VENV)/bin/ruff format --check bot tests manifests bench

types: install
	$(VENV)/bin/mypy bot bench

pytest: install postgres-binaries
	$(VENV)/bin/pytest -ra

test: lint types pytest

# The performance suite (issue #7): wrk from the system packages if missing (root with
# apt-get), then every server in turn on loopback; writes bench/results.json and results.md.
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing wrk for the benchmark"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
		else \
			echo "wrk is missing: install it (apt-get install wrk, brew install wrk)"; exit 1; \
		fi; \
	}
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
