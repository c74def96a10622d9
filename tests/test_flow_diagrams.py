"""Each flow's Mermaid diagram (``conversations/<flow>.mmd``) matches its state table."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from bot.app import FLOW_MODULES
from chat import diagram
from chat.flow import Flow

pytestmark = pytest.mark.nodb


def _flows() -> list[tuple[str, ModuleType]]:
    return [(m.__name__.rsplit(".", 1)[-1], m) for m in FLOW_MODULES]


@pytest.mark.parametrize(("name", "module"), _flows(), ids=[n for n, _ in _flows()])
def test_the_diagram_is_true_to_the_table(name: str, module: ModuleType) -> None:
    module.build_handler()
    flows = [f for f in Flow.registry.values() if f.render.__module__ == module.__name__]
    assert flows, f"{module.__name__} defines no Flow"
    path = Path(sys.modules[module.__name__].__file__ or "").with_suffix(".mmd")
    assert path.exists(), f"{path.name} is missing: draw the flow's states (stateDiagram-v2)"
    for flow in flows:
        states = getattr(module, "State", None)
        names = [str(s) for s in states] if states is not None else []
        assert diagram.check(path, flow.entry_points, flow.states, names) == []
