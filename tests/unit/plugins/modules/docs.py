"""A module's DOCUMENTATION as ansible-doc shows it: with the collection's attributes fragment merged
(plugins/doc_fragments/attributes.py), the module's own entries winning, as ansible-core merges them."""
import yaml
from ansible.utils.plugin_docs import merge_fragment

from ansible_collections.k8s_hardening.kubeadm.plugins.doc_fragments.attributes import ModuleDocFragment

FRAGMENT = "k8s_hardening.kubeadm.attributes"


def resolved(doc):
    """``doc`` (parsed DOCUMENTATION) with the fragments it extends merged in."""
    doc = dict(doc)
    fragments = doc.pop("extends_documentation_fragment", [])
    for name in fragments:
        assert name == FRAGMENT, "unknown fragment %s" % name
        fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
        for key in ("options", "attributes"):
            if key in doc:
                merge_fragment(doc[key], fragment.pop(key))
            else:
                doc[key] = fragment.pop(key)
        merge_fragment(doc, fragment)
    return doc
