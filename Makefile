# medic — every target bootstraps .venv from nothing when it is missing or stale.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AZURITE_STAMP := tests/azurite/node_modules/.installed

.PHONY: demo test lint types unit infra bench clean parsed-rules build-MedicFunction

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,aws,azure]'
	touch $(STAMP)

.venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/medic demo

test: lint types unit infra

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(AZURITE_STAMP)
	$(BIN)/pytest

# Azurite, the Azure Storage emulator the Azure state store is tested against (needs npm).
$(AZURITE_STAMP): tests/azurite/package.json tests/azurite/package-lock.json
	npm ci --prefix tests/azurite --no-audit --no-fund --silent
	touch $(AZURITE_STAMP)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam build *.egg-info .pytest_cache .mypy_cache .ruff_cache
	rm -f shared/rules/parsed.json

# The parsed copy of the built-in rule files (shared/rulebook/parsed.py) for a package no build
# step prepares: run before `func azure functionapp publish`. It is never out of date: a rule
# file changed since is parsed from its YAML.
parsed-rules: $(STAMP)
	$(BIN)/python -c "from shared.rulebook.load import write_parsed; print(write_parsed())"

# --- AWS: the SAM template ---------------------------------------------------------------
# SAM and cfn-lint live in their own environment: their pins must not move the project's.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
LAMBDA_PYTHON := 3.12
LAMBDA_PLATFORM := manylinux2014_x86_64
#: The runtime's Python, which prepares the package for cold starts: python3.12 on PATH,
#: pyenv's 3.12, or whatever `make LAMBDA_PYTHON_BIN=...` names. Looked up where a recipe
#: uses it, once (each recipe keeps it in a shell variable).
LAMBDA_PYTHON_BIN ?= $(shell sh infra/aws/lambda-python.sh $(LAMBDA_PYTHON))

$(TOOLS_STAMP): requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $(TOOLS_STAMP)

infra: export SAM_CLI_TELEMETRY = 0
infra: $(TOOLS_STAMP)
	AWS_DEFAULT_REGION=us-east-1 $(TOOLS)/bin/sam validate --lint --template template.yaml
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam build --template template.yaml --build-dir .aws-sam/build
	@py="$(LAMBDA_PYTHON_BIN)"; if [ -n "$$py" ]; then \
		"$$py" -I infra/aws/check_package.py .aws-sam/build/MedicFunction; \
	else echo "no Python $(LAMBDA_PYTHON) here: the package is not checked"; fi

# Called by `sam build` (BuildMethod: makefile) with ARTIFACTS_DIR set: the function's code
# plus wheels for the Lambda runtime, whatever Python builds them.
build-MedicFunction:
	mkdir -p "$(ARTIFACTS_DIR)"
	cp -r shared functions "$(ARTIFACTS_DIR)/"
	find "$(ARTIFACTS_DIR)" -name '__pycache__' -prune -exec rm -rf {} +
	python3 -m pip install --quiet --no-compile --only-binary=:all: \
		--platform $(LAMBDA_PLATFORM) --python-version $(LAMBDA_PYTHON) --implementation cp \
		-r requirements-lambda.txt -t "$(ARTIFACTS_DIR)"
	@# With the runtime's Python at hand (it is in `sam build --use-container`), the package
	@# gets what its cold starts would otherwise redo on every new instance: the built-in rule
	@# files parsed (shared/rulebook/parsed.py), and bytecode, which Lambda cannot write next
	@# to the deployed files. The bytecode is hash-based and unchecked: a zip keeps file times
	@# to 2 s, which can make timestamped bytecode look stale, and deployed files never change.
	@py="$(LAMBDA_PYTHON_BIN)"; if [ -n "$$py" ]; then \
		"$$py" -I -B -c "import sys; sys.path.insert(0, sys.argv[1]); \
			from shared.rulebook.load import write_parsed; write_parsed()" "$(ARTIFACTS_DIR)" && \
		"$$py" -I -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"; \
	else echo "no Python $(LAMBDA_PYTHON) here: the package ships without bytecode or parsed rules"; fi
