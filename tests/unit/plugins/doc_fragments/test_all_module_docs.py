"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse, every module declares the attributes (through the
collection's fragment), and ansible-doc itself renders every module."""
import ast
import json
import os
import subprocess

import pytest
import yaml

from ..modules.modrun import COLLECTIONS
from .docs import ANSIBLE_DOC, resolved

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
    doc = resolved(yaml.safe_load(blocks["DOCUMENTATION"]))
    assert doc["module"] == name
    assert doc["author"] == ["k8s_hardening.kubeadm contributors !UNKNOWN"], name   # no GitHub handle known
    for attr in ("check_mode", "diff_mode", "idempotent"):
        assert attr in doc["attributes"], "%s does not declare attributes.%s" % (name, attr)
    yaml.safe_load(blocks["EXAMPLES"])
    yaml.safe_load(blocks["RETURN"])


def test_ansible_doc_renders_every_module_with_the_fragment():
    root = os.path.abspath(os.path.join(MODULES, "..", ".."))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"))
    ansible_doc = ANSIBLE_DOC
    proc = subprocess.run([ansible_doc, "--json", "-t", "module"] + ["k8s_hardening.kubeadm." + n for n in NAMES],
                          capture_output=True, text=True, env=env, cwd=root, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == sorted("k8s_hardening.kubeadm." + n for n in NAMES)
    for name, entry in docs.items():
        attributes = entry["doc"]["attributes"]
        for key in ("check_mode", "diff_mode", "idempotent"):
            assert attributes[key]["support"] in ("full", "partial", "none"), name
            assert attributes[key]["description"], "%s: attributes.%s has no description" % (name, key)
    # a module's own entry wins over the fragment's default
    assert docs["k8s_hardening.kubeadm.static_pod"]["doc"]["attributes"]["diff_mode"]["support"] == "full"
    assert docs["k8s_hardening.kubeadm.read_files"]["doc"]["attributes"]["diff_mode"]["support"] == "none"
    assert docs["k8s_hardening.kubeadm.secrets_reencrypt"]["doc"]["attributes"]["idempotent"]["support"] == "none"


def test_old_name_redirects_to_the_facts_module():
    """Playbooks written for kubeadm_node_info keep working: meta/runtime.yml routes the old name to kubeadm_facts."""
    out = subprocess.run([ANSIBLE_DOC, "-t", "module", "k8s_hardening.kubeadm.kubeadm_node_info"], capture_output=True,
                         text=True, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS), check=False)
    assert out.returncode == 0, out.stderr
    assert "kubeadm_facts" in out.stdout
