#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_fingerprint
short_description: Tell in one call whether a node is still in the state a verified no-op run left
version_added: 0.1.0
description:
  - Computes a digest over every file the hardening roles read or write on a node (type, mode, owner, group
    and the sha256 of the content; size and mtime for large files and for entries with C(content=false)),
    in one module invocation.
  - C(state=read) compares it with the node's record of the last verified no-op run, and with the digest of
    this run's inputs (variables and collection, computed on the controller with the
    P(k8s_hardening.kubeadm.k8s_inputs_digest#filter) filter). C(converged) is true only when both equal the
    record and the record is younger than O(max_age). C(drifted) names the paths that changed.
  - C(state=record) writes the record, but only when the node's digest still equals O(expect_digest), the
    digest read before the run. The run then changed nothing, so this state with these inputs is a verified
    fixed point. The record holds digests only, never content or key material; it is written 0600 in a
    0700 directory.
  - The record is bookkeeping, not node configuration, so writing it never reports changed.
  - playbooks/harden.yml uses it to skip the roles on nodes that are converged (docs/noop.md).
options:
  paths:
    description:
      - What to fingerprint. Each entry is a path or a dict with C(path), C(content) (hash the content,
        default true), C(recurse) (everything below a directory, default false) and C(volatile) (files whose
        content, size and mtime change all the time, such as audit logs, count only by type, mode and
        owner; default false).
      - A path that does not exist is part of the fingerprint as absent.
    type: list
    elements: raw
    required: true
  inputs:
    description: The digest of this run's inputs (variables and collection).
    type: str
    required: true
  state:
    description: Read and compare, or record.
    type: str
    choices: [read, record]
    default: read
  record_path:
    description: Where the node keeps its record.
    type: path
    default: /var/lib/k8s-hardening/noop-record.json
  max_age:
    description:
      - Seconds after which a record no longer counts (time-based decisions such as certificate renewal
        need a full run). C(0) means no limit.
    type: int
    default: 86400
  expect_digest:
    description: With O(state=record), the digest read before the run; the record is written only when equal.
    type: str
attributes:
  check_mode:
    support: full
    details: With O(state=record), check mode writes nothing.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Is the node still in the verified state?
  k8s_hardening.kubeadm.node_fingerprint:
    paths:
      - {path: /etc/kubernetes, recurse: true}
      - /var/lib/kubelet/config.yaml
    inputs: "{{ my_inputs | k8s_hardening.kubeadm.k8s_inputs_digest }}"
  register: fingerprint
"""

RETURN = r"""
digest:
  description: The node's current digest.
  type: str
  returned: always
entries:
  description: How many paths the digest covers.
  type: int
  returned: always
converged:
  description: With O(state=read), whether the record matches the node, the inputs and O(max_age).
  type: bool
  returned: always
reasons:
  description: With O(state=read), why the node is not converged.
  type: list
  elements: str
  returned: always
drifted:
  description: With O(state=read), the paths whose digest differs from the record's.
  type: list
  elements: str
  returned: always
recorded:
  description: With O(state=record), whether the record was written.
  type: bool
  returned: always
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error, write_atomic
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fingerprint import (
    FingerprintError,
    build_record,
    combined_digest,
    compare,
    dump_record,
    load_record,
    walk,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="raw", required=True),
            inputs=dict(type="str", required=True),
            state=dict(type="str", choices=["read", "record"], default="read"),
            record_path=dict(type="path", default="/var/lib/k8s-hardening/noop-record.json"),
            max_age=dict(type="int", default=86400),
            expect_digest=dict(type="str"),
        ),
        required_if=[("state", "record", ["expect_digest"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        entries = walk(params["paths"])
    except FingerprintError as exc:
        module.fail_json(msg="node_fingerprint: paths: %s" % exc)
    digest = combined_digest(entries)
    now = time.time()
    result = dict(changed=False, digest=digest, entries=len(entries), converged=False, reasons=[], drifted=[],
                  recorded=False)
    record_path = params["record_path"]
    if params["state"] == "read":
        record = None
        if os.path.isfile(record_path):
            try:
                with open(record_path, "rb") as handle:
                    record = load_record(handle.read().decode("utf-8", "replace"))   # garbage: no record
            except OSError as exc:
                module.fail_json(msg="record_path: " + file_error(exc, record_path))
        verdict = compare(record, entries, params["inputs"], now, params["max_age"] or None)
        result.update(verdict)
        module.exit_json(**result)

    if digest != params["expect_digest"]:
        result["reasons"] = ["the run changed the node: the next run evaluates it again before it can count as "
                             "converged"]
        module.exit_json(**result)
    if not module.check_mode:
        directory = os.path.dirname(record_path)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            write_atomic(module, record_path, dump_record(build_record(entries, params["inputs"], now)), mode=0o600)
        except OSError as exc:
            module.fail_json(msg="record_path: " + file_error(exc, record_path))
        result["recorded"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
