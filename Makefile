# One entry point for readers and CI. `make book` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

.PHONY: help setup book test test-unit test-notebooks test-portable test-portable-sensitive test-book test-browser \
        execute lab bench clean

help:
	@echo "make book     build the HTML book into _build/html (sets up .venv on first use)"
	@echo "make test     unit tests (a chapter run from the wheel included) + nbval (strict) on every chapter + book build"
	@echo "              with warnings as errors + browser test"
	@echo "make test-portable  nbval (strict) on every chapter with one thread (BLAS, OpenMP, torch): run before committing"
	@echo "make execute  re-execute every chapter in place (the only way committed outputs are produced)"
	@echo "make lab      open the chapters in JupyterLab with the project's kernel"
	@echo "make bench    the four benchmark tables (not part of make test; DEVICE=cuda for a GPU), into benchmarks/results"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) scripts/check_python.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dlnlib)" >/dev/null
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

execute: $(STAMP)
	$(BIN)/python scripts/execute_chapters.py $(CHAPTERS)

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

DEVICE ?= cpu
BENCH_ARGS := --device $(DEVICE)
bench: $(STAMP)
	$(BIN)/python benchmarks/depth_sweep.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/batched_runs.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/roofline.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/chapter_costs.py
	$(BIN)/python benchmarks/collect.py

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/browser

NBVAL := $(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
         -p no:cacheprovider -q
# One thread for BLAS (OpenBLAS, MKL) and OpenMP; torch's intra-op pool follows OMP_NUM_THREADS (the kernel inherits
# these variables; tests/test_execute_chapters.py checks that torch and every BLAS pool then run one thread).
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# Chapters whose printed numbers once depended on the thread count: `make test` also runs them with one thread.
SENSITIVE_CHAPTERS := chapters/05_initialization.ipynb

test-notebooks: $(STAMP)
	$(NBVAL) chapters

# The committed outputs must not depend on round-off: the same strict comparison, with one thread instead of several.
test-portable: $(STAMP)
	$(ONE_THREAD) $(NBVAL) chapters

test-portable-sensitive: $(STAMP)
	$(ONE_THREAD) $(NBVAL) $(SENSITIVE_CHAPTERS)

test-book: $(STAMP)
	rm -rf _build
	$(BIN)/jupyter-book build . -W -n --keep-going

# Headless Chromium (Debian's, installed by the script when missing) over the built HTML; needs test-book first.
test-browser: test-book
	sh scripts/install_browser.sh
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider

test: test-unit test-notebooks test-portable-sensitive test-book test-browser

clean:
	rm -rf _build .pytest_cache
