#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: secrets_reencrypt
short_description: Rewrite every Secret through the Kubernetes API so it is stored with the current encryption key
version_added: 0.1.0
description:
  - The upstream C(kubectl get secrets -A -o json | kubectl replace -f -) with the kubernetes Python client.
  - Lists with pagination (C(limit)/C(continue)), replaces each object unchanged so the apiserver encrypts it
    again with the first provider and key of its EncryptionConfiguration, re-reads and retries on 409 Conflict,
    skips objects deleted meanwhile, and restarts the listing when the continue token expired (410 Gone).
  - Safe to repeat. Object content is never returned or logged, only counts.
  - Used by the encryption role and the C(k8s_hardening.kubeadm.rotate_encryption_key) playbook (stage reencrypt).
requirements:
  - kubernetes (Python client) on the node that runs it
options:
  kubeconfig:
    description: Kubeconfig of a privileged user (kubeadm's admin.conf on the first control-plane node).
    type: path
    default: /etc/kubernetes/admin.conf
  resources:
    description: Core resources to rewrite, C(secrets) and/or C(configmaps).
    type: list
    elements: str
    default: [secrets]
  page_size:
    description: Objects per list request.
    type: int
    default: 100
  max_retries:
    description: Retries of one object after a 409 Conflict.
    type: int
    default: 5
attributes:
  check_mode:
    support: full
    details: Lists and counts the objects, replaces nothing.
  idempotent:
    support: none
    details: Every run rewrites every object (that is its purpose); repeating it is safe.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Re-encrypt every Secret with the current key
  k8s_hardening.kubeadm.secrets_reencrypt:
    kubeconfig: /etc/kubernetes/admin.conf
    resources: [secrets]
"""

RETURN = r"""
counts:
  description: Per resource, objects listed, replaced, 409 conflicts retried, and gone (deleted meanwhile).
  type: dict
  returned: always
  sample: {secrets: {listed: 42, replaced: 42, conflicts: 1, gone: 0}}
"""

import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._k8s_api import (
    client_problem, client_version, core_v1_api, describe_api_error, kubeconfig_server, read_kubeconfig)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._reencrypt import (
    ReencryptError,
    reencrypt,
    unsupported,
)


def run(module):
    params = module.params
    bad = unsupported(params["resources"])
    if bad:
        module.fail_json(msg="resources: cannot re-encrypt %s; only secrets and configmaps are supported" % bad)
    if params["page_size"] < 1 or params["max_retries"] < 0:
        module.fail_json(msg="page_size must be 1 or more and max_retries 0 or more")
    version, import_error = client_version()
    problem = client_problem(version, import_error, python=sys.executable)
    if problem:
        module.fail_json(msg="re-encryption needs the kubernetes client: " + problem)
    data, problem = read_kubeconfig(params["kubeconfig"])
    if problem:
        module.fail_json(msg="re-encryption: " + problem)
    where = {"server": kubeconfig_server(data)[0], "kubeconfig": params["kubeconfig"]}
    try:
        core, where["server"] = core_v1_api(params["kubeconfig"])
    except Exception as exc:  # ConfigException: a kubeconfig the client cannot use
        module.fail_json(msg=describe_api_error(exc, "load", "the kubeconfig", where["server"], params["kubeconfig"]))
    try:
        counts = reencrypt(core, params["resources"], params["page_size"], params["max_retries"],
                           check_mode=module.check_mode, where=where)
    except ReencryptError as exc:
        module.fail_json(msg="re-encryption stopped (objects before this one are done; running again is safe): %s"
                         % exc)
    if module.check_mode:
        changed = any(c["listed"] for c in counts.values())
    else:
        changed = any(c["replaced"] for c in counts.values())
    module.exit_json(changed=changed, counts=counts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", default="/etc/kubernetes/admin.conf"),
            resources=dict(type="list", elements="str", default=["secrets"]),
            page_size=dict(type="int", default=100),
            max_retries=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
