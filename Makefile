# One bootstrap for everything: `make test` and `make lab` create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# nbgrader calls `alembic` through PATH: keep the venv's bin/ first.
export PATH := $(abspath $(BIN)):$(PATH)
STAMP  := $(VENV)/.installed

PORT      ?= 8888
# The edition: `make lab LANG=ko` (or a Korean locale) opens the Korean one.
EDITION   := $(if $(filter ko%,$(LANG)),ko,en)
BROWSER   ?= yes
NOTEBOOKS ?=

.PHONY: install test lab lab-instructor clean classroom

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest tests --durations=15

# JupyterLab on the student release: make lab [LANG=ko] [PORT=8899] [BROWSER=no]
# [NOTEBOOKS=dir]
lab: $(STAMP)
	$(if $(filter ko,$(LANG)),LANG=C.UTF-8) $(BIN)/python -m autograder.lab \
		--lang $(EDITION) --port $(PORT) $(if $(NOTEBOOKS),--root $(NOTEBOOKS)) \
		$(if $(filter no,$(BROWSER)),--no-browser)

# JupyterLab for instructors: the formgrader and nbgrader's assignment tools, on the
# whole course (masters in solutions/): make lab-instructor [PORT=8899] [BROWSER=no]
lab-instructor: $(STAMP)
	$(if $(filter ko,$(LANG)),LANG=C.UTF-8) $(BIN)/python -m autograder.lab \
		--instructor --lang $(EDITION) --port $(PORT) \
		$(if $(filter no,$(BROWSER)),--no-browser)

# JupyterHub for a class on this machine, as root (README: "A class on JupyterHub").
# Settings through the environment: make classroom LSTM_CLASSROOM_PORT=8000 …
LSTM_CLASSROOM_PREFIX ?= /opt/lstm-classroom
classroom:
	LSTM_CLASSROOM_PREFIX=$(LSTM_CLASSROOM_PREFIX) classroom/setup.sh
	LSTM_CLASSROOM_PREFIX=$(LSTM_CLASSROOM_PREFIX) \
		exec $(LSTM_CLASSROOM_PREFIX)/venv/bin/jupyterhub -f $(abspath classroom/jupyterhub_config.py)

clean:
	rm -rf .course solutions_executed artifacts .pytest_cache
