"""The cis_* modules' DOCUMENTATION, EXAMPLES and RETURN parse, and the argument spec matches the options."""
import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.modules import cis_node_facts, cis_report

from .docs import resolved


@pytest.mark.parametrize("mod", [cis_node_facts, cis_report], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docs_parse(mod):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert doc["module"] == mod.__name__.rsplit(".", 1)[-1]
    assert set(resolved(doc)["attributes"]) == {"check_mode", "diff_mode", "idempotent"}
    assert isinstance(yaml.safe_load(mod.EXAMPLES), list)
    assert isinstance(yaml.safe_load(mod.RETURN), dict)
    source = open(mod.__file__).read()
    for option in doc["options"]:
        assert "%s=dict(" % option in source, option
