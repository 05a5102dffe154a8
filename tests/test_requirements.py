"""The install is reproducible: every installed distribution is pinned, and the
pinned files are what ``make requirements`` makes of the ``*.in`` files.

Offline and without installing anything: it reads the environment the tests
run in (made by ``make test`` from the pinned files) and the files themselves.
"""

import re
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PINNED = ("requirements.txt", "requirements-test.txt")
# pip is pinned in the Makefile (PIP_VERSION); it installs the rest, it is not one of them.
# vraagbaak is this project, installed editable by the Makefile: its own code, not a pin.
NOT_IN_FILES = {"pip", "vraagbaak"}


def pins(file: str) -> dict[str, Requirement]:
    """name -> requirement of each requirement line of a file (options and -r/-c lines left out)."""
    found = {}
    for line in (ROOT / file).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def pinned_by_input(file: str) -> set[str]:
    """Names whose ``# via`` lines in a pip-compile output name an ``.in`` file."""
    names, current = set(), None
    for line in (ROOT / file).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            current = canonicalize_name(Requirement(line).name)
        elif current and re.search(r"-r requirements(-test)?\.in", line):
            names.add(current)
    return names


def test_every_installed_distribution_is_pinned_at_its_version():
    pinned = {**pins("requirements.txt"), **pins("requirements-test.txt")}
    unpinned, other_version = [], []
    # the environment's own site-packages: not the dist-info folders that packages
    # vendor inside themselves (setuptools/_vendor, put on sys.path when imported)
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    for dist in metadata.distributions(path=site):
        name = canonicalize_name(dist.metadata["Name"])
        if name in NOT_IN_FILES:
            continue
        requirement = pinned.get(name)
        if requirement is None:
            unpinned.append(f"{name}=={dist.version}")
        elif not requirement.specifier.contains(Version(dist.version), prereleases=True):
            other_version.append(f"{name}: installed {dist.version}, pinned {requirement.specifier}")
    assert not unpinned, f"installed but in neither {' nor '.join(PINNED)} (run: make requirements): {unpinned}"
    assert not other_version, other_version


def test_every_line_of_the_pinned_files_is_exact():
    for file in PINNED:
        for name, requirement in pins(file).items():
            specifiers = list(requirement.specifier)
            assert len(specifiers) == 1 and specifiers[0].operator == "==", (file, str(requirement))


def test_pinned_files_are_up_to_date_with_the_in_files():
    for made, source in (("requirements.txt", "requirements.in"), ("requirements-test.txt", "requirements-test.in")):
        wanted, got = pins(source), pins(made)
        stale = [str(r) for name, r in wanted.items() if name not in got or str(got[name].specifier) != str(r.specifier)]
        assert not stale, f"{source} asks for {stale}, which {made} does not pin: run make requirements"
        gone = pinned_by_input(made) - set(wanted)
        assert not gone, f"{made} still pins {sorted(gone)} for {source}, which no longer asks for them: run make requirements"


def test_torch_is_the_cpu_build_pinned_exactly():
    # Any other spec pulls a multi-GB CUDA build here.
    assert str(pins("requirements.txt")["torch"]) == "torch==2.13.0"
    assert str(pins("requirements.in")["torch"]) == "torch==2.13.0"
