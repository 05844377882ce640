# Two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-run

.PHONY: install demo test test-slow bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,train]'
	touch $(STAMP)

# The sample is ~50 pages, so a fifth of the documents go to validation (default 1%).
demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	$(BIN)/ccforge run --input 'data/sample/*.warc.gz' --output $(DEMO_OUT) --set tokenize.val_fraction=0.2
	$(BIN)/ccforge inspect $(DEMO_OUT) --validate
	$(BIN)/ccforge train $(DEMO_OUT) --preset tiny --out $(DEMO_OUT)/model
	$(BIN)/ccforge sample $(DEMO_OUT)/model --prompt "The" --max-new-tokens 40 --num-samples 2 --top-k 50
	@echo "outputs: $(DEMO_OUT)/documents $(DEMO_OUT)/tokens $(DEMO_OUT)/manifest.json"
	@echo "         $(DEMO_OUT)/stats.json $(DEMO_OUT)/report.html $(DEMO_OUT)/model (checkpoint, metrics.jsonl, loss.png)"

# One pytest worker per core, whole test modules at a time (their module fixtures run once),
# in collection order: conftest puts the modules that run whole jobs first. `make test` leaves
# out the tests marked slow (a whole job each, over 10 s here); `make test-slow` runs them,
# and CI runs both.
PYTEST := $(BIN)/python -m pytest tests -n auto --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	$(PYTEST) -m "not slow"

test-slow: $(STAMP)
	$(PYTEST) -m slow

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; \
	done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
