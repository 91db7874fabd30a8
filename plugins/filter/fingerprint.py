# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""The digest of a run's inputs, for harden.yml's no-op fast path (docs: k8s_inputs_digest.yml, docs/noop.md)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fingerprint import inputs_digest, tree_digest

# What of the collection decides what a run does: its roles, plugins and playbooks.
COLLECTION_PARTS = ("galaxy.yml", "MANIFEST.json", "meta", "plugins", "roles", "playbooks")
_COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_CACHE = {}


def collection_digest():
    """The digest of this collection's own files, once per controller process."""
    if "digest" not in _CACHE:
        parts = [p for p in COLLECTION_PARTS if os.path.exists(os.path.join(_COLLECTION_ROOT, p))]
        _CACHE["digest"] = tree_digest(_COLLECTION_ROOT, parts)
    return _CACHE["digest"]


def k8s_inputs_digest(values, collection=True, controller_paths=None):
    """sha256 of ``values`` (canonical JSON), of the collection's files unless ``collection`` is false, and of
    the files below ``controller_paths`` on the controller (an etcd CA kept there, say; missing ones count as
    absent)."""
    if not isinstance(values, dict):
        raise AnsibleFilterError("k8s_inputs_digest expects a dict of variables, got %s" % type(values).__name__)
    extra = [collection_digest() if collection else ""]
    try:
        for path in sorted(set(controller_paths or [])):
            path = str(path)
            extra.append("%s:%s" % (path, tree_digest(os.path.dirname(path), [os.path.basename(path)])
                                    if os.path.exists(path) else "absent"))
        return inputs_digest(values, "\n".join(extra))
    except OSError as exc:
        raise AnsibleFilterError("k8s_inputs_digest: cannot read %s: %s" % (exc.filename or "a file", exc))


class FilterModule(object):
    def filters(self):
        return {"k8s_inputs_digest": k8s_inputs_digest}
