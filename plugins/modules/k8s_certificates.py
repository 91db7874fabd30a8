#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_certificates
short_description: Report the expiry and chain of every Kubernetes and etcd certificate of a node
version_added: 0.1.0
description:
  - Read-only. Runs on the controller (C(delegate_to=localhost)), where C(cryptography) is installed, over
    the C(results) of an M(ansible.builtin.slurp) loop of the node's certificate files, kubeconfigs (their
    embedded client certificate) and PEM bundles such as C(kubelet-client-current.pem).
  - For each certificate, reports subject, issuer, expiry, days left, validity, which of the given CAs it
    chains to, and whether it expires within O(threshold_days). Key material is never returned.
  - O(slurped) is a C(no_log) parameter (kubeconfigs and PEM bundles hold private keys), never logged
    on the node, never echoed in C(invocation).
options:
  slurped:
    description: C(results) of a slurp loop; each item is a path (string) or a dict with C(path).
    type: list
    elements: dict
    required: true
  threshold_days:
    description: Certificates expiring within this many days are listed in RV(expiring).
    type: int
    default: 30
  ca_names:
    description: Paths (as slurped) of the CA certificates to check chains against, by name.
    type: dict
    default: {}
attributes:
  diff_mode:
    support: none
    details: Read-only.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Report certificate expiry
  k8s_hardening.kubeadm.k8s_certificates:
    slurped: "{{ certs.results }}"
    ca_names: {kubernetes: /etc/kubernetes/pki/ca.crt, etcd-ca: /etc/kubernetes/pki/etcd/ca.crt}
  delegate_to: localhost
"""

RETURN = r"""
certificates:
  description: One entry per certificate (path, subject, issuer, not_after, days_left, validity_days, expired,
    expiring, is_ca, chains_to, sha256).
  type: list
  elements: dict
  returned: always
expiring:
  description: Paths of certificates that expire within threshold_days (or are expired).
  type: list
  elements: str
  returned: always
errors:
  description: Files that could not be read or parsed.
  type: list
  elements: str
  returned: always
"""

import base64

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._nolog import add_secrets, hide_params

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki


def _path(res):
    item = res.get("item")
    if isinstance(item, dict):
        return item.get("path")
    return item or res.get("source")


def certificates_of(path, text):
    """The certificates a file holds: a PEM (bundle) or a kubeconfig's embedded client certificate."""
    if "-----BEGIN CERTIFICATE-----" in text:
        return _pki.load_certs(text)
    pem = _pki.kubeconfig_client_cert(text)
    return _pki.load_certs(pem) if pem else []


def report(slurped, threshold_days, ca_names):
    texts, errors = {}, []
    for res in slurped:
        path = _path(res)
        if res.get("failed") or not res.get("content"):
            errors.append("%s: %s" % (path, res.get("msg", "not read")))
            continue
        texts[path] = base64.b64decode(res["content"]).decode("ascii", "replace")
    cas = {}
    for name, path in ca_names.items():
        if texts.get(path):
            try:
                cas[name] = _pki.load_cert(texts[path])
            except _pki.PKIError as exc:
                errors.append("%s: %s" % (path, exc))
    out, expiring = [], []
    for path in sorted(texts):
        try:
            certs = certificates_of(path, texts[path])
        except Exception as exc:  # a broken file is reported, never fatal
            errors.append("%s: %s" % (path, exc))
            continue
        for index, cert in enumerate(certs):
            info = _pki.cert_info(cert)
            entry = {k: info[k] for k in ("subject", "issuer", "not_after", "days_left", "validity_days",
                                          "expired", "is_ca", "sha256")}
            entry["path"] = path if len(certs) == 1 else "%s[%d]" % (path, index)
            entry["chains_to"] = sorted(n for n, ca in cas.items() if _pki.verify_chain(cert, ca))
            entry["expiring"] = info["expired"] or info["days_left"] < threshold_days
            if entry["expiring"]:
                expiring.append(entry["path"])
            out.append(entry)
    return {"certificates": out, "expiring": expiring, "errors": errors}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            slurped=dict(type="list", elements="dict", required=True, no_log=True),
            threshold_days=dict(type="int", default=30),
            ca_names=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    if _pki.CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=_pki.CRYPTOGRAPHY_IMPORT_ERROR)
    # kubeconfigs and PEM bundles hold private keys: the files are never logged nor echoed (paths are)
    slurped = hide_params(module, ["slurped"])["slurped"]
    add_secrets(module, [res.get("content") for res in slurped if isinstance(res, dict)])
    module.exit_json(changed=False, **report(slurped, module.params["threshold_days"], module.params["ca_names"]))


if __name__ == "__main__":
    main()
