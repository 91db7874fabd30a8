# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
"""The optional third-party library the node-side code needs (PyYAML), imported once and guarded.

A node without PyYAML gets the module's ``fail_json`` with ``missing_required_lib("PyYAML")``, never an
ImportError traceback: the modules check ``YAML_IMPORT_ERROR``. ``cryptography`` (controller side) is
guarded in _pki, ``kubernetes`` in the modules that talk to the API. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    import yaml
except ImportError:
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

__all__ = ["YAML_IMPORT_ERROR", "yaml"]
