"""`make demo` installs the project with its runtime dependencies only, not the test tools of the
lock. So the demo has to seed, simulate and serve its pages without any package that only the
test extra brings: run it in a Python that refuses to import those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# What `python -m venv` puts into every venv before the Makefile installs anything.
VENV_BASE = {"pip", "setuptools"}

# Run in a fresh interpreter: blocks the modules it is given, checks the block works on one of
# them, then makes a short demo in an empty SQLite data dir and fetches pages of each kind.
DEMO_WITHOUT_TEST_TOOLS = textwrap.dedent(
    """
    import importlib.abc, json, sys

    blocked = set(json.loads(sys.argv[1]))

    class TestToolsRefused(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in blocked:
                raise ModuleNotFoundError(f"{name} is a test tool, not installed by make demo")
            return None

    sys.meta_path.insert(0, TestToolsRefused())
    try:
        import pytest
    except ModuleNotFoundError:
        pass
    else:
        sys.exit("the block did not refuse pytest")

    from typer.testing import CliRunner
    from usm.cli import app

    args = ["demo", "--no-serve", "--days", "3", "--calls-per-day", "4", "--until", "2025-03-14"]
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        sys.exit(f"usm demo failed: {result.output}{result.stderr}{result.exception!r}")

    from django.test import Client

    pages = {}
    for username, paths in [
        ("manager", ["/desk/", "/control/", "/api/v1/docs", "/api/v1/openapi.json"]),
        ("requester-tamsbury", ["/portal/"]),
        ("admin", ["/admin/"]),
    ]:
        client = Client()
        assert client.login(username=username, password=f"{username}-usm-demo"), username
        for path in paths:
            pages[path] = client.get(path).status_code
    print(json.dumps(pages))
    """
)


def _runtime_distributions() -> set[str]:
    """The installed project's dependencies, followed down with the extras they ask for (such as
    psycopg[binary]) but without the project's own test extra."""
    seen: set[tuple[str, str]] = set()
    todo = [("usm", "")]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                wanted = canonicalize_name(requirement.name)
                todo += [(wanted, ""), *((wanted, e) for e in requirement.extras)]
    return {name for name, _ in seen}


def _test_only_modules() -> list[str]:
    """Top-level modules that no distribution of the runtime (or of a bare venv) provides."""
    allowed = _runtime_distributions() | VENV_BASE
    return sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in allowed for d in distributions)
    )


def test_the_test_tools_are_outside_the_runtime():
    blocked = _test_only_modules()
    for module in ("pytest", "pm4py", "pandas", "playwright", "schemathesis", "lxml"):
        assert module in blocked
    for module in ("django", "ninja", "typer", "waitress", "psycopg", "psycopg_binary"):
        assert module not in blocked


# Its own SQLite data dir whatever the suite's database: nothing to add on PostgreSQL.
@pytest.mark.slow
def test_the_demo_runs_and_serves_without_the_test_tools(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "USM_DATABASE_URL"}
    env["USM_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", DEMO_WITHOUT_TEST_TOOLS, json.dumps(_test_only_modules())],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pages = json.loads(done.stdout.splitlines()[-1])
    assert pages == {
        "/desk/": 200,
        "/control/": 200,
        "/api/v1/docs": 200,
        "/api/v1/openapi.json": 200,
        "/portal/": 200,
        "/admin/": 200,
    }
