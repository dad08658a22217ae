# The two set-up commands: `make demo` and `make test`. Both work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: demo test install system-deps bench clean

demo: install
	$(VENV)/bin/productreel demo

test: install
	$(PY) -m pytest

install: $(STAMP) system-deps

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev]"
	touch $(STAMP)

# Noto fonts for CJK/Arabic/Devanagari and espeak-ng come from Debian's packages (FFmpeg comes with imageio-ffmpeg and PyAV).
system-deps:
	@bash deploy/system-deps.sh

bench: install
	$(PIP) install -q -e ".[bench]"
	$(PY) bench/render.py

clean:
	rm -rf out .pytest_cache
