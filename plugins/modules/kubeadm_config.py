#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubeadm_config
short_description: Persist hardening where kubeadm upgrade reads it (kubeadm-config / kubelet-config)
version_added: 0.1.0
description:
  - C(kubeadm upgrade) regenerates the static pod manifests from the C(ClusterConfiguration) in the
    C(kube-system/kubeadm-config) ConfigMap and C(/var/lib/kubelet/config.yaml) from the C(kube-system/kubelet-config)
    ConfigMap. This module writes the collection's settings there, so an upgrade keeps them.
  - O(config=cluster) merges static pod contributions (the format of the C(static_pods) role with C(flags),
    C(absent_flags), C(list_remove), C(volumes)) into C(apiServer), C(controllerManager), C(scheduler) and
    C(etcd.local) C(extraArgs)/C(extraVolumes), in the shape of the document's version (a map in v1beta3, a list of name/value in v1beta4).
  - O(config=kubelet) deep-merges O(settings) into the C(KubeletConfiguration).
  - Through the API (the C(kubernetes) Python client with O(kubeconfig), normally C(/etc/kubernetes/admin.conf)) when it
    answers; otherwise, or with O(target=file), on the file O(dest) (read from O(src) when given, else O(dest)), which then
    holds the would-be ConfigMap content as a kubeadm config document.
  - The result is validated against the kubeadm/kubelet field names before anything is written; compares data, writes
    only on a difference; file writes are atomic with a backup.
options:
  config:
    description: Which configuration.
    type: str
    choices: [cluster, kubelet]
    required: true
  contributions:
    description:
      - For O(config=cluster). The list of static pod contributions, or the merged dict per component
        (C(etcd), C(kube-apiserver), C(kube-controller-manager), C(kube-scheduler)).
    type: raw
  settings:
    description: For O(config=kubelet). KubeletConfiguration keys, nested; V(null) removes a key.
    type: dict
    default: {}
  target:
    description: V(auto) uses the API when O(kubeconfig) exists and the API answers, else the file O(dest).
    type: str
    choices: [auto, api, file]
    default: auto
  kubeconfig:
    description: Kubeconfig with rights on kube-system ConfigMaps.
    type: path
    default: /etc/kubernetes/admin.conf
  api_timeout:
    description: Seconds to wait for the API.
    type: int
    default: 10
  src:
    description: A kubeadm config file (multi-document or a ConfigMap) to start from in file mode.
    type: path
  dest:
    description: File written in file mode.
    type: path
  kubernetes_minor:
    description:
      - The cluster's Kubernetes minor. Picks the apiVersion kubeadm stores (version table - v1beta4 from 1.31, else
        v1beta3) when file mode starts from nothing, and refuses an apiVersion that minor's kubeadm cannot read.
    type: int
  backup:
    description: Keep a copy of O(dest) when it changes.
    type: bool
    default: true
requirements:
  - kubernetes (Python client) for the API target
attributes:
  diff_mode:
    support: full
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Keep the apiserver hardening across kubeadm upgrade
  k8s_hardening.kubeadm.kubeadm_config:
    config: cluster
    contributions: "{{ k8s_hardening_static_pod_applied }}"
    dest: /etc/kubernetes/k8s-hardening/kubeadm-config.yaml
  run_once: true

- name: Keep the kubelet hardening across kubeadm upgrade
  k8s_hardening.kubeadm.kubeadm_config:
    config: kubelet
    settings: {readOnlyPort: 0, tlsMinVersion: VersionTLS12}
    src: /var/lib/kubelet/config.yaml
    dest: /etc/kubernetes/k8s-hardening/kubelet-config.yaml
"""

RETURN = r"""
target:
  description: C(api) or the file written.
  type: str
  returned: always
api_reachable:
  description: Whether the API answered (false when not tried).
  type: bool
  returned: always
changes:
  description: Key paths that changed, with old and new values.
  type: list
  elements: dict
  returned: always
warnings_persist:
  description: Settings kubeadm's configuration cannot hold (they must be re-applied after an upgrade).
  type: list
  elements: str
  returned: always
config:
  description: The resulting configuration document.
  type: dict
  returned: success
"""

import os
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error, keep_backup
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._k8s_api import (
    api_status, client_problem, client_version, core_v1_api, describe_api_error, kubeconfig_server, read_kubeconfig)

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubeadm_config import (
    CLUSTER_CONFIGMAP, CLUSTER_KIND, KUBELET_CONFIGMAP, KubeadmConfigError, apply_contributions,
    apply_kubelet_settings, compare, dump, empty_cluster_configuration, empty_kubelet_configuration, find_document,
    load_documents, validate_cluster_configuration)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubelet import (
    KUBELET_KIND, format_changes, write_atomic)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    cipher_suites_for, normalize_cipher_suites)

NAMESPACE = "kube-system"


UPLOAD_PHASE = {"kubeadm-config": "kubeadm", "kubelet-config": "kubelet"}


def missing_configmap_hint(name):
    """What to do when kube-system/<name> does not exist (HTTP 404)."""
    return ("ConfigMap %s/%s does not exist (HTTP 404): kubeadm init uploads it; upload it with "
            "`kubeadm init phase upload-config %s --config <your kubeadm config>` on a control-plane node, or use "
            "target=file (kubeadm_persist_target: file) to write the would-be content to a file instead; nothing written"
            % (NAMESPACE, name, UPLOAD_PHASE.get(name, "all")))


class ApiTarget(object):
    """kube-system ConfigMaps through the kubernetes client; every API error becomes one message."""

    def __init__(self, kubeconfig, timeout):
        self.kubeconfig = kubeconfig
        # a down API should fall back quickly, not after urllib3's default retries
        self.api, self.server = core_v1_api(kubeconfig, retries=1)
        self.timeout = timeout

    def error(self, exc, action, what, hints=None):
        return describe_api_error(exc, action, what, self.server, self.kubeconfig, hints)

    def ping(self):
        self.api.get_api_resources(_request_timeout=self.timeout)

    def read(self, name, key):
        try:
            cm = self.api.read_namespaced_config_map(name, NAMESPACE, _request_timeout=self.timeout)
        except Exception as exc:  # ApiException, urllib3 errors: one message, never a traceback
            raise ApiError(self.error(exc, "read", "ConfigMap %s/%s" % (NAMESPACE, name),
                                      {404: missing_configmap_hint(name)}))
        return (cm.data or {}).get(key, "")

    def write(self, name, key, text):
        try:
            self.api.patch_namespaced_config_map(name, NAMESPACE, {"data": {key: text}},
                                                 _request_timeout=self.timeout)
        except Exception as exc:
            raise ApiError(self.error(exc, "patch", "ConfigMap %s/%s" % (NAMESPACE, name),
                                      {404: missing_configmap_hint(name)}))


class ApiError(Exception):
    """An API call failed; the message says what and what to do."""


def _api_target(module):
    """(ApiTarget or None, why not). Without a kubeconfig, client or answering API, auto falls back to file;
    an API that answers with an error (401, 403, ...) fails even in auto: that is no reason to write a file."""
    params = module.params
    if params["target"] == "file":
        return None, "target=file"
    if not os.path.exists(params["kubeconfig"]):
        return None, "%s does not exist" % params["kubeconfig"]
    version, import_error = client_version()
    problem = client_problem(version, import_error, python=sys.executable)
    if problem:
        return None, problem
    data, problem = read_kubeconfig(params["kubeconfig"])
    if problem:
        return None, problem
    try:
        target = ApiTarget(params["kubeconfig"], params["api_timeout"])
    except Exception as exc:  # ConfigException: a kubeconfig the client cannot use
        return None, describe_api_error(exc, "load", "the kubeconfig", kubeconfig_server(data)[0], params["kubeconfig"])
    try:
        target.ping()
    except Exception as exc:
        message = target.error(exc, "query", "the API's resource list")
        if api_status(exc) is not None:
            module.fail_json(msg=message)
        return None, message
    return target, None


def _parse(text, kind, key, default):
    if not (text or "").strip():
        return default
    doc = find_document(text, kind, key)
    if doc is None:
        docs = load_documents(text)
        raise KubeadmConfigError("no %s document found (found: %s)" % (
            kind, ", ".join(str(d.get("kind")) for d in docs if isinstance(d, dict)) or "nothing"))
    return doc


def _read(path):
    if path and os.path.exists(path):
        with open(path, "r") as handle:
            return handle.read()
    return ""


def run(module):
    params = module.params
    is_cluster = params["config"] == "cluster"
    name, key = CLUSTER_CONFIGMAP if is_cluster else KUBELET_CONFIGMAP
    kind = CLUSTER_KIND if is_cluster else KUBELET_KIND
    api, why = _api_target(module)
    if api is None and params["target"] == "api":
        module.fail_json(msg="target=api but the API cannot be used: %s" % why)
    if api is None and not params["dest"]:
        module.fail_json(msg="the API cannot be used (%s) and dest is not set" % why)

    try:
        if api is not None:
            text = api.read(name, key)
            default = None
        else:
            text = _read(params["src"]) or _read(params["dest"])
            default = (empty_cluster_configuration(params["kubernetes_minor"]) if is_cluster
                       else empty_kubelet_configuration())
        before = _parse(text, kind, key, default)
        if before is None:
            raise KubeadmConfigError("ConfigMap %s/%s has no %s" % (NAMESPACE, name, key))
        if is_cluster:
            after, persist_warnings = apply_contributions(before, params["contributions"] or [])
            errors = validate_cluster_configuration(after, params["kubernetes_minor"])
        else:
            settings = dict(params["settings"] or {})
            if settings.get("tlsCipherSuites"):
                settings["tlsCipherSuites"] = cipher_suites_for(settings["tlsCipherSuites"],
                                                                "settings.tlsCipherSuites", profile="kubelet")
            after, errors = apply_kubelet_settings(before, settings, normalize_cipher_suites)
            persist_warnings = []
    except ApiError as exc:
        module.fail_json(msg=str(exc))
    except (KubeadmConfigError, ValueError) as exc:
        module.fail_json(msg="%s: %s; nothing written" % (name, exc))
    if errors:
        module.fail_json(msg="%s would not be valid, nothing written: %s" % (name, "; ".join(errors)), errors=errors)

    dest = params["dest"]
    file_text = _read(dest) if api is None else ""
    if file_text:
        # file mode writes dest: compare with what dest holds now
        try:
            before = _parse(file_text, kind, key, None)
        except KubeadmConfigError as exc:
            module.fail_json(msg="%s: %s; nothing written" % (dest, exc))
    changes = compare(before, after)
    changed = bool(changes) or (api is None and not file_text)
    result = dict(changed=changed, target="api" if api is not None else dest, api_reachable=api is not None,
                  changes=changes, warnings_persist=persist_warnings, config=after)
    for warning in persist_warnings:
        module.warn(warning)
    if api is None:
        module.warn("%s/%s not updated through the API (%s); wrote the would-be content to %s"
                    % (NAMESPACE, name, why, dest))
    if module._diff:
        result["diff"] = dict(before_header="%s (%s)" % (result["target"], ", ".join(format_changes(changes))),
                              after_header=result["target"], before=dump(before), after=dump(after))
    if changed and not module.check_mode:
        if api is not None:
            try:
                api.write(name, key, dump(after))
            except ApiError as exc:
                module.fail_json(msg=str(exc))
        else:
            directory = os.path.dirname(dest)
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)
            if file_text and params["backup"]:
                result["backup_file"] = keep_backup(module, dest, None, 0)[0]
            write_atomic(module, dest, dump(after))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="str", choices=["cluster", "kubelet"], required=True),
            contributions=dict(type="raw"),
            settings=dict(type="dict", default={}),
            target=dict(type="str", choices=["auto", "api", "file"], default="auto"),
            kubeconfig=dict(type="path", default="/etc/kubernetes/admin.conf"),
            api_timeout=dict(type="int", default=10),
            src=dict(type="path"),
            dest=dict(type="path"),
            kubernetes_minor=dict(type="int"),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        module.exit_json(**run(module))
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=file_error(exc, module.params["dest"] or module.params["src"]))


if __name__ == "__main__":
    main()
