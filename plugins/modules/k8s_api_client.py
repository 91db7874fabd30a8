#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_api_client
short_description: Check that the kubernetes Python client and a kubeconfig are usable where API calls run
version_added: 0.1.0
description:
  - The first half of the C(k8s_api) role's preflight, on the host where the collection's API calls run. Needs only
    Python and PyYAML, so it answers on a host that lacks the client.
  - Reports whether the C(kubernetes) Python library is importable by the interpreter running the module, and at
    least the version C(kubernetes.core) needs (24.2.0); whether the kubeconfig is readable and names a server for
    its current context; and, with O(distro_candidate), the version of the distribution's C(python3-kubernetes)
    package, so an install can pick it or pip.
  - Never fails on what it finds; RV(problems) lists each finding with how to fix it, and the role stops on them.
    Makes no network connection unless O(probe) is set.
options:
  kubeconfig:
    description: The kubeconfig the collection's API calls use.
    type: path
    default: /etc/kubernetes/admin.conf
  distro_candidate:
    description: Also look up the candidate version of the distribution's C(python3-kubernetes) (apt or dnf).
    type: bool
    default: false
  probe:
    description:
      - When the client and the kubeconfig are usable, ask the API server for its version (C(GET /version)) and
        report an error as one message saying what to do (connection refused, timeout, TLS, 401, 403, ...).
    type: bool
    default: false
  timeout:
    description: Seconds the API may take to answer the probe.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Reads only.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Check the client and the kubeconfig on the API host
  k8s_hardening.kubeadm.k8s_api_client:
    kubeconfig: /etc/kubernetes/admin.conf
  delegate_to: "{{ k8s_api_host }}"
  run_once: true
  register: k8s_api__client
"""

RETURN = r"""
python:
  description: The interpreter that ran the module (the one API calls use on this host).
  type: str
  returned: always
in_virtualenv:
  description: Whether that interpreter is a virtualenv (the distribution's package would not reach it).
  type: bool
  returned: always
externally_managed:
  description: Whether pip refuses to install into that interpreter without --break-system-packages (PEP 668).
  type: bool
  returned: always
client_version:
  description: Version of the importable kubernetes library, or null.
  type: str
  returned: always
client_problem:
  description: What is wrong with the client and how to install it, or null.
  type: str
  returned: always
kubeconfig_problem:
  description: What is wrong with the kubeconfig and how to fix it, or null.
  type: str
  returned: always
server:
  description: The API server URL of the kubeconfig's current context.
  type: str
  returned: when the kubeconfig is usable
api_problem:
  description: With O(probe), why the API did not answer and what to do, or null.
  type: str
  returned: always
server_version:
  description: With O(probe), the API server's gitVersion when it answered.
  type: str
  returned: when the probe succeeded
problems:
  description: Every problem found (client, kubeconfig, API).
  type: list
  elements: str
  returned: always
minimum:
  description: The least client version accepted.
  type: str
  returned: always
pip_requirement:
  description: What an install through pip asks for.
  type: str
  returned: always
distro_package:
  description: The distribution's package name.
  type: str
  returned: always
distro_candidate:
  description: Candidate version of that package (with O(distro_candidate)), or null.
  type: str
  returned: always
install_method:
  description: C(package) when the distribution's package is new enough for this interpreter, else C(pip).
  type: str
  returned: always
"""

import os
import sys
import sysconfig

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._k8s_api import (
    DISTRO_PACKAGE, MIN_CLIENT_VERSION, PIP_REQUIREMENT, client_problem, client_version, install_method,
    describe_api_error, kubeconfig_server, parse_candidate, read_kubeconfig, server_version)


def distro_candidate(module):
    env = {"LANG": "C", "LC_ALL": "C"}
    apt = module.get_bin_path("apt-cache")
    if apt:
        rc, out, dummy = module.run_command([apt, "policy", DISTRO_PACKAGE], environ_update=env)
        return parse_candidate(out, "apt") if rc == 0 else None
    dnf = module.get_bin_path("dnf")
    if dnf:
        rc, out, dummy = module.run_command([dnf, "-q", "repoquery", "--latest-limit=1", "--qf", "%{version}\n",
                                             DISTRO_PACKAGE], environ_update=env)
        return parse_candidate(out, "dnf") if rc == 0 else None
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", default="/etc/kubernetes/admin.conf"),
            distro_candidate=dict(type="bool", default=False),
            probe=dict(type="bool", default=False),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    version, import_error = client_version()
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    candidate = distro_candidate(module) if module.params["distro_candidate"] else None
    result = dict(
        changed=False, python=sys.executable, in_virtualenv=in_venv,
        externally_managed=os.path.exists(os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED")),
        client_version=version, client_problem=client_problem(version, import_error, python=sys.executable),
        minimum=MIN_CLIENT_VERSION, pip_requirement=PIP_REQUIREMENT, distro_package=DISTRO_PACKAGE,
        distro_candidate=candidate, install_method=install_method(in_venv, candidate))
    data, result["kubeconfig_problem"] = read_kubeconfig(module.params["kubeconfig"])
    result["api_problem"] = None
    if data is not None:
        result["server"] = kubeconfig_server(data)[0]
        if module.params["probe"] and not result["client_problem"]:
            try:
                result["server_version"] = server_version(module.params["kubeconfig"], module.params["timeout"])
            except Exception as exc:  # ApiException, urllib3 errors, ConfigException: one message
                result["api_problem"] = describe_api_error(exc, "ask", "the API server for its version (GET /version)",
                                                           result["server"], module.params["kubeconfig"])
    result["problems"] = [p for p in (result["client_problem"], result["kubeconfig_problem"], result["api_problem"])
                          if p]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
