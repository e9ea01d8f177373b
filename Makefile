# The two README commands:  make demo  (ingest -> features -> train -> serve a prediction)
#                           make test  (lint + format check + the whole test suite on 2 workers; what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench synth clean web chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

node_modules/.installed-stamp: package.json $(wildcard package-lock.json)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Pitwall Studio (web/): npm packages, the build (committed in pitwall/webui/static, checked
# current by tests/browser/test_webui_build.py), and Debian's Chromium for the browser tests.
web/node_modules/.installed-stamp: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: web/node_modules/.installed-stamp
	cd web && npm run build

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

demo: $(STAMP)
	$(BIN)/pitwall demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) $(if $(wildcard package.json),node_modules/.installed-stamp) web/node_modules/.installed-stamp chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) node_modules web/node_modules cdk.out .pytest_cache
