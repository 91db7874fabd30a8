"""DOCUMENTATION / EXAMPLES / RETURN of kubelet_config, kubelet_flags and kubeadm_config parse and match the argument spec."""
import ast
import os

import pytest
import yaml

from .docs import resolved

MODULES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")


def _docs(name):
    with open(os.path.join(MODULES, name + ".py")) as handle:
        tree = ast.parse(handle.read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            out[node.targets[0].id] = yaml.safe_load(node.value.value)
    return out


@pytest.mark.parametrize("name", ["kubelet_config", "kubelet_flags", "kubeadm_config"])
def test_docs_parse(name):
    docs = _docs(name)
    assert docs["DOCUMENTATION"]["module"] == name
    assert set(resolved(docs["DOCUMENTATION"])["attributes"]) == {"check_mode", "diff_mode", "idempotent"}
    assert all(v["support"] == "full" for v in resolved(docs["DOCUMENTATION"])["attributes"].values())
    assert isinstance(docs["EXAMPLES"], list) and docs["EXAMPLES"]
    assert isinstance(docs["RETURN"], dict) and docs["RETURN"]
    with open(os.path.join(MODULES, name + ".py")) as handle:
        source = handle.read()
    for option in docs["DOCUMENTATION"]["options"]:
        assert "%s=dict(" % option in source, "%s: documented option %s not in the argument spec" % (name, option)
