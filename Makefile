# Set-up and everyday tasks. Each target creates the virtual environment
# (.venv) and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench i18n

$(STAMP): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[export,test]'
	touch $(STAMP)

install: $(STAMP)

# Generate a labelled image set, train a classifier, export it to int8 and
# run the camera loop on a generated video, all offline.
demo: $(STAMP)
	$(BIN)/lince demo

# The whole test suite. Installs the system services its tests talk to
# (an MQTT broker, a headless browser) when run as root.
test: $(STAMP)
	scripts/install-test-services.sh
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[export,test,bench]'
	$(BIN)/python bench/run_all.py

# Recompile the Spanish catalog after editing lince/locale/es/LC_MESSAGES/lince.po.
i18n: $(STAMP)
	$(BIN)/pybabel compile --domain lince --directory lince/locale --use-fuzzy
