# Forecourt: the commands the README gives.
#   make run    start the web app and a worker on embedded defaults (no servers)
#   make test   install what the tests need and run the whole suite
#   make bench  run the benchmarks (results go to docs/benchmarks.md)
#   make lint   ruff check and format check

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8050
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install install-dev run test browser-deps services lint bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): setup.cfg | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

# The test, lint and benchmark tools (pytest, Playwright, ruff, DuckDB).
$(DEV_STAMP): setup.cfg $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: install
	@mkdir -p instance
	$(BIN)/flask --app wsgi db upgrade
	@echo ""
	@echo "Forecourt is starting on http://127.0.0.1:$(PORT)"
	@echo "Open it and register: the first account becomes the admin."
	@echo "Or create one here:  $(BIN)/flask --app wsgi create-user NAME --role admin"
	@echo "Press Ctrl-C to stop the web app and the worker."
	@echo ""
	@trap 'kill 0' INT TERM; \
	$(BIN)/celery -A workers worker --beat --loglevel=INFO --concurrency=2 \
		--schedule instance/celerybeat-schedule & \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 \
		--graceful-timeout 5 --access-logfile - wsgi:app & \
	wait

# Debian's Chromium for the browser test; Playwright drives it and never
# downloads a browser of its own.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing; run: sudo apt-get install chromium"; \
		fi; \
	fi

test: install-dev browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The sqlite3 shell is the baseline of the SQLite ingest benchmark.
bench-deps:
	@if ! command -v sqlite3 >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; \
		else \
			echo "sqlite3 is missing; run: sudo apt-get install sqlite3"; \
		fi; \
	fi

# BENCH_QUICK=1 make bench runs the 100,000-row smoke run without --big.
bench: install-dev bench-deps
	$(BIN)/python -m benchmarks.run_all --big

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
