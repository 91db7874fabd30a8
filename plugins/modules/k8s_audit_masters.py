#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_audit_masters
short_description: Count the API requests made by system:masters users in a kube-apiserver audit log
version_added: 1.1.0
description:
  - Read-only. Streams the audit log (JSON lines of the log backend) on the node and counts the requests whose user
    is in group C(system:masters) at or after O(since), for the checklist's rule that system:masters is a
    break-glass identity only (CIS 5.1.7).
  - Returns counts, user names and the time of the last such request; never request or response bodies.
  - A missing or unreadable log is reported (C(readable=false) with the reason), never a failure.
options:
  path:
    description: The audit log file (kube-apiserver C(--audit-log-path) as seen on the node).
    type: path
    required: true
  since:
    description: RFC 3339 time (UTC, C(Z)); earlier events (the bootstrap) are not counted. Empty counts all.
    type: str
    default: ""
  since_offset:
    description: Seconds added to O(since) (the bootstrap grace period after kube-system's creationTimestamp).
    type: int
    default: 0
attributes:
  diff_mode:
    support: none
    details: Read-only.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Requests by system:masters users after bootstrap
  k8s_hardening.kubeadm.k8s_audit_masters:
    path: /var/log/kubernetes/audit/audit.log
    since: "2026-01-01T10:00:00Z"   # kube-system's creationTimestamp
    since_offset: 3600
"""

RETURN = r"""
readable:
  description: Whether the log could be read.
  type: bool
  returned: always
path:
  description: The log read.
  type: str
  returned: always
events:
  description: Requests by system:masters users at or after since.
  type: int
  returned: always
users:
  description: Their user names (at most 20).
  type: list
  elements: str
  returned: always
last:
  description: Time of the last such request.
  type: str
  returned: always
error:
  description: Why the log could not be read.
  type: str
  returned: when readable is false
"""

import io

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._rbac import masters_audit_events, rfc3339_after


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), since=dict(type="str", default=""),
                           since_offset=dict(type="int", default=0)),
        supports_check_mode=True,
    )
    path = module.params["path"]
    since = module.params["since"] or None
    if since:
        try:
            since = rfc3339_after(since, module.params["since_offset"])
        except ValueError as exc:
            module.fail_json(msg="since: not an RFC 3339 time (%s): %s" % (module.params["since"], exc))
    try:
        with io.open(path, "r", encoding="utf-8", errors="replace") as handle:
            res = masters_audit_events(handle, since)
    except (IOError, OSError) as exc:
        module.exit_json(changed=False, readable=False, path=path, events=0, users=[], last=None,
                         error=str(exc))
    module.exit_json(changed=False, readable=True, path=path, since=since, events=res["events"], users=res["users"],
                     last=res["last"], bad_lines=res["bad_lines"])


if __name__ == "__main__":
    main()
