#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cis_report
short_description: Write the CIS compliance report of several nodes (JSON, JUnit, Markdown, HTML)
version_added: 1.0.0
description:
  - Assembles the C(cis_node_facts) results of every node into one report and writes it to O(dest) as
    C(report.json), C(report.junit.xml), C(report.md) and C(report.html) (a node x control grid coloured by
    status, self-contained, no JavaScript).
  - Meant to run once on the controller (C(delegate_to=localhost), C(run_once)). The output is deterministic
    (no timestamps), so a file is rewritten only when the compliance state changed; each write is atomic.
  - Returns a one-line summary per node and the failed controls with observed and expected values.
options:
  dest:
    description: Directory for the report files; created (0755) if missing.
    type: path
    required: true
  nodes:
    description: Host name to the registered result of C(cis_node_facts) on that host.
    type: dict
    required: true
  not_evaluated:
    description: Hosts of the play that produced no result (unreachable, failed earlier); listed in the report.
    type: list
    elements: str
    default: []
  cluster:
    description:
      - The cluster row (filter C(cis_cluster_results) over the C(k8s_hardening_cluster) fact of the cluster_policies
        role) - CIS section 5 evaluated through the API, with its findings. Omitted, the report has node rows only.
    type: dict
  benchmark:
    description: The benchmark the nodes were evaluated for.
    type: str
    default: cis-1.12
    choices: [cis-1.10, cis-1.11, cis-1.12]
  benchmark_source:
    description: How the benchmark was chosen, shown in the report (C(operator), or the version it was detected from).
    type: str
  versions:
    description: Host name to its Kubernetes version; the report lists the version table's notes for each.
    type: dict
  upgrade:
    description:
      - C(target_version) and C(nodes) (host to the findings of the P(k8s_hardening.kubeadm.k8s_version_upgrade#filter)
        filter); the report gets an upgrade section in JSON, Markdown and HTML, and the summary a line per finding.
    type: dict
  formats:
    description: Which files to write.
    type: list
    elements: str
    default: [json, junit, markdown, html]
    choices: [json, junit, markdown, html]
  mode:
    description: Mode of the report files.
    type: raw
    default: "0644"
attributes:
  diff_mode:
    support: full
    details: The diff names the report files that change, and shows the Markdown report before and after.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Write the CIS report
  k8s_hardening.kubeadm.cis_report:
    dest: "{{ lookup('env', 'PWD') }}/reports"
    nodes: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'report__node'))) }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary_lines:
  description: One line per node (counts per status), then one line per failed control.
  type: list
  elements: str
  returned: always
failed_controls:
  description: The failed controls - node, id, title, observed, expected, reason.
  type: list
  elements: dict
  returned: always
totals:
  description: Counts per status over all nodes.
  type: dict
  returned: always
not_evaluated:
  description: Hosts without results.
  type: list
  returned: always
cluster_findings:
  description: How many cluster findings count (0 without a cluster row).
  type: int
  returned: always
files:
  description: The report files (written or, in check mode, that would be written).
  type: list
  elements: str
  returned: always
changed_files:
  description: The report files whose content changed.
  type: list
  elements: str
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error, write_atomic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._report import (
    RENDERERS, ReportError, build_report, summary_lines,
)


def _current(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _write(module, path, data, mode):
    write_atomic(module, path, data, mode=0o600)
    module.set_mode_if_different(path, mode, False)


def plan(params):
    """(report, {path: bytes}) for the requested formats."""
    report = build_report(params["nodes"], params["benchmark"], params["not_evaluated"], params.get("cluster"),
                          versions=params.get("versions"), benchmark_source=params.get("benchmark_source"),
                          upgrade=params.get("upgrade"))
    files = {}
    for fmt in params["formats"]:
        name, render = RENDERERS[fmt]
        files[os.path.join(params["dest"], name)] = to_bytes(render(report))
    return report, files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            nodes=dict(type="dict", required=True),
            not_evaluated=dict(type="list", elements="str", default=[]),
            cluster=dict(type="dict"),
            benchmark=dict(type="str", default="cis-1.12", choices=["cis-1.10", "cis-1.11", "cis-1.12"]),
            formats=dict(type="list", elements="str", default=["json", "junit", "markdown", "html"],
                         choices=["json", "junit", "markdown", "html"]),
            mode=dict(type="raw", default="0644"),
            benchmark_source=dict(type="str"),
            versions=dict(type="dict"),
            upgrade=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    try:
        report, files = plan(module.params)
    except ReportError as exc:
        module.fail_json(msg=str(exc))
    changed_files = sorted(p for p, data in files.items() if _current(p) != data)
    diff = {"before_header": "report files", "after_header": "report files",
            "before": "", "after": "".join("changed: %s\n" % p for p in changed_files)}
    md = os.path.join(module.params["dest"], RENDERERS["markdown"][0])
    if md in changed_files:
        diff = [diff, {"before_header": md, "after_header": md,
                       "before": (_current(md) or b"").decode("utf-8", "replace"), "after": files[md].decode("utf-8")}]
    if changed_files and not module.check_mode:
        try:
            if not os.path.isdir(module.params["dest"]):
                os.makedirs(module.params["dest"], 0o755)
            for path in changed_files:
                _write(module, path, files[path], module.params["mode"])
        except OSError as exc:
            module.fail_json(msg="dest: " + file_error(exc, module.params["dest"]))
    module.exit_json(changed=bool(changed_files), summary_lines=summary_lines(report), failed_controls=report["failed"],
                     cluster_findings=len([f for f in report["cluster_findings"] if f.get("counts")]),
                     totals=report["totals"], not_evaluated=report["not_evaluated"], files=sorted(files),
                     changed_files=changed_files, diff=diff)


if __name__ == "__main__":
    main()
