PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench bench-peers clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "uv>=0.5,<1"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/batchorch run --csv examples/companies.csv --agent company-enrichment-agent --concurrency 10 --output out/companies_enriched.csv

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/run_all.py --small

# LLM agents against the peers (common-ai, DocETL: venvs of their own under out/bench/peers/); not part of `bench`.
bench-peers: install
	$(BIN)/python benchmarks/bench_llm_peers.py $(PEERS_ARGS)

clean:
	rm -rf $(VENV) out build *.egg-info
