# Task runner. Run inside a virtual environment (python -m venv .venv && . .venv/bin/activate).
PYTHON ?= python
PIP := $(PYTHON) -m pip
# The wheel's platform tag: any Linux with glibc 2.17 or newer (CentOS 7+, Debian 8+, Ubuntu 14.04+).
MANYLINUX ?= manylinux_2_17

.PHONY: develop lint test test-rust test-python bench bench-quick soak fmt clean eval wheel lock

## develop: build the Rust extension in release mode and install the package editable, with test and lint tools
## (at the versions pinned in requirements/dev.lock, as CI)
develop:
	$(PIP) install -q -c requirements/dev.lock -e '.[test,lint,bench]'

## lock: re-pin requirements/dev.lock in a fresh environment, after a dependency changes (.ci/lock)
lock:
	bash .ci/lock

## wheel: the abi3 wheel (CPython >= 3.11; installing it needs no Rust) in dist/, linked by zig
## against glibc 2.17 so that its manylinux tag holds (maturin's compliance check, auditwheel's rules)
wheel:
	$(PIP) install -q 'maturin>=1.7,<2' 'ziglang>=0.13'
	$(PYTHON) -m maturin build --release --locked --zig --compatibility $(MANYLINUX) --out dist

## test: everything, Rust then Python (what CI runs, with lint)
test: develop test-rust test-python

test-rust:
	cargo test -p vsa_core --release --quiet

test-python:
	$(PYTHON) -m pytest

## lint: formatting, clippy, ruff, mypy strict, the stub against the binary, layer contracts
lint:
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -m mypy.stubtest vsa_stream._core
	lint-imports

## eval: one fresh seed of the synthetic suite and the real dev set of ../shared, one table (docs/eval.md); exit 1 below tests/dev_floors.json
eval:
	vsa-stream eval $$(mktemp -d) --generate --quick --real ../shared/data/dev --floors tests/dev_floors.json

## fmt: apply cargo fmt and ruff format
fmt:
	cargo fmt --all
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# Scripts measuring what `vsa-stream bench` does not (thread scaling, geometry, detector models,
# fire); bench_tracker, bench_flow, bench_alerts, bench_scan and bench_detect_shape are parts of
# `vsa-stream bench` now (they still run alone).
BENCHES := $(filter-out bench/bench_tracker.py bench/bench_flow.py bench/bench_alerts.py \
	bench/bench_scan.py bench/bench_detect_shape.py, \
	$(sort $(wildcard bench/bench_*.py)))

## bench: `vsa-stream bench all` (kernels, capacity, alerts, scan, detector), then the other scripts
bench:
	$(PYTHON) -m vsa_stream bench all
	@for b in $(BENCHES); do echo "== $$b"; $(PYTHON) $$b || exit 1; done

## bench-quick: the same at a tiny size (CI checks they run), and a 2-minute soak
bench-quick:
	$(PYTHON) -m vsa_stream bench all --quick
	@for b in $(BENCHES); do echo "== $$b --quick"; $(PYTHON) $$b --quick || exit 1; done
	@echo "== bench/soak.py --quick"; $(PYTHON) bench/soak.py --quick

## soak: 8 live streams for 30 minutes, each server restarted every minute (needs ffmpeg)
soak:
	$(PYTHON) bench/soak.py

clean:
	cargo clean
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache bench/results
