# The development loop. Every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
INDEX  ?= .qa-index

.PHONY: install run index test test-fast browser lint bench-quality bench-perf bench-load bench-scale clean

install: $(STAMP)

# torch first: 2.13.0 is the CPU wheel on this machine; the project pins a range it satisfies,
# so no dependency can pull a CUDA build afterwards.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	bash scripts/install-lexicon.sh
	touch $@

index: install
	$(VENV)/bin/qa index seeds --index $(INDEX)

run: index
	$(VENV)/bin/qa serve --index $(INDEX) \
	  --example "Wie viele Reservisten umfasst die Teilmobilmachung?" \
	  --example "Wo hat sich Putin mit Janukowitsch solidarisiert?" \
	  --example "Wen traf der Cyberangriff in der Ukraine?" \
	  --example "Warum verstärkt die NATO ihre Ostflanke?"

test: install browser
	$(PY) -m pytest

# Debian's Chromium for the browser tests (never `playwright install`: it downloads).
browser:
	@test -x /usr/bin/chromium || bash scripts/install-chromium.sh

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

bench-quality: $(BENCH_STAMP)
	$(PY) benchmarks/xquad_de.py
	$(PY) benchmarks/conversations.py --grid --source-weights 0,0.1,0.2,0.3,0.5
	$(PY) benchmarks/relevance.py
	$(PY) benchmarks/highlight.py
	$(PY) benchmarks/fusion_features.py
	$(PY) benchmarks/lexical.py --lexical

bench-perf: $(BENCH_STAMP)
	$(PY) benchmarks/perf.py
	$(PY) benchmarks/runtimes.py
	$(PY) benchmarks/filtered.py
	$(PY) benchmarks/parsing.py

bench-load: $(BENCH_STAMP)
	$(PY) benchmarks/load.py

# Milvus against the local store (quality, latency, recall), Ray builds against local
# builds (10k passages, real model), and the "Scaling out" table.
bench-scale: $(BENCH_STAMP)
	$(PY) benchmarks/backends.py
	$(PY) benchmarks/scale.py

clean:
	rm -rf $(INDEX) .pytest_cache .ruff_cache
