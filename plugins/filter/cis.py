# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""Filters over the collection's CIS control table (plugins/module_utils/_cis.py).

This file holds four filters; each has its DOCUMENTATION/EXAMPLES/RETURN in a sidecar file next to it
(cis_remedies.yml, cis_violations.yml, cis_controls.yml, cis_static_pod_contribution.yml), the layout
ansible-doc reads for a file with several filters (a DOCUMENTATION here would shadow them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._cis import (
    DEFAULT_BENCHMARK,
    CISError,
    controls,
    remedies,
    static_pod_contribution,
    violations,
)


def _call(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except CISError as exc:
        raise AnsibleFilterError(str(exc))


def cis_remedies(target_type, component=None, waivers=None, benchmark=DEFAULT_BENCHMARK, paths=None):
    return _call(remedies, target_type, component, ({} if waivers is None else waivers), benchmark, paths)


def cis_violations(desired, target_type, component=None, waivers=None, benchmark=DEFAULT_BENCHMARK, paths=None):
    return _call(violations, desired, target_type, component, ({} if waivers is None else waivers), benchmark, paths)


def cis_controls(benchmark=DEFAULT_BENCHMARK):
    rows = _call(controls, benchmark)
    return [dict((k, v) for k, v in row.items() if k != "overrides") for row in rows]


def cis_static_pod_contribution(component, waivers=None, benchmark=DEFAULT_BENCHMARK, source="cis"):
    return _call(static_pod_contribution, component, ({} if waivers is None else waivers), benchmark, source)


class FilterModule(object):
    """CIS table filters."""

    def filters(self):
        return {
            "cis_remedies": cis_remedies,
            "cis_violations": cis_violations,
            "cis_controls": cis_controls,
            "cis_static_pod_contribution": cis_static_pod_contribution,
        }
