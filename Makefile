# One entry point for readers and CI. `make book` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

.PHONY: help setup book test test-unit test-notebooks test-portable test-portable-sensitive test-book test-browser \
        execute lab bench paper clean

help:
	@echo "make book     build the HTML book into _build/html (sets up .venv on first use)"
	@echo "make test     unit tests (a chapter run from the wheel included) + nbval (strict) on every chapter + book build"
	@echo "              with warnings as errors + browser test"
	@echo "make test-portable  nbval (strict) on every chapter with one thread (BLAS, OpenMP, torch): run before committing"
	@echo "make execute  re-execute every chapter in place (the only way committed outputs are produced)"
	@echo "make lab      open the chapters in JupyterLab with the project's kernel"
	@echo "make bench    the five benchmark tables (not part of make test; DEVICE=cuda for a GPU), into benchmarks/results"
	@echo "make paper    every chapter at SCALE=paper on the GPU (papermill, into _paper/); its table into benchmarks/RESULTS.md"
	@echo "              (ONLY=\"04 05\" some chapters, TIMEOUT=s per chapter, MNIST=folder of full MNIST, ALLOW_CPU=1 without a GPU,"
	@echo "              DRY=1 print the plan and check the chapters' parameters cells, executing nothing)"

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
	$(BIN)/python benchmarks/step_overhead.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/chapter_costs.py
	$(BIN)/python benchmarks/collect.py

# Every chapter at SCALE="paper" with papermill, each in a fresh kernel, into _paper/ (git-ignored), with its wall time,
# peak GPU memory and checks in benchmarks/results/paper_scale-cuda.md and RESULTS.md ("GPU"). Without a GPU it
# refuses, unless ALLOW_CPU=1 (the table then goes under "CPU"). ONLY="04 05": some chapters; TIMEOUT: seconds per
# chapter (default 900); MNIST: a folder of the full MNIST IDX files, passed to the chapters as MNIST_PATH; DRY=1:
# execute nothing, print the plan and check that every chapter declares SCALE in its parameters cell (CI runs this).
TIMEOUT ?= 900
paper: $(STAMP)
	$(BIN)/python benchmarks/paper_scale.py --timeout $(TIMEOUT) $(if $(ONLY),--chapters $(ONLY)) \
	    $(if $(MNIST),--mnist-path $(MNIST)) $(if $(filter-out 0,$(ALLOW_CPU)),--allow-cpu) \
	    $(if $(filter-out 0,$(DRY)),--dry-run)

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
