# jupyter-mlp developer entry points. Extra arguments: make test ARGS="-k foo -x"
.DEFAULT_GOAL := help
SHELL := /bin/bash
ARGS ?=

.PHONY: help bootstrap lab test bench pg-start pg-stop pg-url clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## install system packages, .venv and the editable package (idempotent)
	@bash scripts/bootstrap.sh

lab: ## start JupyterLab on binder/demo.ipynb (PORT=8888, ARGS= passed to jupyter lab)
	@bash scripts/lab.sh $(ARGS)

test: ## run pytest against a private PostgreSQL cluster (ARGS= passed to pytest)
	@bash scripts/test.sh $(ARGS)

bench: ## run the benchmarks on SQLite and PostgreSQL; JSON lines to bench/results/ (ARGS= to bench/tracking.py, server.py and panel.py)
	@bash scripts/bench.sh $(ARGS)

pg-start: ## start the private PostgreSQL test cluster and print its URL
	@bash scripts/pg.sh start

pg-stop: ## stop the private PostgreSQL test cluster
	@bash scripts/pg.sh stop

pg-url: ## print the SQLAlchemy URL of the running test cluster
	@bash scripts/pg.sh url

clean: ## stop the test cluster and remove caches and build output (keeps .venv)
	@bash scripts/pg.sh stop || true
	rm -rf .pg .pytest_cache .ruff_cache .mypy_cache dist build
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
