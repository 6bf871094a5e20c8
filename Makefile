# Two entry points for newcomers: `make demo` (whole pipeline on the bundled sample, offline)
# and `make test`. Both create .venv and install everything they need.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synth-installed

.PHONY: install demo test bench

install: $(STAMP)

# torch first, pinned: the CPU wheel. Unpinned, sentence-transformers pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/synth demo demo-review

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

bench: install
	HF_HUB_OFFLINE=1 $(PY) bench/run_all.py
