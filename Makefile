# StreamUs: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
export PATH := $(CURDIR)/.cache/bin:$(CURDIR)/.venv/bin:$(PATH)

# Test services (throwaway, loopback; scripts/test.sh gives the side line its own at +100)
PG_PORT ?= 55432
REDIS_PORT ?= 56379

.PHONY: setup run test check fmt bench bench-guests clean mobile-schema

setup:
	@scripts/setup.sh

run: setup
	@scripts/run.sh

# The whole suite runs in two lines (scripts/test.sh): the main pytest run, then the mobile app's checks
# and web build followed by the deployment tests. PYTEST_ARGS runs just
# `pytest $(PYTEST_ARGS)` (with MOBILE=1, the app's checks and build first); MOBILE=0 leaves the app out.
MOBILE ?= $(if $(PYTEST_ARGS),0,1)
export MOBILE

test: setup
	@if [ -n "$(PYTEST_ARGS)" ] && [ "$(MOBILE)" = 1 ]; then scripts/mobile.sh test && scripts/mobile.sh web; fi
	@PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT) scripts/testenv.sh start
	@PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT) scripts/test.sh $(PYTEST_ARGS); status=$$?; \
		PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT) scripts/testenv.sh stop; exit $$status

check: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m djlint templates --lint
	$(PY) -m mypy
	set -o pipefail; .venv/bin/lint-imports --no-cache 2>&1 | sed -n "/BROKEN/,\$$p;/^Contracts:/p"
	STREAMUS_ENV=test $(PY) manage.py makemigrations --check --dry-run

fmt:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	$(PY) -m djlint templates --reformat --quiet || true

# Dump the server's OpenAPI schema into mobile/openapi/schema.json and regenerate the app's client types.
mobile-schema: setup
	@scripts/mobile.sh schema

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
