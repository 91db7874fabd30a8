"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse, and DOCUMENTATION declares the attributes."""
import ast
import os

import pytest
import yaml

MODULES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules"))
NAMES = sorted(n[:-3] for n in os.listdir(MODULES) if n.endswith(".py") and not n.startswith("_"))


def _blocks(name):
    with open(os.path.join(MODULES, name + ".py")) as handle:
        tree = ast.parse(handle.read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            out[node.targets[0].id] = node.value.value
    return out


@pytest.mark.parametrize("name", NAMES)
def test_docs_parse(name):
    blocks = _blocks(name)
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, name
    doc = yaml.safe_load(blocks["DOCUMENTATION"])
    assert doc["module"] == name
    for attr in ("check_mode", "diff_mode", "idempotent"):
        assert attr in doc["attributes"], "%s does not declare attributes.%s" % (name, attr)
    yaml.safe_load(blocks["EXAMPLES"])
    yaml.safe_load(blocks["RETURN"])
