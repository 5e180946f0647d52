# StreamUs: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
export PATH := $(CURDIR)/.cache/bin:$(CURDIR)/.venv/bin:$(PATH)

# Test services (throwaway, loopback)
PG_PORT ?= 55432
REDIS_PORT ?= 56379
TEST_ENV := STREAMUS_ENV=test \
	DATABASE_URL=postgres://postgres@127.0.0.1:$(PG_PORT)/streamus \
	REDIS_URL=redis://127.0.0.1:$(REDIS_PORT)/0 \
	ALLOW_PRIVATE_DESTINATIONS=1 \
	PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT)

.PHONY: setup run test check fmt bench clean

setup:
	@scripts/setup.sh

run: setup
	@scripts/run.sh

test: setup
	@scripts/testenv.sh start
	@set -o pipefail; $(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
		scripts/testenv.sh stop; exit $$status

check: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m djlint templates --lint
	$(PY) -m mypy
	STREAMUS_ENV=test $(PY) manage.py makemigrations --check --dry-run

fmt:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	$(PY) -m djlint templates --reformat --quiet || true

bench: setup
	$(PY) -m bench

clean:
	rm -rf var/test .pytest_cache .mypy_cache .ruff_cache
