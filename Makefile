# Candor: `make run` starts everything, `make test` runs every test. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BOT_VENV := .venv-bot
HUB_VENV := .venv-hub
BOT_BIN := $(BOT_VENV)/bin
HUB_BIN := $(HUB_VENV)/bin
MODEL = models/$(shell scripts/model-name).tar.gz
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install run train retrain promote rollback models test lint validate test-rasa test-bot test-quality test-hub test-hub-pg eval bench bench-hub bench-embed screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(BOT_VENV)/.installed $(HUB_VENV)/.installed ## Build both environments (only what is missing)

$(BOT_VENV)/.installed: requirements/bot.txt
	@py=$$(scripts/find-python bot) && echo "bot environment: $$py" && \
	  { [ -x $(BOT_BIN)/python ] || $$py -m venv $(BOT_VENV); }
	$(BOT_BIN)/pip install --quiet --disable-pip-version-check -r requirements/bot.txt
	@touch $@

$(HUB_VENV)/.installed: requirements/hub.txt
	@py=$$(scripts/find-python hub) && echo "hub environment: $$py" && \
	  { [ -x $(HUB_BIN)/python ] || $$py -m venv $(HUB_VENV); }
	$(HUB_BIN)/pip install --quiet --disable-pip-version-check -r requirements/hub.txt
	@touch $@

train: $(BOT_VENV)/.installed ## Train a model into models/ unless one matches the data already
	@if [ -f $(MODEL) ]; then echo "model up to date: $(MODEL)"; else \
	  $(BOT_BIN)/rasa train --quiet --out models --fixed-model-name $(basename $(basename $(notdir $(MODEL)))); fi

run: install ## Start action server, Rasa server and hub with the serving model; print their URLs; Ctrl-C stops all
	@# The first start trains a model for the current data and registers it as serving (models/serving.json); later
	@# starts serve what the registry says, which only promotion and rollback change (docs/trainers.md).
	@serving=$$($(HUB_BIN)/python scripts/models.py path) || exit 1; \
	if [ -z "$$serving" ]; then \
	  $(MAKE) --no-print-directory train && $(HUB_BIN)/python scripts/models.py adopt $(MODEL) && serving=$(MODEL) || exit 1; fi; \
	$(HUB_BIN)/python scripts/stack.py --model "$$serving"

retrain: $(BOT_VENV)/.installed ## Train a candidate on the current data and compare it with the serving model (var/reports/)
	$(BOT_BIN)/python scripts/retrain.py $(RETRAIN_ARGS)

promote: $(HUB_VENV)/.installed ## make promote CANDIDATE=models/<name>.tar.gz: serve it (its report must have passed the gate)
	@test -n "$(CANDIDATE)" || { echo "usage: make promote CANDIDATE=models/<name>.tar.gz (make retrain prints it)"; exit 2; }
	$(HUB_BIN)/python scripts/models.py promote $(CANDIDATE) --report var/reports/$(basename $(basename $(notdir $(CANDIDATE))))

rollback: $(HUB_VENV)/.installed ## Undo the latest promotion still standing: the model it replaced serves again
	$(HUB_BIN)/python scripts/models.py rollback

models: $(HUB_VENV)/.installed ## Which model serves, and the latest promotions and rollbacks
	$(HUB_BIN)/python scripts/models.py status

validate: $(BOT_VENV)/.installed ## Check the Rasa domain, data and stories
	$(BOT_BIN)/rasa data validate --fail-on-warnings

lint: $(HUB_VENV)/.installed ## ruff on all code, mypy (strict) on the hub
	$(HUB_BIN)/ruff check .
	$(HUB_BIN)/ruff format --check .
	$(HUB_BIN)/mypy

test-rasa: validate train ## Rasa test stories on the current model
	$(BOT_BIN)/rasa test core --model $(MODEL) --stories tests/conversations --fail-on-prediction-errors --out var/results

test-bot: install ## Unit tests of the bot components and actions (the action tests start the real hub)
	$(BOT_BIN)/python -m pytest tests/bot tests/actions

test-quality: train ## Quality gate: the trained model meets the detection targets on the held-out test file
	CANDOR_MODEL=$(MODEL) $(BOT_BIN)/python -m pytest tests/quality

# The hub's tests run on SQLite, and on PostgreSQL too when CANDOR_TEST_POSTGRES_URL names a server (the
# environment passes through; CANDOR_REQUIRE_POSTGRES=1 fails instead of skipping without one: .ci/run).
# tests/browser drives Debian's Chromium (/usr/bin/chromium; .ci/run installs it) with Playwright.
test-hub: install train ## Hub tests, end-to-end tests, console browser tests (hub environment; PostgreSQL too if configured)
	CANDOR_MODEL=$(MODEL) $(HUB_BIN)/python -m pytest tests/handoff tests/e2e tests/browser

test-hub-pg: $(HUB_VENV)/.installed ## Hub tests on a throwaway PostgreSQL server (scripts/postgres.sh)
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/candor-postgres.XXXXXX") && trap 'scripts/postgres.sh stop "$$dir"' EXIT && \
	  url=$$(scripts/postgres.sh start "$$dir") && echo "PostgreSQL: $$url" && \
	  CANDOR_TEST_POSTGRES_URL=$$url CANDOR_REQUIRE_POSTGRES=1 $(HUB_BIN)/python -m pytest tests/handoff -m postgresql $(PYTEST_ARGS)

test: lint test-rasa test-bot test-quality test-hub ## Run the whole test suite (installs and trains first if needed)

eval: train ## Detection figures on held-out data (and ../shared/data); writes docs/evaluation/
	$(BOT_BIN)/python scripts/evaluate.py --model $(MODEL) --out docs/evaluation $(EVAL_ARGS)

bench: $(BOT_VENV)/.installed ## Apology sameness: 200 simulated customers in one incident (mean cosine, duplicates)
	$(BOT_BIN)/python scripts/bench_apologies.py $(BENCH_ARGS)

bench-hub: $(HUB_VENV)/.installed ## Hub speed on SQLite: added latency of a bot turn, relay msg/s and delivery p95 with 200 conversations, zero lost
	$(HUB_BIN)/python scripts/bench_hub.py $(BENCH_ARGS)

bench-embed: $(BOT_VENV)/.installed ## Sentence-embedding speed and agreement with sentence-transformers (real messages)
	$(BOT_BIN)/python scripts/bench_embeddings.py $(BENCH_ARGS)

screenshots: $(HUB_VENV)/.installed ## The README's screenshots (docs/screenshots/): a scripted scene in Chromium, no Rasa needed
	$(HUB_BIN)/python scripts/screenshots.py

clean: ## Remove run state, results and caches (keeps environments and models)
	rm -rf var .rasa .pytest_cache .mypy_cache .ruff_cache results
