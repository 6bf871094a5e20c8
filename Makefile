# Two entry points for newcomers: `make demo` (whole pipeline on the bundled sample, offline)
# and `make test`. Both create .venv and install everything they need.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synth-installed

.PHONY: install demo test test-fast lint bench

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

test: install lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# The suite minus the tests marked slow (kill trials, end-to-end runs with the real model, Chroma and
# the fake APIs); no lint.
test-fast: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow"

# ruff: pyflakes, pycodestyle and bugbear (settings in pyproject.toml); vulture: code nothing reaches.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/vulture synth spiders index --min-confidence 80 --ignore-names exc

# The quick benchmarks (minutes). The large index figures (10k–100k records) are separate,
# long runs: see the commands at the top of bench/bench_index.py and docs/index.md.
bench: install
	HF_HUB_OFFLINE=1 $(PY) bench/bench_pubmed_parse.py
	HF_HUB_OFFLINE=1 $(PY) bench/bench_politeness.py
	HF_HUB_OFFLINE=1 $(PY) bench/bench_search_quality.py
	HF_HUB_OFFLINE=1 $(PY) bench/bench_mechanisms.py --skip-speed
