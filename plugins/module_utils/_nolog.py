# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
"""Parameters that carry key material: no_log in the argument spec, and still usable results.

A parameter declared ``no_log=True`` is never logged (syslog/journal) and never echoed in ``invocation``.
But Ansible also adds every string inside such a dict or list (kind, apiVersion, provider and key names,
node names, paths, ...) to ``no_log_values`` and masks each of them wherever it occurs in the result, so a
summary such as ``secretbox:key1`` would come back as ``********``. ``hide_params`` takes the values out of
the module's parameters (the echo shows Ansible's placeholder), drops the words they added to
``no_log_values``, and keeps only the secrets the caller names masked. No Ansible import: the caller passes
its AnsibleModule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def leaf_strings(obj):
    """Every string (and number) inside ``obj``, as Ansible collects the values of a no_log parameter."""
    if isinstance(obj, bytes):
        obj = obj.decode("utf-8", "surrogateescape")
    if isinstance(obj, str):
        return [obj] if obj else []
    if isinstance(obj, dict):
        return [s for value in obj.values() for s in leaf_strings(value)]
    if isinstance(obj, (list, tuple, set)):
        return [s for value in obj for s in leaf_strings(value)]
    if obj is None or isinstance(obj, bool):
        return []
    return [str(obj)]


def hide_params(module, names, secrets=()):
    """Take the no_log parameters ``names`` out of ``module.params``; return {name: original value}.

    The echoed parameters become the placeholder; ``secrets`` (and nothing else of those parameters)
    stay in ``module.no_log_values``, masked wherever they would appear in the result."""
    originals = {}
    for name in names:
        value = module.params.get(name)
        originals[name] = value
        if value:
            module.no_log_values.difference_update(leaf_strings(value))
            module.params[name] = PLACEHOLDER
    add_secrets(module, secrets)
    return originals


def add_secrets(module, secrets):
    """Mask ``secrets`` (strings; empty ones ignored) wherever they would appear in the result."""
    module.no_log_values.update(s for s in secrets if isinstance(s, str) and s)


__all__ = ["PLACEHOLDER", "add_secrets", "hide_params", "leaf_strings"]
