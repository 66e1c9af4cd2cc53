# The two commands of the README: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

export FLASK_APP := wsgi
export DATABASE_URL ?= postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops
export TEST_DATABASE_URL ?= postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_test
export REDIS_URL ?= redis://127.0.0.1:6379/0
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export YOLO_OFFLINE := 1

.PHONY: demo test setup system translations lint db

# Another demo beside this one: DATABASE_URL=…/urbanops2 REDIS_URL=redis://127.0.0.1:6379/1 PORT=5010 make demo
demo: setup
	.ci/ensure-db "$(DATABASE_URL)"
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo
	$(BIN)/flask vision demo-setup
	$(BIN)/flask intel train
	@if [ -n "$$DISPLAY" ] && command -v xdg-open >/dev/null; then (sleep 8; xdg-open http://127.0.0.1:$(PORT)) & fi
	DEMO_MODE=1 VISION_RULES=app/data/vision_rules_demo.yaml CAMERA_CHECK_MINUTES=1 $(BIN)/flask serve-all --port $(PORT) \
		--log-dir instance/logs/$(PORT)

test: setup
	.ci/ensure-db "$(TEST_DATABASE_URL)"
	$(BIN)/ruff check --config .ci/ruff.toml .
	$(BIN)/python -m pytest -c .ci/pytest.ini --rootdir .

setup: system $(VENV)/.installed translations

system:
	.ci/setup-system

$(VENV)/.installed: requirements.txt requirements-vision.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -f -d app/translations >/dev/null

# Regenerate the message catalogue after changing user-facing strings.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F app/translations/babel.cfg -k _l -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations

lint: $(VENV)/.installed
	$(BIN)/ruff check --config .ci/ruff.toml .
