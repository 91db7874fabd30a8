#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_serving_cert
short_description: Plan a kubelet serving certificate signed by the cluster CA (issue or renew)
version_added: 0.1.0
description:
  - Runs on the controller (C(delegate_to=localhost)), where C(cryptography) is installed, on what
    M(k8s_hardening.kubeadm.read_files) read, that is the cluster CA (certificate and key, on the first
    control-plane node) and the node's current serving certificate and key.
  - Keeps the current certificate when it chains to the CA, names the node (C(CN=system:node:<node>),
    C(O=system:nodes), server auth), carries every wanted DNS name and IP address, is not valid longer
    than O(max_validity_days) and does not expire within O(renew_days); otherwise issues a new key and
    certificate (the same C(_pki) code the etcd role issues its certificates with).
  - Writes nothing; the calling role writes RV(files) (the key 0600, with C(no_log)). RV(files) is empty
    when the current certificate is kept, so a kept key never travels.
options:
  node_name:
    description: The node's name (the Node object's name).
    type: str
    required: true
  dns_names:
    description: More DNS names for the SANs (the host name); the node name is always there.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: The node's IP addresses for the SANs; the first is the kubelet's InternalIP.
    type: list
    elements: str
    default: []
  ca_cert:
    description: The cluster CA certificate (PEM), as read from the CA host.
    type: str
    required: true
  ca_key:
    description: The cluster CA key (PEM). Never logged.
    type: str
    default: ''
  cert:
    description: The node's current serving certificate (PEM), empty when there is none.
    type: str
    default: ''
  key:
    description: The node's current serving key (PEM), empty when there is none. Never logged.
    type: str
    default: ''
  cert_path:
    description: Where the serving certificate goes on the node.
    type: str
    default: /var/lib/kubelet/pki/kubelet-serving.crt
  key_path:
    description: Where the serving key goes on the node.
    type: str
    default: /var/lib/kubelet/pki/kubelet-serving.key
  validity_days:
    description: Validity of a newly issued certificate.
    type: int
    default: 365
  renew_days:
    description: Re-issue when the certificate expires within this many days.
    type: int
    default: 30
  max_validity_days:
    description: Re-issue a certificate valid for longer than this.
    type: int
    default: 365
  key_type:
    description: Type of a new key.
    type: str
    choices: [rsa, ecdsa]
    default: rsa
  key_size:
    description: RSA bits or EC curve size (256, 384); default 2048 for RSA, 256 for ECDSA.
    type: int
attributes:
  check_mode:
    support: full
    details: Writes nothing in any mode; the calling role's copy tasks follow check mode.
  diff_mode:
    support: none
    details: The role's copy task of the certificate shows the diff; the key is never shown.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Plan the kubelet serving certificate of this node
  k8s_hardening.kubeadm.kubelet_serving_cert:
    node_name: "{{ ansible_facts.k8s_hardening_node.node_name }}"
    dns_names: ["{{ ansible_facts.hostname }}"]
    ip_addresses: ["{{ ansible_facts.default_ipv4.address }}"]
    ca_cert: "{{ kubelet__ca_files['/etc/kubernetes/pki/ca.crt'] }}"
    ca_key: "{{ kubelet__ca_files['/etc/kubernetes/pki/ca.key'] }}"
    cert: "{{ kubelet__serving_files['/var/lib/kubelet/pki/kubelet-serving.crt'] | default('') }}"
    key: "{{ kubelet__serving_files['/var/lib/kubelet/pki/kubelet-serving.key'] | default('') }}"
  delegate_to: localhost
  register: kubelet__serving_plan
  no_log: true  # files carries the new key
"""

RETURN = r"""
issue:
  description: Whether a new key and certificate are issued.
  type: bool
  returned: success
reasons:
  description: Why the current certificate is replaced (empty when it is kept).
  type: list
  elements: str
  returned: success
certificate:
  description: The resulting certificate (subject, issuer, dns_names, ip_addresses, not_after, days_left, sha256).
  type: dict
  returned: success
files:
  description: The certificate (0644) and key (0600, secret) to write when RV(issue); empty otherwise.
    Contains key material.
  type: list
  elements: dict
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._pki import (
        PKIError, kubelet_serving_profile, plan_leaf,
    )
    IMPORT_ERROR = None
except ImportError as exc:  # cryptography missing where the module runs
    IMPORT_ERROR = exc


def run(p):
    if not p["ca_cert"] or not p["ca_key"]:
        raise PKIError("the cluster CA certificate and key must be readable on the CA host (kubelet_serving_ca_host); "
                       "with an external CA (no ca.key on the nodes) set kubelet_serving_cert_enabled: false")
    profile = kubelet_serving_profile(p["node_name"], p["dns_names"], p["ip_addresses"])
    plan = plan_leaf(p["ca_cert"], p["ca_key"], p["cert"] or None, p["key"] or None, profile,
                     p["renew_days"], p["max_validity_days"], p["validity_days"], p["key_type"], p["key_size"])
    info = plan["info"]
    files = []
    if plan["issue"]:
        files = [{"path": p["cert_path"], "content": plan["cert"], "mode": "0644", "secret": False},
                 {"path": p["key_path"], "content": plan["key"], "mode": "0600", "secret": True}]
    return {
        "issue": plan["issue"], "reasons": plan["reasons"],
        "certificate": {k: info.get(k) for k in ("subject", "issuer", "dns_names", "ip_addresses", "not_after",
                                                 "days_left", "sha256")},
        "files": files,
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node_name=dict(type="str", required=True),
            dns_names=dict(type="list", elements="str", default=[]),
            ip_addresses=dict(type="list", elements="str", default=[]),
            ca_cert=dict(type="str", required=True),
            ca_key=dict(type="str", default="", no_log=True),
            cert=dict(type="str", default=""),
            key=dict(type="str", default="", no_log=True),
            cert_path=dict(type="str", default="/var/lib/kubelet/pki/kubelet-serving.crt"),
            key_path=dict(type="str", no_log=False, default="/var/lib/kubelet/pki/kubelet-serving.key"),
            validity_days=dict(type="int", default=365),
            renew_days=dict(type="int", default=30),
            max_validity_days=dict(type="int", default=365),
            key_type=dict(type="str", choices=["rsa", "ecdsa"], default="rsa"),
            key_size=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    if IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(IMPORT_ERROR))
    try:
        result = run(module.params)
    except PKIError as exc:
        module.fail_json(msg="kubelet serving certificate of %s: %s" % (module.params["node_name"], exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
