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

.PHONY: setup run test check fmt bench bench-guests clean

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

# Synthetic LiveKit guests publishing pre-encoded VP8 simulcast + Opus (bench/guests, Go);
# rebuilt only when its sources change.
GUESTS_SRC := $(wildcard bench/guests/*.go) bench/guests/go.mod bench/guests/go.sum
.cache/bin/bench-guests: $(GUESTS_SRC)
	mkdir -p .cache/bin && cd bench/guests && go build -o ../../.cache/bin/bench-guests .

bench-guests: .cache/bin/bench-guests

clean:
	rm -rf var/test .pytest_cache .mypy_cache .ruff_cache
