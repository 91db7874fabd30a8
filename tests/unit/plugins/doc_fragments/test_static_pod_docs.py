"""ansible-doc renders the docs of engineer B's modules and filters, and each module's
DOCUMENTATION options match its argument spec (docs come from the source)."""
import ast
import json
import os
import subprocess

import pytest
import yaml

from ..modules.modrun import COLLECTIONS
from .docs import ANSIBLE_DOC, resolved

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
MODULES = ["static_pod", "static_pod_health"]
FILTERS = ["k8s_flags_to_dict", "k8s_dict_to_flags", "k8s_static_pod_merge", "k8s_config_checksum",
           "k8s_tls_cipher_suites", "k8s_tls_min_version"]


@pytest.mark.parametrize("kind,names", [("module", MODULES), ("filter", FILTERS)])
def test_ansible_doc_renders(kind, names):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    proc = subprocess.run([ANSIBLE_DOC, "-t", kind, "--json"] + ["k8s_hardening.kubeadm." + n for n in names],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    for name in names:
        entry = docs["k8s_hardening.kubeadm." + name]
        assert entry["doc"]["short_description"] and entry["examples"] and entry["return"], name


def _module_parts(name):
    with open(os.path.join(ROOT, "plugins", "modules", name + ".py")) as handle:
        tree = ast.parse(handle.read())
    strings = {}
    spec = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id in ("DOCUMENTATION", "RETURN", "EXAMPLES"):
            strings[node.targets[0].id] = node.value.value
        if isinstance(node, ast.keyword) and node.arg == "argument_spec":
            spec = {kw.arg: kw.value for kw in node.value.keywords}
    return strings, spec


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_match_argument_spec(name):
    strings, spec = _module_parts(name)
    doc = yaml.safe_load(strings["DOCUMENTATION"])
    assert set(resolved(doc)["options"]) == set(spec), name
    assert set(resolved(doc)["attributes"]) == {"check_mode", "diff_mode", "idempotent"}
