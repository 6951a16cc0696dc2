"""The import contracts in pyproject.toml hold, and would catch the arrows that once tied the
call core to the pages above it (see docs/architecture.md).

The contracts are checked in a fresh interpreter: import-linter's option checks trip over
zope.interface's class attributes once Twisted (daphne) is imported, as it is here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

UPWARD = [
    # The circle the core used to be caught in.
    ("layers", "calls.state", "agents.presence"),
    ("layers", "calls.publishing", "agents.rendering"),
    ("layers", "calls.publishing", "calls.wallboard.rendering"),
    ("layers", "calls.services.execution", "agents.selectors"),
    # Presence and routing never reach into a page; the profile never into the core.
    ("layers", "agents.presence", "agents.rendering"),
    ("layers", "agents.services.routing", "calls.wallboard.selectors"),
    ("layers", "agents.models", "calls.models"),
    ("layers", "calls.phlo_client", "calls.models"),
    # The simulator's own circles, and its reaching into the app.
    ("simulator-layers", "calls.simulator.engine", "calls.simulator.callbacks"),
    ("simulator-layers", "calls.simulator.engine", "calls.simulator.phones"),
    ("simulator-layers", "calls.simulator.control", "calls.simulator.simulator"),
    ("simulator-layers", "calls.simulator.pages", "calls.simulator.server"),
    ("simulator-apart", "calls.simulator.engine", "calls.models"),
]

CHECK = """
import copy, json, sys
import grimp
from importlinter import api
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

types = {"layers": LayersContract, "forbidden": ForbiddenContract}
configuration = api.read_configuration()
session = configuration["session_options"]
# No cache: a stale one would judge code that is no longer there.
graph = grimp.build_graph(*session["root_packages"], cache_dir=None)

def kept(contract_id, extra=None):
    options = next(c for c in configuration["contracts_options"] if c["id"] == contract_id)
    contract = types[options["type"]](
        name=options["name"], session_options=session, contract_options=options
    )
    checked = copy.deepcopy(graph)
    if extra:
        checked.add_import(importer=extra[0], imported=extra[1])
    return contract.check(checked, verbose=False).kept

cases = json.loads(sys.argv[1])
print(json.dumps({
    "as_is": {c["id"]: kept(c["id"]) for c in configuration["contracts_options"]},
    "upward": [kept(contract_id, (a, b)) for contract_id, a, b in cases],
}))
"""


@pytest.fixture(scope="module")
def results() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, json.dumps(UPWARD)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_code_keeps_every_contract(results):
    assert results["as_is"] == {"layers": True, "simulator-apart": True, "simulator-layers": True}


@pytest.mark.parametrize(("index", "case"), list(enumerate(UPWARD)), ids=lambda v: str(v))
def test_an_upward_import_breaks_the_build(results, index, case):
    assert results["upward"][index] is False, f"{case} would not be caught"
