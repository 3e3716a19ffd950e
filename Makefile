# The two commands that matter: `make demo` and `make test`. Each creates .venv on first use
# and installs the project into it, so a fresh clone needs nothing but Python >= 3.11.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-browser lint bench venv clean

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): installing tensorcalc and its test and nn extras (once; about half a minute)"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e ".[test,nn]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)
	@echo "$(VENV) is ready."

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tensorcalc.demo

test: $(STAMP)
	$(BIN)/python -m pytest

# End-to-end tests of the web page in headless Chromium (Debian's chromium + chromedriver).
test-browser: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) scripts/install-browser.sh
	$(BIN)/python -m pytest tests/web -rs

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
