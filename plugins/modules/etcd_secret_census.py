#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_secret_census
short_description: Count how the Secrets stored in etcd are encrypted, per provider and key
version_added: 0.1.0
description:
  - Reads the raw values under C(/registry/secrets/) straight from etcd (etcd v3 JSON gateway,
    C(POST /v3/kv/range), paginated) with etcd's own client certificate, and classifies each by its
    C(k8s:enc:<provider>:v1:<key>:) prefix as encrypted with the current key, with an older key, or not at all.
  - The current key is the first provider and key of the EncryptionConfiguration at I(encryption_config),
    unless I(current) is given.
  - Read-only. Values are never returned; only counts and, for what is not on the current key, object names.
options:
  endpoint:
    description: etcd client URL.
    type: str
    default: https://127.0.0.1:2379
  cacert:
    description: CA of etcd's serving certificate.
    type: path
    default: /etc/kubernetes/pki/etcd/ca.crt
  cert:
    description: Client certificate trusted by etcd (kubeadm's healthcheck client).
    type: path
    default: /etc/kubernetes/pki/etcd/healthcheck-client.crt
  key:
    description: Key of I(cert).
    type: path
    default: /etc/kubernetes/pki/etcd/healthcheck-client.key
  prefix:
    description: etcd key prefix to count.
    type: str
    default: /registry/secrets/
  encryption_config:
    description: EncryptionConfiguration that names the current key. A missing file means no encryption.
    type: path
    default: /etc/kubernetes/enc/encryption-config.yaml
  current:
    description: The current writer as C(provider:key) (for example C(secretbox:key2)), overriding I(encryption_config).
    type: str
  page_size:
    description: Keys per range request.
    type: int
    default: 500
  max_names:
    description: At most this many object names listed per status in I(not_current).
    type: int
    default: 50
  timeout:
    description: Seconds per request.
    type: int
    default: 30
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: How are the Secrets in etcd encrypted?
  k8s_hardening.kubeadm.etcd_secret_census:
  register: census

- name: Every Secret uses the current key
  ansible.builtin.assert:
    that: census.census.current == census.census.total
"""

RETURN = r"""
census:
  description: Counts; by_key maps C(provider:key) (or C(identity) for plain values) to a count.
  type: dict
  returned: always
  sample: {total: 12, current: 11, old: 1, plaintext: 0, by_key: {"secretbox:key2": 11, "aescbc:key1": 1}}
current:
  description: The writer the values were compared with, C(provider:key) or C(identity).
  type: str
  returned: always
not_current:
  description: Names (etcd keys) of values on an older key (C(old)) or in plain text (C(plaintext)), capped by I(max_names).
  type: dict
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import open_url

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._encryption import (
    EncryptionConfigError,
    census,
    classify_value,
    parse_config,
    range_pages,
    writer,
)


def current_writer(params):
    if params["current"]:
        if ":" in params["current"]:
            return tuple(params["current"].split(":", 1))
        return (params["current"], None)
    path = params["encryption_config"]
    if not os.path.exists(path):
        return ("identity", None)
    with open(path) as fh:
        return writer(parse_config(fh.read(), path))


def make_fetch(params):
    url = params["endpoint"].rstrip("/") + "/v3/kv/range"

    def fetch(request):
        resp = open_url(url, data=json.dumps(request), method="POST", headers={"Content-Type": "application/json"},
                        ca_path=params["cacert"], client_cert=params["cert"], client_key=params["key"],
                        validate_certs=True, timeout=params["timeout"])
        return json.loads(resp.read())
    return fetch


def run(module, fetch=None):
    params = module.params
    try:
        cur = current_writer(params)
    except EncryptionConfigError as exc:
        module.fail_json(msg=str(exc))
    fetch = fetch or make_fetch(params)
    values = []
    not_current = {"old": [], "plaintext": []}
    try:
        for page in range_pages(fetch, params["prefix"].encode("utf-8"), params["page_size"]):
            for key, value in page:
                values.append(value[:64])      # the prefix is all we need; keep no more of the value
                status = classify_value(value, cur)[0]
                if status != "current" and len(not_current[status]) < params["max_names"]:
                    not_current[status].append(key.decode("utf-8", "replace"))
    except Exception as exc:
        module.fail_json(msg="reading %s from etcd at %s failed: %s" % (params["prefix"], params["endpoint"], exc))
    label = "identity" if cur[0] == "identity" else "%s:%s" % cur
    module.exit_json(changed=False, census=census(values, cur), current=label, not_current=not_current)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoint=dict(type="str", default="https://127.0.0.1:2379"),
            cacert=dict(type="path", default="/etc/kubernetes/pki/etcd/ca.crt"),
            cert=dict(type="path", default="/etc/kubernetes/pki/etcd/healthcheck-client.crt"),
            key=dict(type="path", default="/etc/kubernetes/pki/etcd/healthcheck-client.key", no_log=False),
            prefix=dict(type="str", default="/registry/secrets/"),
            encryption_config=dict(type="path", default="/etc/kubernetes/enc/encryption-config.yaml"),
            current=dict(type="str"),
            page_size=dict(type="int", default=500),
            max_names=dict(type="int", default=50),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    run(module)


if __name__ == "__main__":
    main()
