# snn-bench: `make bench` runs the benchmark, `make test` the tests; both set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The torch build to install. The default is the CPU wheel; for a GPU box pass the CUDA build,
# e.g. make setup TORCH_SPEC="torch==2.13.0" PIP_TORCH_ARGS="--index-url <CUDA wheel index>".
TORCH_SPEC ?= torch==2.13.0
PIP_TORCH_ARGS ?=
STAMP := $(VENV)/.snn-bench-installed

# Data: a real DVS Gesture root from $SNN_BENCH_DATA, else the synthetic set, kept once per user
# in $SNN_BENCH_CACHE/synthetic (default ~/.cache/snn-bench/synthetic; see README).
DATA_ROOT ?= $(if $(SNN_BENCH_DATA),$(SNN_BENCH_DATA),synthetic)
REPORTS ?= reports
SWEEP ?= bench/configs/default.toml

.PHONY: setup setup-libraries test test-spawn test-ray gpu-check study study-approx bench bench-libraries bench-approx bench-save bench-compare bench-deepr bench-forward bench-sparse data browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(PIP_TORCH_ARGS) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q -m "not ray"

# The same suite as macOS and Windows start processes: every DataLoader worker and group run is
# spawned, a fresh interpreter that imports what it unpickles (tests/conftest.py reads
# SNN_BENCH_START_METHOD). About twice make test's time (each spawn imports torch); CI runs it.
test-spawn: setup
	SNN_BENCH_START_METHOD=spawn $(PY) -m pytest -q -m "not ray"

# The Ray executor against a real local cluster (ray start --head on 127.0.0.1): installs the
# [ray] extra (about 350 MB) into .venv first.
test-ray: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,ray]"
	$(PY) -m pytest -q -m ray

# The SNN libraries of `make bench-libraries` (pyproject's `libraries` extra), each installed with
# the installed torch as a constraint so none can move it; one that cannot install is recorded in
# $(VENV)/snn-bench-libraries.json as "not installable: <reason>" and its points are skipped with
# that reason. Delete that file to try again.
LIBRARIES_STATUS := $(VENV)/snn-bench-libraries.json
setup-libraries: $(LIBRARIES_STATUS)

$(LIBRARIES_STATUS): $(STAMP)
	$(PY) -m snn.libraries.install

# The seed network in every library, timed side by side (bench/configs/libraries.toml), checked
# against snnTorch's notebook loop (spikes per layer, gradients, memory), and its report with the
# "Libraries" section, in $(REPORTS)/libraries; rerunning resumes.
bench-libraries: data setup-libraries
	$(PY) -m bench sweep bench/configs/libraries.toml --data-root $(DATA_ROOT) --out $(REPORTS)/libraries; status=$$?; \
	if [ $$status -le 1 ]; then $(PY) -m bench check bench/configs/libraries.toml --data-root $(DATA_ROOT) \
		--out $(REPORTS)/libraries || status=$$?; $(PY) -m bench report $(REPORTS)/libraries || exit $$?; fi; exit $$status

# The approximate variants (bf16 autocast, sparseprop's Linear kernel: snn.approx) beside the
# fastest exact pipeline (bench/configs/approx.toml), measured against it on one batch, and their
# report in $(REPORTS)/approx. Judged by accuracy, not equality: see `make study-approx`.
bench-approx: data setup-libraries
	$(PY) -m bench sweep bench/configs/approx.toml --data-root $(DATA_ROOT) --out $(REPORTS)/approx; status=$$?; \
	if [ $$status -le 1 ]; then $(PY) -m bench check bench/configs/approx.toml --data-root $(DATA_ROOT) \
		--out $(REPORTS)/approx || status=$$?; $(PY) -m bench report $(REPORTS)/approx || exit $$?; fi; exit $$status

# Debian's chromium for the report's browser test (skipped, with the reason, without it).
browser:
	.ci/install-chromium

# Synthetic data only when no real root is configured (SNN_BENCH_DATA); kept between runs.
data: setup
ifeq ($(SNN_BENCH_DATA),)
	$(PY) -m bench data synth --data-root synthetic --if-missing
else
	@echo "using real data from SNN_BENCH_DATA=$(SNN_BENCH_DATA)"
endif

# The default sweep, then its report; rerunning resumes (completed points are kept in
# $(REPORTS)/default). A failed point is an error row: the report is rendered anyway and lists it.
bench: data
	$(PY) -m bench sweep $(SWEEP) --data-root $(DATA_ROOT) --out $(REPORTS)/default; status=$$?; \
	if [ $$status -le 1 ]; then $(PY) -m bench report $(REPORTS)/default || exit $$?; fi; exit $$status

# The CUDA checks (bench/gpu_check.py): the equality tests with their CUDA cases, the zero-host-sync
# check of exact DeepR's update, and the fastest pipeline against the notebook's on the device,
# into $(REPORTS)/gpu-check. Without a CUDA device it says so in one line. Needs a CUDA build of
# torch: make setup TORCH_SPEC=... PIP_TORCH_ARGS=... (above).
gpu-check: setup
	$(PY) -m bench.gpu_check --out $(REPORTS)/gpu-check

# The convergence study (bench/configs/study.toml): trains every run, judges the user's DeepR
# claims, renders $(REPORTS)/study/report/study.html; rerunning resumes.
study: data
	$(PY) -m bench study bench/configs/study.toml --data-root $(DATA_ROOT) --out $(REPORTS)/study

# The approximate variants' time to accuracy against the fastest exact pipeline
# (bench/configs/study-approx.toml): $(REPORTS)/study-approx/report/study.html; rerunning resumes.
study-approx: data setup-libraries
	$(PY) -m bench study bench/configs/study-approx.toml --data-root $(DATA_ROOT) --out $(REPORTS)/study-approx

# pytest-benchmark: `make bench-save` on main, then `make bench-compare` on a branch.
# bench-compare fails when a benchmark's median is more than BENCH_FAIL_PERCENT slower than the
# saved run and the two runs' own noise cannot explain it (bench/report/pytest_benchmarks.py:
# a bootstrap CI over each run's rounds, the report's rule), and timing it again alone in a
# fresh process shows it again (--confirm: a process moves a 35-us benchmark by more than its
# rounds can show). Its default is the project's one
# regression threshold, set in bench/regression.py; on a quiet machine pass a smaller one:
# make bench-compare BENCH_FAIL_PERCENT=10.
BENCH_FAIL_PERCENT ?= $(shell $(PYTHON) bench/regression.py)
BENCH_OPTS := -q --benchmark-enable --benchmark-group-by=group \
	--benchmark-columns=median,iqr,min,rounds -p no:cacheprovider

bench-save: setup
	$(PY) -m pytest tests/benchmarks $(BENCH_OPTS) --benchmark-autosave --benchmark-save-data

BENCH_CURRENT := .benchmarks/compare-current.json

bench-compare: setup
	$(PY) -m pytest tests/benchmarks $(BENCH_OPTS) --benchmark-compare --benchmark-json=$(BENCH_CURRENT)
	$(PY) -m bench.report.pytest_benchmarks --current $(BENCH_CURRENT) --baseline .benchmarks \
		--threshold $(BENCH_FAIL_PERCENT) --confirm

# DeepR variants against each other and the elementwise floor only, as ratios from one run.
bench-deepr: setup
	$(PY) -m pytest tests/benchmarks/test_rewiring.py $(BENCH_OPTS)

# Forward variants: forward+backward per layer type, and the fast forward against its target.
bench-forward: setup
	$(PY) -m pytest tests/benchmarks/test_forward.py $(BENCH_OPTS)

# forward:sparse against the dense forward across connectivity, and the crossover where it wins.
bench-sparse: setup
	$(PY) -m pytest tests/benchmarks/test_sparse.py $(BENCH_OPTS)

clean:
	test ! -x $(PY) || rm -rf "$$($(PY) -c 'from bench.config.settings import synthetic_root; print(synthetic_root())')" \
		"$$($(PY) -c 'from bench.config.settings import frame_cache_root; print(frame_cache_root())')"
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks *.egg-info
	find $(REPORTS) -mindepth 1 ! -name README.md -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
