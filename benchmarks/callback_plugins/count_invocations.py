# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""Count module invocations per host (benchmarks only; not part of the collection's plugins)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: count_invocations
type: aggregate
short_description: Count module invocations per host
description:
  - Counts, per host, every module execution that reached a node (each loop item counts once), and how many
    reported changed. Tasks that run only in the controller (set_fact, debug, assert, include_*, meta ...) are
    not counted; a task delegated to another host counts for the delegate.
  - Writes the counts as JSON to the file named by the environment variable COUNT_INVOCATIONS_FILE.
requirements:
  - enable in ansible.cfg or with ANSIBLE_CALLBACKS_ENABLED=count_invocations
"""

import json
import os

from ansible.plugins.callback import CallbackBase

CONTROLLER_ONLY = frozenset([
    "set_fact", "debug", "assert", "fail", "meta", "include_role", "import_role", "include_tasks",
    "import_tasks", "include_vars", "add_host", "group_by", "set_stats", "pause", "validate_argument_spec",
])


def _short(action):
    return (action or "").rsplit(".", 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "count_invocations"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.counts = {}

    def _host(self, result):
        delegated = (result._result or {}).get("_ansible_delegated_vars") or {}
        if delegated.get("ansible_delegated_host"):
            return delegated["ansible_delegated_host"]
        if result._task.delegate_to and "{" not in str(result._task.delegate_to):
            return str(result._task.delegate_to)
        return result._host.get_name()

    def _add(self, result, changed):
        if _short(result._task.action) in CONTROLLER_ONLY:
            return
        host = self._host(result)
        entry = self.counts.setdefault(host, {"invocations": 0, "changed": 0, "by_action": {}})
        entry["invocations"] += 1
        entry["changed"] += 1 if changed else 0
        action = _short(result._task.action)
        entry["by_action"][action] = entry["by_action"].get(action, 0) + 1

    def _on_result(self, result):
        if result._task.loop is not None or result._task.loop_with:
            return                    # a loop: its items were counted one by one
        self._add(result, bool(result._result.get("changed")))

    def v2_runner_on_ok(self, result):
        self._on_result(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._on_result(result)

    def v2_runner_item_on_ok(self, result):
        self._add(result, bool(result._result.get("changed")))

    def v2_runner_item_on_failed(self, result):
        self._add(result, False)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("COUNT_INVOCATIONS_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump(self.counts, handle, indent=2, sort_keys=True)
