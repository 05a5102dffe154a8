# The two commands of the README:
#   make run    set up a virtual environment, build/update the index, serve the page
#   make test   set up the same environment plus test tools and Chromium, run all tests
# And for developers: make requirements   regenerate the pinned requirements*.txt from the *.in files
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE := 1
# pip itself is pinned too: a newer pip may resolve the same pins differently.
PIP_VERSION := 26.3
PIP_TOOLS := pip-tools==7.7.0
TOOLS_VENV := .venv-tools
COMPILE := $(TOOLS_VENV)/bin/pip-compile -q --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links

# The project itself, editable, so that `.venv/bin/vraagbaak` and `import vraagbaak` work from any
# folder and run this checkout's code. No build isolation: that would fetch an unpinned setuptools;
# the pinned one (requirements.txt) builds it. No deps: requirements.txt installed them, pinned.
INSTALL_PROJECT = $(PY) -m pip install -q --no-build-isolation --no-deps --editable .

# make run PORT=8080 HOST=0.0.0.0 ARGS="--users users.json": passed on to app.py
PORT ?=
HOST ?=
ARGS ?=

.PHONY: run test chromium tesseract clean requirements

# requirements.txt pins every distribution, transitive ones included (made by
# `make requirements` from requirements.in): a fresh machine installs exactly
# what the tests passed with. --no-deps would hide a missing pin, so pip
# resolves, and `pip check` confirms the set is consistent.
$(VENV)/.run-deps: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q pip==$(PIP_VERSION)
	$(PY) -m pip install -r requirements.txt
	$(INSTALL_PROJECT)
	$(PY) -m pip check
	touch $@

$(VENV)/.test-deps: $(VENV)/.run-deps requirements-test.txt
	$(PY) -m pip install -r requirements.txt -r requirements-test.txt
	$(INSTALL_PROJECT)
	$(PY) -m pip check
	touch $@

# pip-compile in a venv of its own, so that its packages never mix with the
# project's pins. torch: the resolver sees the local CPU wheel as 2.13.0+cpu;
# the file pins plain 2.13.0, which pip matches with that wheel (PEP 440).
requirements:
	[ -x $(TOOLS_VENV)/bin/pip-compile ] || { python3 -m venv $(TOOLS_VENV) && \
		$(TOOLS_VENV)/bin/pip install -q pip==$(PIP_VERSION) $(PIP_TOOLS); }
	$(COMPILE) --output-file requirements.txt requirements.in
	sed -i 's/^torch==2\.13\.0+cpu$$/torch==2.13.0/' requirements.txt
	$(COMPILE) --output-file requirements-test.txt requirements-test.in

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends chromium; }

# Debian's Tesseract and its Dutch model, for OCR of scanned PDFs and images
# (vraagbaak/ocr.py). Without them Vraagbaak still runs and says which files it skipped.
tesseract:
	@{ command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx nld; } || { \
		$(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends tesseract-ocr tesseract-ocr-nld; }

run: $(VENV)/.run-deps tesseract
	$(PY) app.py $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST)) $(ARGS)

# As root (CI), the tests run in a network namespace with only loopback up: a
# standing proof that nothing in them (or in the product) needs the network.
test: $(VENV)/.test-deps chromium tesseract
	@if [ "$$(id -u)" = 0 ] && command -v ip >/dev/null && unshare --net true 2>/dev/null; then \
		echo "Running the tests without network (unshare --net, loopback only)"; \
		unshare --net sh -c 'ip link set lo up && exec $(PY) -m pytest'; \
	else \
		$(PY) -m pytest; \
	fi

clean:
	rm -rf $(VENV) $(TOOLS_VENV) index test-artifacts
