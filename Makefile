# The two commands of the README:
#   make run    set up a virtual environment, build/update the index, serve the page
#   make test   set up the same environment plus test tools and Chromium, run all tests
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE := 1

.PHONY: run test chromium clean

$(VENV)/.run-deps: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.test-deps: $(VENV)/.run-deps requirements-test.txt
	$(PY) -m pip install -r requirements-test.txt
	touch $@

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends chromium; }

run: $(VENV)/.run-deps
	$(PY) app.py

# As root (CI), the tests run in a network namespace with only loopback up: a
# standing proof that nothing in them (or in the product) needs the network.
test: $(VENV)/.test-deps chromium
	@if [ "$$(id -u)" = 0 ] && command -v ip >/dev/null && unshare --net true 2>/dev/null; then \
		echo "Running the tests without network (unshare --net, loopback only)"; \
		unshare --net sh -c 'ip link set lo up && exec $(PY) -m pytest'; \
	else \
		$(PY) -m pytest; \
	fi

clean:
	rm -rf $(VENV) index test-artifacts
