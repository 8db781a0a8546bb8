# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LANGUAGES := de en ar uk fa tr ru
PYBABEL := $(BIN)/pybabel

.PHONY: run test lint i18n catalogs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory catalogs
	touch $(STAMP)

## Start the bot: real transports when configured, else the terminal chat on the demo network.
run: $(STAMP)
	$(BIN)/lotse run --demo-chat

## Run the whole test suite (SQLite; PostgreSQL too when LOTSE_TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers db lotse
	$(BIN)/lint-imports

## Extract strings, update every catalog, compile them.
i18n: $(STAMP)
	$(PYBABEL) extract -F babel.cfg -k N_ -k _ -k ngettext:1,2 -k pgettext:1c,2 \
		--no-location --sort-output --project=lotse -o locales/messages.pot .
	for lang in $(LANGUAGES); do \
		if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
			$(PYBABEL) update -i locales/messages.pot -d locales -l $$lang --no-fuzzy-matching --ignore-obsolete; \
		else \
			$(PYBABEL) init -i locales/messages.pot -d locales -l $$lang; \
		fi; \
	done
	$(BIN)/python -m bot.catalog_tools fill-source
	$(MAKE) --no-print-directory catalogs
	$(BIN)/python -m bot.catalog_tools || echo "Some catalogs have gaps (listed above)."

## Compile the catalogs (.po → .mo).
catalogs:
	$(PYBABEL) compile -d locales --statistics 2>&1 | grep -v "^compiling" || true

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
