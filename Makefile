# Statement Monitor. `make run` and `make test` set everything up on a machine with only Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config/monitor.toml
STAMP  := $(VENV)/.installed

.PHONY: run test demo install db train lint bench clean

# torch is pinned in the same pip command as everything else: a plain `torch` pulled in by
# another package would be a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements-datasette.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0" -e ".[test,report]"
	$(BIN)/python -m pip install --quiet "torch==2.13.0" -r requirements-datasette.txt
	HF_HUB_OFFLINE=1 $(BIN)/python -m monitor.classify.e5
	touch $(STAMP)

install: $(STAMP)

db: $(STAMP)
	$(BIN)/monitor --config $(CONFIG) init

run: db
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/monitor --config $(CONFIG) run

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python demo/run_demo.py

train: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/monitor --config $(CONFIG) train

bench: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python benchmarks/classify.py

lint: $(STAMP)
	$(BIN)/ruff check monitor tests benchmarks demo

clean:
	rm -rf $(VENV) data demo/out
