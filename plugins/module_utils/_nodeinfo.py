# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# Pure logic behind the kubeadm_facts module: what a node is, from the
# text of the files kubeadm leaves on it. No Ansible import; unit-tested.
"""Describe a kubeadm node from the files kubeadm leaves on it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError,
    get_flags,
    load as load_manifest,
)

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

# Where the kubeadm packages put the kubelet unit and its drop-ins.
KUBELET_UNIT_CANDIDATES = (
    "/usr/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
    "/etc/systemd/system/kubelet.service",
)
KUBELET_DROPIN_DIRS = (
    "/usr/lib/systemd/system/kubelet.service.d",
    "/lib/systemd/system/kubelet.service.d",
    "/etc/systemd/system/kubelet.service.d",
)

_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.\-+]*)?$")


class NodeInfoError(Exception):
    """The host is not a kubeadm node, or its files contradict each other."""


def parse_version(text):
    """Return (full, minor) from 'v1.28.7', '1.28.7-rc.1' or an image tag, or (None, None).
    What a version means is the version table's (_versions.parse_version: major 1)."""
    if not text:
        return None, None
    text = text.strip()
    m = _VERSION_RE.search(text.split(" ")[-1])
    if not m:
        return None, None
    try:
        _major, minor, patch = _versions.parse_version(m.group(0))
    except _versions.VersionError:
        return None, None
    return "1.%d.%d" % (minor, patch), minor


def image_tag(image):
    """The tag of an image reference, without a digest: 'registry.k8s.io/etcd:3.5.10-0' -> '3.5.10-0'."""
    if not image:
        return None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1]


def parse_env_file(text):
    """Parse a systemd EnvironmentFile (KEY="value" lines) into a dict."""
    env = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export "):].strip()
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value]
        env[key] = " ".join(parts)
    return env


def parse_unit(text):
    """Return {'environment': {...}, 'environment_files': [...], 'exec_start': str|None} of a unit or drop-in."""
    result = {"environment": {}, "environment_files": [], "exec_start": None}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        value = value.strip()
        if key == "Environment":
            for item in shlex.split(value):
                if "=" in item:
                    k, v = item.split("=", 1)
                    result["environment"][k] = v
        elif key == "EnvironmentFile":
            result["environment_files"].append(value.lstrip("-"))
        elif key == "ExecStart" and value:
            result["exec_start"] = value
    return result


def kubelet_args(units, env_files):
    """The kubelet's command-line flags as a dict, the way systemd would expand the unit.

    ``units`` is a list of unit/drop-in texts in the order systemd reads them,
    ``env_files`` maps an EnvironmentFile path to its text (None if absent).
    """
    env = {}
    exec_start = None
    for text in units:
        parsed = parse_unit(text)
        env.update(parsed["environment"])
        for path in parsed["environment_files"]:
            env.update(parse_env_file(env_files.get(path)))
        if parsed["exec_start"]:
            exec_start = parsed["exec_start"]
    if not exec_start:
        return {}
    expanded = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), exec_start)
    flags = {}
    for token in shlex.split(expanded)[1:]:
        if not token.startswith("--"):
            continue
        name, sep, value = token[2:].partition("=")
        flags[name] = value if sep else None
    return flags


def _components(manifests):
    found = {}
    for name in COMPONENTS:
        path, text = manifests.get(name, (None, None))
        if text is None:
            continue
        try:
            doc = load_manifest(text)
            flags = get_flags(doc)
        except ManifestError as exc:
            raise NodeInfoError("%s is not a valid static pod manifest: %s" % (path, exc))
        container = doc["spec"]["containers"][0]
        image = container.get("image")
        found[name] = {
            "manifest": path,
            "image": image,
            "image_tag": image_tag(image),
            "version": parse_version(image_tag(image) or "")[0] if name != "etcd" else image_tag(image),
            "flags": flags,
        }
    return found


def _kubelet_client_ca(text):
    """authentication.x509.clientCAFile of a KubeletConfiguration text, or None."""
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    return ((doc.get("authentication") or {}).get("x509") or {}).get("clientCAFile")


def build_node_info(manifests, kubelet_units, env_files, kubelet_config_text, kubelet_version_output,
                    hostname, paths, lab=False):
    """Assemble the node description.

    manifests: {component: (path, text or None)}
    kubelet_units: [(path, text)] unit then drop-ins, in systemd's order
    env_files: {path: text or None}
    paths: the kubeadm paths dict (kubernetes_dir, manifests_dir, pki_dir, kubelet_kubeconfig, ...)
    """
    components = _components(manifests)
    kubelet_conf_present = paths.get("_kubelet_kubeconfig_present", False)
    if not components and not kubelet_conf_present:
        raise NodeInfoError(
            "this host is not a kubeadm node: no static pod manifests in %s and no %s. "
            "Run the collection only against hosts that kubeadm init or kubeadm join has set up, "
            "in the inventory groups control_plane and workers."
            % (paths["manifests_dir"], paths["kubelet_kubeconfig"]))

    kflags = kubelet_args([t for dummy, t in kubelet_units], env_files)
    kubelet_config = kflags.get("config") or paths.get("kubelet_config")
    node_name = kflags.get("hostname-override") or hostname

    version, minor, source = None, None, "unknown"
    api = components.get("kube-apiserver")
    if api and api["version"]:
        version, minor = parse_version(api["version"])
        source = "manifest"
    if version is None and kubelet_version_output:
        version, minor = parse_version(kubelet_version_output)
        source = "kubelet" if version else "unknown"

    advertise = None
    if api:
        advertise = api["flags"].get("advertise-address")

    etcd = {"topology": None, "data_dir": None}
    if "etcd" in components:
        etcd["topology"] = "stacked"
        etcd["data_dir"] = components["etcd"]["flags"].get("data-dir")
    elif api:
        etcd["topology"] = "external"
    if api:
        etcd["servers"] = (api["flags"].get("etcd-servers") or "").split(",") if api["flags"].get("etcd-servers") else []

    node_roles = ["control_plane"] if "kube-apiserver" in components else ["worker"]
    out_paths = dict((k, v) for k, v in paths.items() if not k.startswith("_"))
    out_paths["kubelet_config"] = kubelet_config
    out_paths["kubelet_unit"] = kubelet_units[0][0] if kubelet_units else None
    out_paths["kubelet_dropins"] = [p for p, dummy in kubelet_units[1:]]
    kdir = out_paths.get("kubernetes_dir", "/etc/kubernetes")
    out_paths.setdefault("super_admin_conf", kdir + "/super-admin.conf")
    out_paths.setdefault("scheduler_conf", kdir + "/scheduler.conf")
    out_paths.setdefault("controller_manager_conf", kdir + "/controller-manager.conf")
    if etcd.get("data_dir"):
        out_paths["etcd_data_dir"] = etcd["data_dir"]
    client_ca = _kubelet_client_ca(kubelet_config_text)
    if kflags.get("client-ca-file") or client_ca:
        out_paths["kubelet_client_ca"] = kflags.get("client-ca-file") or client_ca
    return {
        "is_kubeadm_node": True,
        "node_roles": node_roles,
        "node_name": node_name,
        "kubernetes_version": version,
        "kubernetes_minor": minor,
        "version_source": source,
        "advertise_address": advertise,
        "lab": bool(lab),
        "paths": out_paths,
        "components": dict((k, dict((kk, vv) for kk, vv in v.items() if kk != "flags")) for k, v in components.items()),
        "kubelet_flags": kflags,
        "kubelet_config_present": kubelet_config_text is not None,
        "etcd": etcd,
    }


__all__ = [
    "COMPONENTS",
    "KUBELET_DROPIN_DIRS",
    "KUBELET_UNIT_CANDIDATES",
    "NodeInfoError",
    "build_node_info",
    "image_tag",
    "kubelet_args",
    "parse_env_file",
    "parse_unit",
    "parse_version",
]
