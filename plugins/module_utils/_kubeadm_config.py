# -*- coding: utf-8 -*-
# Copyright: (c) 2026, k8s_hardening.kubeadm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, may change
# without notice. Pure logic that carries the collection's static pod and
# kubelet settings into kubeadm's own configuration (ClusterConfiguration in
# the kube-system/kubeadm-config ConfigMap, KubeletConfiguration in
# kube-system/kubelet-config), so `kubeadm upgrade` regenerates hardened files.
# No Ansible import here.

from __future__ import annotations

import copy

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubelet import (
    KUBELET_API_VERSION, KUBELET_KIND, deep_merge, diff_paths, validate as validate_kubelet)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError, desired_value, flag_value_str, merge_contributions, split_list)

V1BETA3 = "kubeadm.k8s.io/v1beta3"
V1BETA4 = "kubeadm.k8s.io/v1beta4"
CLUSTER_KIND = "ClusterConfiguration"

# ConfigMaps kubeadm reads on `kubeadm upgrade` (namespace kube-system)
CLUSTER_CONFIGMAP = ("kubeadm-config", "ClusterConfiguration")
KUBELET_CONFIGMAP = ("kubelet-config", "kubelet")

COMPONENT_SECTIONS = {
    "kube-apiserver": ("apiServer",),
    "kube-controller-manager": ("controllerManager",),
    "kube-scheduler": ("scheduler",),
    "etcd": ("etcd", "local"),
}

# Field names kubeadm knows (kubeadm.k8s.io/v1beta3 and v1beta4 ClusterConfiguration).
_CLUSTER_FIELDS = {
    V1BETA3: {"apiVersion", "kind", "etcd", "networking", "kubernetesVersion", "controlPlaneEndpoint",
              "apiServer", "controllerManager", "scheduler", "dns", "certificatesDir", "imageRepository",
              "featureGates", "clusterName"},
    V1BETA4: {"apiVersion", "kind", "etcd", "networking", "kubernetesVersion", "controlPlaneEndpoint",
              "apiServer", "controllerManager", "scheduler", "dns", "proxy", "certificatesDir",
              "imageRepository", "featureGates", "clusterName", "encryptionAlgorithm",
              "certificateValidityPeriod", "caCertificateValidityPeriod"},
}
_CONTROL_PLANE_FIELDS = {
    V1BETA3: {"extraArgs", "extraVolumes"},
    V1BETA4: {"extraArgs", "extraVolumes", "extraEnvs"},
}
_APISERVER_EXTRA = {V1BETA3: {"certSANs", "timeoutForControlPlane"}, V1BETA4: {"certSANs"}}
_LOCAL_ETCD_FIELDS = {
    V1BETA3: {"imageRepository", "imageTag", "dataDir", "extraArgs", "serverCertSANs", "peerCertSANs"},
    V1BETA4: {"imageRepository", "imageTag", "dataDir", "extraArgs", "extraEnvs", "serverCertSANs",
              "peerCertSANs"},
}
_EXTERNAL_ETCD_FIELDS = {"endpoints", "caFile", "certFile", "keyFile"}
_VOLUME_FIELDS = {"name", "hostPath", "mountPath", "readOnly", "pathType"}
PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
              "BlockDevice")

# Flags kubeadm always writes (reference 4.3). Values that list-valued
# contributions merge into when extraArgs does not set them yet, and names
# extraArgs cannot take away.
KUBEADM_DEFAULT_VALUES = {
    "kube-apiserver": {"enable-admission-plugins": "NodeRestriction", "authorization-mode": "Node,RBAC"},
    "kube-controller-manager": {"controllers": "*,bootstrapsigner,tokencleaner"},
}
KUBEADM_DEFAULT_FLAGS = {
    "kube-apiserver": (
        "advertise-address", "allow-privileged", "authorization-mode", "client-ca-file",
        "enable-admission-plugins", "enable-bootstrap-token-auth", "etcd-cafile", "etcd-certfile",
        "etcd-keyfile", "etcd-servers", "kubelet-client-certificate", "kubelet-client-key",
        "kubelet-preferred-address-types", "proxy-client-cert-file", "proxy-client-key-file",
        "requestheader-allowed-names", "requestheader-client-ca-file", "requestheader-extra-headers-prefix",
        "requestheader-group-headers", "requestheader-username-headers", "secure-port",
        "service-account-issuer", "service-account-key-file", "service-account-signing-key-file",
        "service-cluster-ip-range", "tls-cert-file", "tls-private-key-file"),
    "kube-controller-manager": (
        "allocate-node-cidrs", "authentication-kubeconfig", "authorization-kubeconfig", "bind-address",
        "client-ca-file", "cluster-cidr", "cluster-name", "cluster-signing-cert-file",
        "cluster-signing-key-file", "controllers", "kubeconfig", "leader-elect",
        "requestheader-client-ca-file", "root-ca-file", "service-account-private-key-file",
        "service-cluster-ip-range", "use-service-account-credentials"),
    "kube-scheduler": ("authentication-kubeconfig", "authorization-kubeconfig", "bind-address",
                       "kubeconfig", "leader-elect"),
    "etcd": ("advertise-client-urls", "cert-file", "client-cert-auth", "data-dir", "initial-advertise-peer-urls",
             "initial-cluster", "key-file", "listen-client-urls", "listen-metrics-urls", "listen-peer-urls",
             "name", "peer-cert-file", "peer-client-cert-auth", "peer-key-file", "peer-trusted-ca-file",
             "snapshot-count", "trusted-ca-file"),
}


class KubeadmConfigError(Exception):
    """Input that is not a usable kubeadm configuration."""


# --------------------------------------------------------------------------
# documents

def load_documents(text):
    try:
        return [d for d in yaml.safe_load_all(text or "") if d is not None]
    except yaml.YAMLError as exc:
        raise KubeadmConfigError("not valid YAML: %s" % exc)


def find_document(text, kind, configmap_key=None):
    """The first document of `kind` in a kubeadm config file (multi-document),
    or the one inside a ConfigMap's data[configmap_key]. None when absent."""
    for doc in load_documents(text):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == kind:
            return doc
        if doc.get("kind") == "ConfigMap" and configmap_key and configmap_key in (doc.get("data") or {}):
            inner = load_documents(doc["data"][configmap_key])
            if inner and isinstance(inner[0], dict) and inner[0].get("kind", kind) == kind:
                return inner[0]
    return None


def dump(doc):
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def empty_cluster_configuration(kubernetes_minor=None):
    """The form the cluster's kubeadm stores (version table: v1beta4 from 1.31, older v1beta3)."""
    if kubernetes_minor is None:
        return {"apiVersion": V1BETA3, "kind": CLUSTER_KIND}
    return {"apiVersion": _versions.value("kubeadm_config_api_version", int(kubernetes_minor)), "kind": CLUSTER_KIND}


# --------------------------------------------------------------------------
# extraArgs in both shapes

def get_extra_args(section, api_version):
    """Ordered dict name -> value; v1beta4 lists with repeated names keep the last value."""
    raw = section.get("extraArgs")
    if raw is None:
        return {}
    if api_version == V1BETA4:
        if not isinstance(raw, list):
            raise KubeadmConfigError("v1beta4 extraArgs must be a list of {name, value}, got %r" % (raw,))
        out = {}
        for item in raw:
            if not isinstance(item, dict) or "name" not in item:
                raise KubeadmConfigError("v1beta4 extraArgs entries need name and value, got %r" % (item,))
            out[str(item["name"])] = None if item.get("value") is None else str(item["value"])
        return out
    if not isinstance(raw, dict):
        raise KubeadmConfigError("v1beta3 extraArgs must be a map of flag: value, got %r" % (raw,))
    return {str(k): None if v is None else str(v) for k, v in raw.items()}


def set_extra_args(section, api_version, args):
    if not args:
        section.pop("extraArgs", None)
    elif api_version == V1BETA4:
        section["extraArgs"] = [{"name": k, "value": "" if v is None else v} for k, v in args.items()]
    else:
        section["extraArgs"] = {k: "" if v is None else v for k, v in args.items()}


def _section(doc, component, create):
    keys = COMPONENT_SECTIONS[component]
    node = doc
    for key in keys:
        if not isinstance(node.get(key), dict):
            if not create:
                return None
            node[key] = {}
        node = node[key]
    return node


# --------------------------------------------------------------------------
# contributions -> ClusterConfiguration

def _as_merged(contributions):
    """Accept the raw contribution list (docs/design.md 3) or the merged dict."""
    if isinstance(contributions, list):
        try:
            return merge_contributions(contributions, components=tuple(COMPONENT_SECTIONS))
        except ManifestError as exc:
            raise KubeadmConfigError(str(exc))
    if isinstance(contributions, dict):
        unknown = sorted(set(contributions) - set(COMPONENT_SECTIONS))
        if unknown:
            raise KubeadmConfigError("unknown component(s) %s; expected %s"
                                     % (", ".join(unknown), ", ".join(COMPONENT_SECTIONS)))
        return contributions
    raise KubeadmConfigError("contributions must be a list of contributions or a dict per component")


def _volume(spec):
    missing = [k for k in ("name", "hostPath", "mountPath") if not spec.get(k)]
    if missing:
        raise KubeadmConfigError("volume %r lacks %s" % (spec.get("name"), ", ".join(missing)))
    vol = {"name": str(spec["name"]), "hostPath": str(spec["hostPath"]), "mountPath": str(spec["mountPath"]),
           "readOnly": bool(spec.get("readOnly", False))}
    path_type = spec.get("pathType", spec.get("type")) or ""
    if path_type not in PATH_TYPES:
        raise KubeadmConfigError("volume %s: pathType %r is not one of %s" % (vol["name"], path_type,
                                                                              ", ".join(PATH_TYPES[1:])))
    if path_type:
        vol["pathType"] = path_type
    return vol


def apply_contributions(cluster_doc, contributions):
    """Return (new ClusterConfiguration, warnings).

    flags go to extraArgs (list flags merged with the extraArgs value, or
    kubeadm's own default when extraArgs does not set it), list_remove and
    absent_flags drop values, volumes go to extraVolumes by name. What
    kubeadm cannot take (etcd volumes, absent kubeadm-default flags,
    external etcd) is returned as warnings, not silently dropped.
    """
    doc = copy.deepcopy(cluster_doc)
    version = doc.get("apiVersion")
    if version not in (V1BETA3, V1BETA4) or doc.get("kind") != CLUSTER_KIND:
        raise KubeadmConfigError("expected a %s of %s or %s, got %s %s" % (
            CLUSTER_KIND, V1BETA3, V1BETA4, version, doc.get("kind")))
    warnings = []
    for component, contrib in _as_merged(contributions).items():
        if component == "etcd" and isinstance(doc.get("etcd"), dict) and "external" in doc["etcd"]:
            warnings.append("etcd is external: its settings are not kept in ClusterConfiguration; skipped")
            continue
        section = _section(doc, component, create=True)
        args = get_extra_args(section, version)
        defaults = KUBEADM_DEFAULT_VALUES.get(component, {})
        for name, value in (contrib.get("flags") or {}).items():
            name = str(name).lstrip("-")
            current = args.get(name, defaults.get(name))
            args[name] = desired_value(name, value, current)
        for name, items in (contrib.get("list_remove") or {}).items():
            name = str(name).lstrip("-")
            current = args.get(name, defaults.get(name))
            if current is None:
                continue
            items = [items] if isinstance(items, str) else [flag_value_str(i) for i in items]
            kept = [i for i in split_list(current) if i not in items]
            if kept != split_list(current):
                args[name] = ",".join(kept)
        for name in contrib.get("absent_flags") or []:
            name = str(name).lstrip("-")
            args.pop(name, None)
            if name in KUBEADM_DEFAULT_FLAGS.get(component, ()):
                warnings.append("%s: kubeadm always sets --%s, so it cannot be removed through "
                                "ClusterConfiguration; re-run the collection after kubeadm upgrade" % (component, name))
        set_extra_args(section, version, args)
        wanted = [_volume(v) for v in contrib.get("volumes") or []]
        if wanted and component == "etcd":
            warnings.append("etcd: kubeadm's local etcd has no extraVolumes; volumes %s not persisted"
                            % ", ".join(v["name"] for v in wanted))
        elif wanted:
            vols = list(section.get("extraVolumes") or [])
            for vol in wanted:
                index = next((i for i, v in enumerate(vols) if v.get("name") == vol["name"]), None)
                if index is None:
                    vols.append(vol)
                elif _volume(vols[index]) != vol:
                    vols[index] = vol
            section["extraVolumes"] = vols
    return doc, warnings


# --------------------------------------------------------------------------
# validation

def _unknown(where, mapping, allowed):
    return ["%s: unknown field %s (kubeadm would reject it)" % (where, key)
            for key in mapping if key not in allowed]


def validate_cluster_configuration(doc, kubernetes_minor=None):
    """Errors for field names and shapes kubeadm v1beta3/v1beta4 would reject, and (with the cluster's
    minor) an apiVersion its kubeadm cannot read (version table: v1beta3 gone in 1.36)."""
    version = doc.get("apiVersion")
    if version not in (V1BETA3, V1BETA4):
        return ["apiVersion must be %s or %s, got %r" % (V1BETA3, V1BETA4, version)]
    if kubernetes_minor:
        problem = _versions.config_api_problem(CLUSTER_KIND, version, int(kubernetes_minor))
        if problem:
            return [problem]
    if doc.get("kind") != CLUSTER_KIND:
        return ["kind must be %s, got %r" % (CLUSTER_KIND, doc.get("kind"))]
    errors = _unknown(CLUSTER_KIND, doc, _CLUSTER_FIELDS[version])
    for component, keys in COMPONENT_SECTIONS.items():
        section = _section(doc, component, create=False)
        if section is None:
            continue
        where = ".".join(keys)
        if component == "etcd":
            allowed = _LOCAL_ETCD_FIELDS[version]
            if "external" in doc["etcd"]:
                errors.append("etcd: local and external are mutually exclusive")
        else:
            allowed = _CONTROL_PLANE_FIELDS[version] | (_APISERVER_EXTRA[version] if component == "kube-apiserver"
                                                        else set())
        errors.extend(_unknown(where, section, allowed))
        try:
            get_extra_args(section, version)
        except KubeadmConfigError as exc:
            errors.append("%s: %s" % (where, exc))
        for vol in section.get("extraVolumes") or []:
            if not isinstance(vol, dict):
                errors.append("%s.extraVolumes: entry %r is not a mapping" % (where, vol))
                continue
            errors.extend(_unknown("%s.extraVolumes[%s]" % (where, vol.get("name")), vol, _VOLUME_FIELDS))
            try:
                _volume(vol)
            except KubeadmConfigError as exc:
                errors.append("%s.extraVolumes: %s" % (where, exc))
    external = (doc.get("etcd") or {}).get("external")
    if isinstance(external, dict):
        errors.extend(_unknown("etcd.external", external, _EXTERNAL_ETCD_FIELDS))
    return errors


# --------------------------------------------------------------------------
# KubeletConfiguration (kubelet-config ConfigMap)

def empty_kubelet_configuration():
    return {"apiVersion": KUBELET_API_VERSION, "kind": KUBELET_KIND}


def apply_kubelet_settings(kubelet_doc, settings, cipher_normalizer=None):
    """Return (merged KubeletConfiguration, errors)."""
    merged = deep_merge(kubelet_doc or empty_kubelet_configuration(), settings or {})
    return merged, validate_kubelet(merged, cipher_normalizer, settings_keys=(settings or {}).keys())


def compare(before, after):
    """Semantic comparison: the list of changed key paths (empty when equal)."""
    return diff_paths(before or {}, after or {})


__all__ = [
    "V1BETA3", "V1BETA4", "CLUSTER_KIND", "CLUSTER_CONFIGMAP", "KUBELET_CONFIGMAP", "COMPONENT_SECTIONS",
    "KUBEADM_DEFAULT_FLAGS", "KUBEADM_DEFAULT_VALUES", "PATH_TYPES", "KubeadmConfigError",
    "load_documents", "find_document", "dump", "empty_cluster_configuration", "get_extra_args",
    "set_extra_args", "apply_contributions", "validate_cluster_configuration",
    "empty_kubelet_configuration", "apply_kubelet_settings", "compare",
]
