"""A module's DOCUMENTATION as ansible-doc shows it: with the collection's attributes fragment merged
(plugins/doc_fragments/attributes.py), the module's own entries winning, as ansible-core merges them."""
import os
import shutil
import sys

import yaml
from ansible.utils.plugin_docs import merge_fragment

from ansible_collections.k8s_hardening.kubeadm.plugins.doc_fragments import attributes, backup

# the virtualenv's ansible-doc, else the one ansible-test puts on PATH
ANSIBLE_DOC = next(p for p in (os.path.join(os.path.dirname(sys.executable), "ansible-doc"), shutil.which("ansible-doc"))
                   if p and os.path.isfile(p))

FRAGMENTS = {"k8s_hardening.kubeadm.attributes": attributes.ModuleDocFragment,
             "k8s_hardening.kubeadm.backup": backup.ModuleDocFragment}


def resolved(doc):
    """``doc`` (parsed DOCUMENTATION) with the fragments it extends merged in."""
    doc = dict(doc)
    fragments = doc.pop("extends_documentation_fragment", [])
    for name in fragments:
        assert name in FRAGMENTS, "unknown fragment %s" % name
        fragment = yaml.safe_load(FRAGMENTS[name].DOCUMENTATION)
        for key in ("options", "attributes"):
            if key not in fragment:
                continue
            if key in doc:
                merge_fragment(doc[key], fragment.pop(key))
            else:
                doc[key] = fragment.pop(key)
        merge_fragment(doc, fragment)
    return doc
