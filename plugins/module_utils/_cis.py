# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, may change
# without notice. No Ansible import here; unit-tested with pytest.
#
# The ONE CIS control table. Every control of the CIS Kubernetes Benchmark as
# kube-bench encodes it (cis-1.10, cis-1.11, cis-1.12) is one entry of CONTROLS
# with the kube-bench test (its letter) and, where the letter is weak, an
# "intent" test; the remedy is what the collection writes. The harden roles
# take their baseline from remedies() and check their desired state with
# violations(); the report evaluates the same entries with evaluate().
"""CIS Kubernetes Benchmark control table, remedies, violations and evaluation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import fnmatch
import hashlib
import re

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    APISERVER_CIS_SUITES,
    KUBELET_CIS_SUITES,
    STRONG_SUITES,
)

BENCHMARKS = ("cis-1.10", "cis-1.11", "cis-1.12")
DEFAULT_BENCHMARK = "cis-1.12"
STATUSES = ("pass", "fail", "waived", "not_applicable", "manual")
TARGET_TYPES = ("flag", "file", "kubelet", "etcd_ca", "encryption", "systemd", "kube_proxy", "cluster")
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

# kubeadm's default locations; the node facts (k8s_hardening_node.paths) override them.
DEFAULT_PATHS = {
    "kubernetes_dir": "/etc/kubernetes",
    "manifests_dir": "/etc/kubernetes/manifests",
    "pki_dir": "/etc/kubernetes/pki",
    "kubelet_config": "/var/lib/kubelet/config.yaml",
    "kubeadm_flags_env": "/var/lib/kubelet/kubeadm-flags.env",
    "kubelet_kubeconfig": "/etc/kubernetes/kubelet.conf",
    "kubelet_unit": "/usr/lib/systemd/system/kubelet.service",
    "kubelet_dropins": ["/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"],
    "kubelet_client_ca": "/etc/kubernetes/pki/ca.crt",
    "admin_conf": "/etc/kubernetes/admin.conf",
    "super_admin_conf": "/etc/kubernetes/super-admin.conf",
    "scheduler_conf": "/etc/kubernetes/scheduler.conf",
    "controller_manager_conf": "/etc/kubernetes/controller-manager.conf",
    "proxy_kubeconfig": "/etc/kubernetes/proxy.conf",
    "etcd_data_dir": "/var/lib/etcd",
    "cni_conf_dir": "/etc/cni/net.d",
    "cni_networks_dir": "/var/lib/cni/networks",
}

# kube-bench's allow-lists (reference §2) and the strong set both satisfy live in _tls.py.
ENCRYPTION_CIS_PROVIDERS = ("aescbc", "kms", "secretbox")
# Providers that really encrypt (intent of 1.2.28): kube-bench's list misses aesgcm.
ENCRYPTION_STRONG_PROVIDERS = ("aescbc", "aesgcm", "kms", "secretbox")

# Defaults the collection writes where CIS says "as appropriate".
AUDIT_LOG_PATH = "/var/log/kubernetes/audit/audit.log"
AUDIT_POLICY_FILE = "/etc/kubernetes/audit/policy.yaml"
TERMINATED_POD_GC_THRESHOLD = "12500"   # upstream default; CIS only asks that it be set
STREAMING_CONNECTION_IDLE_TIMEOUT = "5m"
EVENT_RECORD_QPS = 50                    # kubelet default, written explicitly
POD_PIDS_LIMIT = 4096
# The kubelet serving pair the kubelet role issues from the cluster CA (CIS 4.2.9).
KUBELET_SERVING_CERT = "/var/lib/kubelet/pki/kubelet-serving.crt"
KUBELET_SERVING_KEY = "/var/lib/kubelet/pki/kubelet-serving.key"


class CISError(Exception):
    """Bad input to the CIS table functions (unknown control, bad waiver, ...)."""


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def _item(flag=None, op=None, value=None, set_=True, path=None, env=None, field=None, feature_gate=None):
    item = {}
    if flag is not None:
        item["flag"] = flag
    if feature_gate is not None:
        item["feature_gate"] = feature_gate
    if path is not None:
        item["path"] = path
    if env is not None:
        item["env"] = env
    if field is not None:
        item["field"] = field
    item["set"] = set_
    if op is not None:
        item["op"] = op
        item["value"] = value
    return item


def _test(*items, **kw):
    return {"bin_op": kw.get("bin_op", "and"), "items": list(items)}


ALL = list(BENCHMARKS)
FROM_1_11 = ["cis-1.11", "cis-1.12"]
CP = ["control_plane"]
ANY_NODE = ["control_plane", "worker"]


def _c(cid, title, target, test, scored=True, automated=True, remedy=None, enforced_by=None,
       action=None, note="", benchmarks=None, overrides=None, intent=None, node_roles=None, missing="fail"):
    if action is None:
        action = "enforce" if enforced_by else ("manual" if test is None else "audit")
    section = cid.rsplit(".", 1)[0] if cid.count(".") >= 2 else cid.split(".")[0]
    if node_roles is None:
        node_roles = ANY_NODE if cid.startswith("4.") else CP
    return {
        "id": cid, "title": title, "section": section,
        "benchmarks": list(benchmarks or ALL), "scored": scored, "automated": automated,
        "target": target, "test": test, "intent": intent, "remedy": remedy,
        "enforced_by": enforced_by, "action": action, "note": note,
        "node_roles": list(node_roles), "missing": missing,
        "overrides": overrides or {},
    }


def _mode_rule(mode):
    return _test(_item(field="mode", op="bitmask", value=mode))


_OWNER_ROOT = _test(_item(field="owner", op="eq", value="root:root"))


def _file(paths=None, dir_=None, pattern=None, recurse=False, include_dir=False):
    target = {"type": "file"}
    if paths is not None:
        target["paths"] = list(paths)
    if dir_ is not None:
        target.update({"dir": dir_, "pattern": pattern or "*", "recurse": recurse, "include_dir": include_dir})
    return target


def _file_remedy(mode=None, owner=None, group=None):
    rem = {}
    if mode is not None:
        rem["mode"] = mode
    if owner is not None:
        rem["owner"] = owner
        rem["group"] = group
    return rem


def _flag(component):
    return {"type": "flag", "component": component}


API = _flag("kube-apiserver")
KCM = _flag("kube-controller-manager")
SCHED = _flag("kube-scheduler")
ETCD = _flag("etcd")
KUBELET = {"type": "kubelet"}
_NOTE_KUBEADM = "kubeadm sets this by default; the collection audits it."


def _manifest_controls():
    out = []
    names = [("1.1.1", "1.1.2", "API server", "kube-apiserver"),
             ("1.1.3", "1.1.4", "controller manager", "kube-controller-manager"),
             ("1.1.5", "1.1.6", "scheduler", "kube-scheduler"),
             ("1.1.7", "1.1.8", "etcd", "etcd")]
    for perm_id, own_id, label, comp in names:
        path = "{manifests_dir}/%s.yaml" % comp
        out.append(_c(perm_id, "Ensure that the %s pod specification file permissions are set to 600 or more restrictive" % label,
                      dict(_file([path]), component=comp), _mode_rule("600"), remedy=_file_remedy(mode="0600"),
                      enforced_by="control_plane", missing="not_applicable",
                      note="The static_pod module writes manifests 0600 root:root."))
        out.append(_c(own_id, "Ensure that the %s pod specification file ownership is set to root:root" % label,
                      dict(_file([path]), component=comp), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"),
                      enforced_by="control_plane", missing="not_applicable"))
    return out


def _build_controls():
    c = []
    c += _manifest_controls()
    cni = _file(dir_="{cni_conf_dir}", pattern="*", recurse=True)
    cni["extra_dirs"] = ["{cni_networks_dir}"]
    c += [
        _c("1.1.9", "Ensure that the Container Network Interface file permissions are set to 600 or more restrictive",
           cni, _mode_rule("600"), scored=False, automated=False, missing="not_applicable",
           note="CNI plugins own and rewrite these files; audit only."),
        _c("1.1.10", "Ensure that the Container Network Interface file ownership is set to root:root",
           cni, _OWNER_ROOT, scored=False, automated=False, missing="not_applicable",
           note="CNI plugins own and rewrite these files; audit only."),
        _c("1.1.11", "Ensure that the etcd data directory permissions are set to 700 or more restrictive",
           _file(["{etcd_data_dir}"]), _mode_rule("700"), remedy=_file_remedy(mode="0700"),
           enforced_by="etcd", missing="not_applicable"),
        _c("1.1.12", "Ensure that the etcd data directory ownership is set to etcd:etcd",
           _file(["{etcd_data_dir}"]), _test(_item(field="owner", op="eq", value="etcd:etcd")),
           enforced_by="etcd", action="opt_in", missing="not_applicable",
           note="kubeadm runs etcd as root (kubeadm#2931); the etcd role's opt-in etcd user mode "
                "(etcd_run_as_etcd_user) makes this pass; otherwise waive it."),
        _c("1.1.13", "Ensure that the default administrative credential file permissions are set to 600",
           _file(["{admin_conf}", "{super_admin_conf}"]), _mode_rule("600"), remedy=_file_remedy(mode="0600"),
           enforced_by="control_plane", missing="pass", note="Covers admin.conf and super-admin.conf (1.29+) when present."),
        _c("1.1.14", "Ensure that the default administrative credential file ownership is set to root:root",
           _file(["{admin_conf}", "{super_admin_conf}"]), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"),
           enforced_by="control_plane", missing="pass"),
        _c("1.1.15", "Ensure that the scheduler.conf file permissions are set to 600 or more restrictive",
           _file(["{scheduler_conf}"]), _mode_rule("600"), remedy=_file_remedy(mode="0600"), enforced_by="control_plane"),
        _c("1.1.16", "Ensure that the scheduler.conf file ownership is set to root:root",
           _file(["{scheduler_conf}"]), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"), enforced_by="control_plane"),
        _c("1.1.17", "Ensure that the controller-manager.conf file permissions are set to 600 or more restrictive",
           _file(["{controller_manager_conf}"]), _mode_rule("600"), remedy=_file_remedy(mode="0600"), enforced_by="control_plane"),
        _c("1.1.18", "Ensure that the controller-manager.conf file ownership is set to root:root",
           _file(["{controller_manager_conf}"]), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"),
           enforced_by="control_plane"),
        _c("1.1.19", "Ensure that the Kubernetes PKI directory and file ownership is set to root:root",
           _file(dir_="{pki_dir}", pattern="*", recurse=True, include_dir=True), _OWNER_ROOT,
           remedy=_file_remedy(owner="root", group="root"), enforced_by="control_plane"),
        _c("1.1.20", "Ensure that the Kubernetes PKI certificate file permissions are set to 644 or more restrictive",
           _file(dir_="{pki_dir}", pattern="*.crt", recurse=True), _mode_rule("644"), scored=False, automated=False,
           remedy=_file_remedy(mode="0644"), enforced_by="control_plane", missing="not_applicable",
           overrides={"cis-1.10": {
               "title": "Ensure that the Kubernetes PKI certificate file permissions are set to 600 or more restrictive",
               "test": _mode_rule("600"), "remedy": _file_remedy(mode="0600")}},
           note="cis-1.10 asks 600, cis-1.11+ 644."),
        _c("1.1.21", "Ensure that the Kubernetes PKI key file permissions are set to 600",
           _file(dir_="{pki_dir}", pattern="*.key", recurse=True), _mode_rule("600"), scored=False, automated=False,
           remedy=_file_remedy(mode="0600"), enforced_by="control_plane", missing="not_applicable"),
    ]
    # 1.2 API server
    c += [
        _c("1.2.1", "Ensure that the --anonymous-auth argument is set to false", API,
           _test(_item("anonymous-auth", "eq", "false")), scored=False, automated=False,
           intent=_test(_item("anonymous-auth", "eq", "false"), _item("authentication-config"), bin_op="or"),
           enforced_by="control_plane",
           note="--anonymous-auth=false makes kubeadm's unauthenticated /livez and /readyz probes fail "
                "(kubespray#6242). control_plane_anonymous_auth: health-only (1.32+) writes an "
                "AuthenticationConfiguration allowing anonymous requests to the health endpoints only "
                "(letter fails, intent passes); older versions keep anonymous auth unless 'disable'."),
        _c("1.2.2", "Ensure that the --token-auth-file parameter is not set", API,
           _test(_item("token-auth-file", set_=False)), remedy={"absent_flags": ["token-auth-file"]},
           enforced_by="control_plane"),
        _c("1.2.3", "Ensure that the --DenyServiceExternalIPs is set", API,
           _test(_item("enable-admission-plugins", "has", "DenyServiceExternalIPs")), scored=False, automated=False,
           enforced_by="control_plane",
           note="control_plane_admission_plugins enables it by default; breaks Services that use spec.externalIPs."),
        _c("1.2.4", "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set as appropriate",
           API, _test(_item("kubelet-client-certificate"), _item("kubelet-client-key")), note=_NOTE_KUBEADM),
        _c("1.2.5", "Ensure that the --kubelet-certificate-authority argument is set as appropriate", API,
           _test(_item("kubelet-certificate-authority")),
           enforced_by="kubelet",
           note="The kubelet role issues every kubelet a serving certificate from the cluster CA (4.2.9), then "
                "harden.yml's last kubelet play sets --kubelet-certificate-authority to that CA on every "
                "kube-apiserver, once every node's kubelet serves such a certificate (kubelet_apiserver_ca_enabled); "
                "kubeadm's self-signed kubelet certificates would break logs and exec (kubeadm#1602)."),
        _c("1.2.6", "Ensure that the --authorization-mode argument is not set to AlwaysAllow", API,
           _test(_item("authorization-mode", "nothave", "AlwaysAllow")), note=_NOTE_KUBEADM),
        _c("1.2.7", "Ensure that the --authorization-mode argument includes Node", API,
           _test(_item("authorization-mode", "has", "Node")), note=_NOTE_KUBEADM),
        _c("1.2.8", "Ensure that the --authorization-mode argument includes RBAC", API,
           _test(_item("authorization-mode", "has", "RBAC")), note=_NOTE_KUBEADM),
        _c("1.2.9", "Ensure that the admission control plugin EventRateLimit is set", API,
           _test(_item("enable-admission-plugins", "has", "EventRateLimit")), scored=False, automated=False,
           enforced_by="control_plane",
           note="control_plane_admission_plugins enables it with its limits (control_plane_event_rate_limits) "
                "in the admission configuration file."),
        _c("1.2.10", "Ensure that the admission control plugin AlwaysAdmit is not set", API,
           _test(_item("enable-admission-plugins", "nothave", "AlwaysAdmit"), _item("enable-admission-plugins", set_=False),
                 bin_op="or"),
           remedy={"list_remove": {"enable-admission-plugins": ["AlwaysAdmit"]}}, enforced_by="control_plane"),
        _c("1.2.11", "Ensure that the admission control plugin AlwaysPullImages is set", API,
           _test(_item("enable-admission-plugins", "has", "AlwaysPullImages")), scored=False, automated=False,
           enforced_by="control_plane", action="opt_in",
           note="Opt-in (control_plane_admission_always_pull_images): makes every pod start depend on the registry."),
        _c("1.2.12", "Ensure that the admission control plugin ServiceAccount is set", API,
           _test(_item("disable-admission-plugins", "nothave", "ServiceAccount"),
                 _item("disable-admission-plugins", set_=False), bin_op="or"),
           remedy={"list_remove": {"disable-admission-plugins": ["ServiceAccount"]}}, enforced_by="control_plane"),
        _c("1.2.13", "Ensure that the admission control plugin NamespaceLifecycle is set", API,
           _test(_item("disable-admission-plugins", "nothave", "NamespaceLifecycle"),
                 _item("disable-admission-plugins", set_=False), bin_op="or"),
           remedy={"list_remove": {"disable-admission-plugins": ["NamespaceLifecycle"]}}, enforced_by="control_plane"),
        _c("1.2.14", "Ensure that the admission control plugin NodeRestriction is set", API,
           _test(_item("enable-admission-plugins", "has", "NodeRestriction")),
           remedy={"flags": {"enable-admission-plugins": ["NodeRestriction"]}}, enforced_by="control_plane"),
        _c("1.2.15", "Ensure that the --profiling argument is set to false", API,
           _test(_item("profiling", "eq", "false")), remedy={"flags": {"profiling": "false"}}, enforced_by="control_plane"),
        _c("1.2.16", "Ensure that the --audit-log-path argument is set", API,
           _test(_item("audit-log-path")), remedy={"flags": {"audit-log-path": AUDIT_LOG_PATH}}, enforced_by="control_plane"),
        _c("1.2.17", "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate", API,
           _test(_item("audit-log-maxage", "gte", "30")), remedy={"flags": {"audit-log-maxage": "30"}},
           enforced_by="control_plane"),
        _c("1.2.18", "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate", API,
           _test(_item("audit-log-maxbackup", "gte", "10")), remedy={"flags": {"audit-log-maxbackup": "10"}},
           enforced_by="control_plane"),
        _c("1.2.19", "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate", API,
           _test(_item("audit-log-maxsize", "gte", "100")), remedy={"flags": {"audit-log-maxsize": "100"}},
           enforced_by="control_plane"),
        _c("1.2.20", "Ensure that the --request-timeout argument is set as appropriate",
           dict(API, flags=["request-timeout"]),
           None, scored=False, automated=False, enforced_by="control_plane",
           note="control_plane_request_timeout (default 60s). No automatic test (Manual); the report shows the value."),
        _c("1.2.21", "Ensure that the --service-account-lookup argument is set to true", API,
           _test(_item("service-account-lookup", set_=False), _item("service-account-lookup", "eq", "true"), bin_op="or"),
           remedy={"flags": {"service-account-lookup": "true"}}, enforced_by="control_plane"),
        _c("1.2.22", "Ensure that the --service-account-key-file argument is set as appropriate", API,
           _test(_item("service-account-key-file")), note=_NOTE_KUBEADM),
        _c("1.2.23", "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate", API,
           _test(_item("etcd-certfile"), _item("etcd-keyfile")), note=_NOTE_KUBEADM + " The etcd role checks the files."),
        _c("1.2.24", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate", API,
           _test(_item("tls-cert-file"), _item("tls-private-key-file")), note=_NOTE_KUBEADM),
        _c("1.2.25", "Ensure that the --client-ca-file argument is set as appropriate", API,
           _test(_item("client-ca-file")), note=_NOTE_KUBEADM),
        _c("1.2.26", "Ensure that the --etcd-cafile argument is set as appropriate", API,
           _test(_item("etcd-cafile")), note=_NOTE_KUBEADM),
        _c("1.2.27", "Ensure that the --encryption-provider-config argument is set as appropriate", API,
           _test(_item("encryption-provider-config")), scored=False, automated=False, enforced_by="encryption",
           note="The encryption role writes the flag with its EncryptionConfiguration (encryption_config_path)."),
        _c("1.2.28", "Ensure that encryption providers are appropriately configured",
           {"type": "encryption", "component": "kube-apiserver"},
           _test(_item(field="letter_provider", op="valid_elements", value=",".join(ENCRYPTION_CIS_PROVIDERS))),
           intent=_test(_item(field="secrets_provider", op="valid_elements", value=",".join(ENCRYPTION_STRONG_PROVIDERS))),
           scored=False, automated=False, enforced_by="encryption",
           note="Letter: the line after the last 'providers:' (what kube-bench greps). Intent: the first provider "
                "of the resources entry covering secrets, i.e. the one that really encrypts new Secrets."),
        _c("1.2.29", "Ensure that the API Server only makes use of Strong Cryptographic Ciphers", API,
           _test(_item("tls-cipher-suites", "valid_elements", ",".join(APISERVER_CIS_SUITES))),
           scored=False, automated=False, remedy={"flags": {"tls-cipher-suites": ",".join(STRONG_SUITES)}},
           enforced_by="control_plane", note="Writes the ECDHE+AEAD set both kube-bench lists accept."),
        _c("1.2.30", "Ensure that the --service-account-extend-token-expiration parameter is set to false", API,
           _test(_item("service-account-extend-token-expiration", "eq", "false")),
           remedy={"flags": {"service-account-extend-token-expiration": "false"}}, enforced_by="control_plane",
           benchmarks=FROM_1_11, note="Added in cis-1.11."),
    ]
    # 1.3 controller manager
    c += [
        _c("1.3.1", "Ensure that the --terminated-pod-gc-threshold argument is set as appropriate", KCM,
           _test(_item("terminated-pod-gc-threshold")), scored=False, automated=False,
           remedy={"flags": {"terminated-pod-gc-threshold": TERMINATED_POD_GC_THRESHOLD}}, enforced_by="control_plane",
           intent=_test(_item("terminated-pod-gc-threshold", "gt", "0")),
           note="Written as 12500 (the upstream default made explicit); intent: a positive number."),
        _c("1.3.2", "Ensure that the --profiling argument is set to false", KCM,
           _test(_item("profiling", "eq", "false")), remedy={"flags": {"profiling": "false"}}, enforced_by="control_plane"),
        _c("1.3.3", "Ensure that the --use-service-account-credentials argument is set to true", KCM,
           _test(_item("use-service-account-credentials", "noteq", "false")),
           remedy={"flags": {"use-service-account-credentials": "true"}}, enforced_by="control_plane"),
        _c("1.3.4", "Ensure that the --service-account-private-key-file argument is set as appropriate", KCM,
           _test(_item("service-account-private-key-file")), note=_NOTE_KUBEADM),
        _c("1.3.5", "Ensure that the --root-ca-file argument is set as appropriate", KCM,
           _test(_item("root-ca-file")), note=_NOTE_KUBEADM),
        _c("1.3.6", "Ensure that the RotateKubeletServerCertificate argument is set to true", KCM,
           _test(_item("feature-gates", "nothave", "RotateKubeletServerCertificate=false"),
                 _item("feature-gates", set_=False), bin_op="or"),
           note="The feature gate defaults to true; the collection never turns it off."),
        _c("1.3.7", "Ensure that the --bind-address argument is set to 127.0.0.1", KCM,
           _test(_item("bind-address", "eq", "127.0.0.1"), _item("bind-address", set_=False), bin_op="or"),
           remedy={"flags": {"bind-address": "127.0.0.1"}}, enforced_by="control_plane"),
        _c("1.4.1", "Ensure that the --profiling argument is set to false", SCHED,
           _test(_item("profiling", "eq", "false")), remedy={"flags": {"profiling": "false"}}, enforced_by="control_plane"),
        _c("1.4.2", "Ensure that the --bind-address argument is set to 127.0.0.1", SCHED,
           _test(_item("bind-address", "eq", "127.0.0.1"), _item("bind-address", set_=False), bin_op="or"),
           remedy={"flags": {"bind-address": "127.0.0.1"}}, enforced_by="control_plane"),
    ]
    # 2 etcd (flag or ETCD_* env of the static pod)

    def e(flag, *rest, **kw):
        return _item(flag, *rest, env="ETCD_" + flag.upper().replace("-", "_"), **kw)

    c += [
        _c("2.1", "Ensure that the --cert-file and --key-file arguments are set as appropriate", ETCD,
           _test(e("cert-file"), e("key-file")), note=_NOTE_KUBEADM),
        _c("2.2", "Ensure that the --client-cert-auth argument is set to true", ETCD,
           _test(e("client-cert-auth", "eq", "true")), remedy={"flags": {"client-cert-auth": "true"}}, enforced_by="etcd"),
        _c("2.3", "Ensure that the --auto-tls argument is not set to true", ETCD,
           _test(e("auto-tls", set_=False), e("auto-tls", "eq", "false"), bin_op="or"),
           remedy={"flags": {"auto-tls": "false"}}, enforced_by="etcd"),
        _c("2.4", "Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate", ETCD,
           _test(e("peer-cert-file"), e("peer-key-file")), note=_NOTE_KUBEADM),
        _c("2.5", "Ensure that the --peer-client-cert-auth argument is set to true", ETCD,
           _test(e("peer-client-cert-auth", "eq", "true")), remedy={"flags": {"peer-client-cert-auth": "true"}},
           enforced_by="etcd"),
        _c("2.6", "Ensure that the --peer-auto-tls argument is not set to true", ETCD,
           _test(e("peer-auto-tls", set_=False), e("peer-auto-tls", "eq", "false"), bin_op="or"),
           remedy={"flags": {"peer-auto-tls": "false"}}, enforced_by="etcd"),
        _c("2.7", "Ensure that a unique Certificate Authority is used for etcd", {"type": "etcd_ca", "component": "etcd"},
           _test(e("trusted-ca-file")),
           intent=_test(e("trusted-ca-file"), _item(field="etcd_ca_unique", op="eq", value="true")),
           scored=False, automated=False, enforced_by="etcd",
           note="Letter: --trusted-ca-file is set. Intent: the etcd CA's SHA-256 fingerprint differs from the "
                "cluster CA and the front-proxy CA. The etcd role creates a dedicated etcd CA when it does not."),
    ]
    # 3.2.1 audit policy
    c += [
        _c("3.2.1", "Ensure that a minimal audit policy is created", API, _test(_item("audit-policy-file")),
           scored=False, automated=False, remedy={"flags": {"audit-policy-file": AUDIT_POLICY_FILE}},
           enforced_by="control_plane", note="The control_plane role writes the policy file and mounts it."),
    ]
    # 4.1 worker node configuration files
    c += [
        _c("4.1.1", "Ensure that the kubelet service file permissions are set to 600 or more restrictive",
           _file(["{kubelet_unit}", "{kubelet_dropins}"]), _mode_rule("600"), remedy=_file_remedy(mode="0600"),
           enforced_by="kubelet", missing="pass",
           note="kube-bench reads the 10-kubeadm.conf drop-in; the unit and every kubelet drop-in are checked."),
        _c("4.1.2", "Ensure that the kubelet service file ownership is set to root:root",
           _file(["{kubelet_unit}", "{kubelet_dropins}"]), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"),
           enforced_by="kubelet", missing="pass"),
        _c("4.1.3", "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive",
           _file(["{proxy_kubeconfig}"]), _mode_rule("600"), scored=False, automated=False, missing="not_applicable",
           remedy=_file_remedy(mode="0600"), enforced_by="kubelet",
           note="kubeadm runs kube-proxy as a DaemonSet with its kubeconfig in a ConfigMap; a file is fixed if present."),
        _c("4.1.4", "If proxy kubeconfig file exists ensure ownership is set to root:root",
           _file(["{proxy_kubeconfig}"]), _OWNER_ROOT, scored=False, automated=False, missing="not_applicable",
           remedy=_file_remedy(owner="root", group="root"), enforced_by="kubelet",
           note="kubeadm runs kube-proxy as a DaemonSet with its kubeconfig in a ConfigMap; a file is fixed if present."),
        _c("4.1.5", "Ensure that the --kubeconfig kubelet.conf file permissions are set to 600 or more restrictive",
           _file(["{kubelet_kubeconfig}"]), _mode_rule("600"), remedy=_file_remedy(mode="0600"), enforced_by="kubelet"),
        _c("4.1.6", "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root",
           _file(["{kubelet_kubeconfig}"]), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"),
           enforced_by="kubelet"),
        _c("4.1.7", "Ensure that the certificate authorities file permissions are set to 644 or more restrictive",
           _file(["{kubelet_client_ca}"]), _mode_rule("644"), scored=False, automated=False,
           remedy=_file_remedy(mode="0644"), enforced_by="kubelet",
           overrides={"cis-1.10": {
               "title": "Ensure that the certificate authorities file permissions are set to 600 or more restrictive",
               "test": _mode_rule("600"), "remedy": _file_remedy(mode="0600")}},
           note="The kubelet's clientCAFile; cis-1.10 asks 600, cis-1.11+ 644."),
        _c("4.1.8", "Ensure that the client certificate authorities file ownership is set to root:root",
           _file(["{kubelet_client_ca}"]), _OWNER_ROOT, scored=False, automated=False,
           remedy=_file_remedy(owner="root", group="root"), enforced_by="kubelet"),
        _c("4.1.9", "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive",
           _file(["{kubelet_config}"]), _mode_rule("600"), remedy=_file_remedy(mode="0600"), enforced_by="kubelet",
           missing="not_applicable"),
        _c("4.1.10", "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root",
           _file(["{kubelet_config}"]), _OWNER_ROOT, remedy=_file_remedy(owner="root", group="root"), enforced_by="kubelet",
           missing="not_applicable"),
    ]

    # 4.2 kubelet: flag first, then the KubeletConfiguration key
    def k(flag, path, *rest, **kw):
        return _item(flag, *rest, path=path, **kw)

    c += [
        _c("4.2.1", "Ensure that the --anonymous-auth argument is set to false", KUBELET,
           _test(k("anonymous-auth", "authentication.anonymous.enabled", "eq", "false")),
           remedy={"config": {"authentication": {"anonymous": {"enabled": False}}}}, enforced_by="kubelet"),
        _c("4.2.2", "Ensure that the --authorization-mode argument is not set to AlwaysAllow", KUBELET,
           _test(k("authorization-mode", "authorization.mode", "nothave", "AlwaysAllow")),
           remedy={"config": {"authorization": {"mode": "Webhook"}}}, enforced_by="kubelet"),
        _c("4.2.3", "Ensure that the --client-ca-file argument is set as appropriate", KUBELET,
           _test(k("client-ca-file", "authentication.x509.clientCAFile")),
           remedy={"config": {"authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}}},
           enforced_by="kubelet"),
        _c("4.2.4", "Verify that if defined, the --read-only-port argument is set to 0", KUBELET,
           _test(k("read-only-port", "readOnlyPort", "eq", "0"), k("read-only-port", "readOnlyPort", set_=False),
                 bin_op="or"),
           scored=False, automated=False, remedy={"config": {"readOnlyPort": 0}}, enforced_by="kubelet",
           overrides={"cis-1.10": {"title": "Verify that the --read-only-port argument is set to 0"}}),
        _c("4.2.5", "Ensure that the --streaming-connection-idle-timeout argument is not set to 0", KUBELET,
           _test(k("streaming-connection-idle-timeout", "streamingConnectionIdleTimeout", "noteq", "0"),
                 k("streaming-connection-idle-timeout", "streamingConnectionIdleTimeout", set_=False), bin_op="or"),
           scored=False, automated=False,
           remedy={"config": {"streamingConnectionIdleTimeout": STREAMING_CONNECTION_IDLE_TIMEOUT}}, enforced_by="kubelet",
           note="kubeadm writes '0s' (= kubelet default 4h); written as 5m."),
        _c("4.2.6", "Ensure that the --make-iptables-util-chains argument is set to true", KUBELET,
           _test(k("make-iptables-util-chains", "makeIPTablesUtilChains", "eq", "true"),
                 k("make-iptables-util-chains", "makeIPTablesUtilChains", set_=False), bin_op="or"),
           remedy={"config": {"makeIPTablesUtilChains": True}}, enforced_by="kubelet"),
        _c("4.2.7", "Ensure that the --hostname-override argument is not set", KUBELET,
           _test(_item("hostname-override", set_=False)), scored=False, automated=False,
           enforced_by="kubelet", action="opt_in",
           note="kubeadm writes --hostname-override into kubeadm-flags.env when the node name differs from the "
                "hostname; removing it renames the node, so it is opt-in (kubelet_remove_hostname_override)."),
        _c("4.2.8", "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate event capture",
           KUBELET,
           _test(k("event-qps", "eventRecordQPS", "gte", "0"), k("event-qps", "eventRecordQPS", set_=False), bin_op="or"),
           scored=False, automated=False, remedy={"config": {"eventRecordQPS": EVENT_RECORD_QPS}}, enforced_by="kubelet"),
        _c("4.2.9", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate", KUBELET,
           _test(k("tls-cert-file", "tlsCertFile"), k("tls-private-key-file", "tlsPrivateKeyFile")),
           scored=False, automated=False, enforced_by="kubelet",
           remedy={"config": {"tlsCertFile": KUBELET_SERVING_CERT, "tlsPrivateKeyFile": KUBELET_SERVING_KEY}},
           note="kubeadm leaves them unset (a self-signed certificate); the kubelet role issues and renews a serving "
                "certificate signed by the cluster CA with the node's names and addresses (kubelet_serving_cert_*)."),
        _c("4.2.10", "Ensure that the --rotate-certificates argument is not set to false", KUBELET,
           _test(k("rotate-certificates", "rotateCertificates", "eq", "true"),
                 k("rotate-certificates", "rotateCertificates", set_=False), bin_op="or"),
           remedy={"config": {"rotateCertificates": True}}, enforced_by="kubelet"),
        _c("4.2.11", "Verify that the RotateKubeletServerCertificate argument is set to true", KUBELET,
           _test(_item(feature_gate="RotateKubeletServerCertificate", path="featureGates.RotateKubeletServerCertificate",
                       op="nothave", value="false"),
                 _item(feature_gate="RotateKubeletServerCertificate", path="featureGates.RotateKubeletServerCertificate",
                       set_=False), bin_op="or"),
           scored=False, automated=False,
           note="Defaults to true; serverTLSBootstrap is the kubelet role's opt-in (kubelet_server_tls_bootstrap)."),
        _c("4.2.12", "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers", KUBELET,
           _test(k("tls-cipher-suites", "tlsCipherSuites", "valid_elements", ",".join(KUBELET_CIS_SUITES))),
           scored=False, automated=False, remedy={"config": {"tlsCipherSuites": list(STRONG_SUITES)}},
           enforced_by="kubelet", note="kube-bench's kubelet list accepts only the legacy CHACHA20 spellings."),
        _c("4.2.13", "Ensure that a limit is set on pod PIDs", KUBELET,
           _test(k("pod-max-pids", "podPidsLimit")),
           intent=_test(k("pod-max-pids", "podPidsLimit", "gt", "0")),
           scored=False, automated=False, remedy={"config": {"podPidsLimit": POD_PIDS_LIMIT}}, enforced_by="kubelet",
           note="Letter: set (kube-bench passes -1). Intent: a positive limit."),
        _c("4.2.14", "Ensure that the --seccomp-default parameter is set to true", KUBELET,
           _test(k("seccomp-default", "seccompDefault")),
           intent=_test(k("seccomp-default", "seccompDefault", "eq", "true")),
           scored=False, automated=False, remedy={"config": {"seccompDefault": True}}, enforced_by="kubelet",
           benchmarks=FROM_1_11, note="Added in cis-1.11. Letter: set; intent: true."),
        _c("4.2.15", "Ensure that the kubelet service IPAddressDeny is set to any",
           {"type": "systemd", "unit": "kubelet", "property": "IPAddressDeny"},
           _test(_item(field="IPAddressDeny", op="has", value="any")), scored=False, automated=False,
           benchmarks=["cis-1.11"],
           note="Only in cis-1.11. A systemd IP firewall on the kubelet breaks probes, logs and exec unless "
                "every needed address is allowed (kubespray#10744); audit only."),
        _c("4.3.1", "Ensure that the kube-proxy metrics service is bound to localhost", {"type": "kube_proxy"},
           None, node_roles=ANY_NODE, action="not_applicable",
           note="kubeadm runs kube-proxy as a DaemonSet configured by the kube-system/kube-proxy ConfigMap "
                "(metricsBindAddress); nothing on the node to read. Check the ConfigMap."),
    ]
    c += _cluster_controls()
    return c


# ---------------------------------------------------------------------------
# Section 5 (Kubernetes Policies): cluster-level controls, checked through the API
# by the cluster_policies role. They apply to the report's one "cluster" row
# (node_roles [cluster]); on nodes they are not applicable. Each names the check
# (a finding key of _cluster_policy/_rbac); the test is "no finding that counts".
# Numbering: 5.2.9-5.2.13 move up one in cis-1.12 (5.2.9 "added capabilities"
# removed); the General Policies are 5.7.x in cis-1.10 and 5.6.x from cis-1.11.
# ---------------------------------------------------------------------------

CLUSTER = ["cluster"]
FROM_1_10_TO_1_11 = ["cis-1.10", "cis-1.11"]
_CP_ROLE = "cluster_policies"


def _k(check):
    return {"type": "cluster", "check": check}


def _none(check):
    return _test(_item(field=check + "_findings", op="eq", value="0"))


def _s5(cid, title, check, enforced=False, note="", benchmarks=None, overrides=None, automated_in_1_10=False):
    ovr = dict(overrides or {})
    if automated_in_1_10:
        ovr.setdefault("cis-1.10", {})["automated"] = True
    return _c(cid, title, _k(check) if check else {"type": "cluster", "check": None},
              _none(check) if check else None, scored=False, automated=False,
              enforced_by=_CP_ROLE if enforced else None, action=None if check else "manual",
              note=note, benchmarks=benchmarks, overrides=ovr, node_roles=CLUSTER, missing="not_applicable")


def _s5_over(check, title):
    return {"title": title, "target": _k(check), "test": _none(check)}


_T_ADDED = "Minimize the admission of containers with added capabilities"
_T_CAPS = "Minimize the admission of containers with capabilities assigned"
_T_WIN = "Minimize the admission of Windows HostProcess containers"
_T_HOSTPATH = "Minimize the admission of HostPath volumes"
_T_HOSTPORT = "Minimize the admission of containers which use HostPorts"
_RBAC_NOTE = "Reported (RBAC analysis of every Role/ClusterRole and binding); built-in bootstrap and kubeadm objects are listed but do not count."


def _cluster_controls():
    general = [("1", "Create administrative boundaries between resources using namespaces", None,
                "Manual: the report lists the namespaces and the workloads in default (see the next controls)."),
               ("2", "Ensure that the seccomp profile is set to docker/default in your Pod definitions", "seccomp",
                "Reported: pods and pod templates whose effective seccompProfile is unset or Unconfined "
                "(kubelet_seccomp_default sets RuntimeDefault node-wide, which the API does not show)."),
               ("3", "Apply SecurityContext to your Pods and Containers", None,
                "Manual; the Pod Security labels (restricted warn/audit) report what lacks a security context."),
               ("4", "The default namespace should not be used", "default_namespace",
                "Reported: objects in default other than the built-in kubernetes Service, kube-root-ca.crt and the "
                "default ServiceAccount.")]
    out = [
        _s5("5.1.1", "Ensure that the cluster-admin role is only used where required", "cluster_admin",
            note="Reported: every (Cluster)RoleBinding to cluster-admin and its subjects. " + _RBAC_NOTE,
            automated_in_1_10=True),
        _s5("5.1.2", "Minimize access to secrets", "secrets_access", note="Reported: who can get/list/watch Secrets. "
            + _RBAC_NOTE, automated_in_1_10=True),
        _s5("5.1.3", "Minimize wildcard use in Roles and ClusterRoles", "wildcards",
            note="Reported: every Role and ClusterRole with '*' in verbs, resources, apiGroups or nonResourceURLs. "
            + _RBAC_NOTE, automated_in_1_10=True),
        _s5("5.1.4", "Minimize access to create pods", "create_pods",
            note="Reported: who can create pods or workloads (which can create pods). " + _RBAC_NOTE,
            automated_in_1_10=True),
        _s5("5.1.5", "Ensure that default service accounts are not actively used", "default_sa", enforced=True,
            note="The cluster_policies role sets automountServiceAccountToken: false on the default ServiceAccount "
                 "of every selected namespace; elsewhere reported.", automated_in_1_10=True),
        _s5("5.1.6", "Ensure that Service Account Tokens are only mounted where necessary", "token_mounts",
            note="Reported: pods that mount a token (flagged as unneeded when their ServiceAccount has no binding), "
                 "and legacy service-account token Secrets.", automated_in_1_10=True),
        _s5("5.1.7", "Avoid use of system:masters group", "system_masters",
            note="Reported: kubeconfigs on the control-plane nodes whose client certificate carries O=system:masters "
                 "(admin.conf on 1.28, super-admin.conf from 1.29), and audit-log requests by system:masters users "
                 "after bootstrap."),
        _s5("5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster",
            "bind_escalate_impersonate", note=_RBAC_NOTE),
        _s5("5.1.9", "Minimize access to create persistent volumes", "create_pv", note=_RBAC_NOTE),
        _s5("5.1.10", "Minimize access to the proxy sub-resource of nodes", "nodes_proxy", note=_RBAC_NOTE),
        _s5("5.1.11", "Minimize access to the approval sub-resource of certificatesigningrequests objects",
            "csr_approval", note=_RBAC_NOTE),
        _s5("5.1.12", "Minimize access to webhook configuration objects", "webhook_config", note=_RBAC_NOTE),
        _s5("5.1.13", "Minimize access to the service account token creation", "sa_token_create", note=_RBAC_NOTE),
        _s5("5.2.1", "Ensure that the cluster has at least one active policy control mechanism in place",
            "policy_control", enforced=True,
            note="The cluster_policies role labels every selected namespace for Pod Security Admission (enforce "
                 "baseline, audit and warn restricted by default), never loosening stricter labels."),
        _s5("5.2.2", "Minimize the admission of privileged containers", "privileged",
            note="Reported per pod/workload; Pod Security baseline rejects it."),
        _s5("5.2.3", "Minimize the admission of containers wishing to share the host process ID namespace",
            "host_pid", note="Reported; baseline rejects it."),
        _s5("5.2.4", "Minimize the admission of containers wishing to share the host IPC namespace", "host_ipc",
            note="Reported; baseline rejects it."),
        _s5("5.2.5", "Minimize the admission of containers wishing to share the host network namespace",
            "host_network", note="Reported; baseline rejects it. kubeadm's static pods and kube-proxy in kube-system "
                                 "(exempt) are listed but do not count."),
        _s5("5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation", "allow_privilege_escalation",
            note="Reported: containers without allowPrivilegeEscalation: false (restricted rejects them)."),
        _s5("5.2.7", "Minimize the admission of root containers", "root",
            note="Reported: containers without runAsNonRoot: true or with runAsUser 0 (restricted)."),
        _s5("5.2.8", "Minimize the admission of containers with the NET_RAW capability", "net_raw",
            note="Reported: containers that add NET_RAW/ALL or drop neither."),
        _s5("5.2.9", _T_ADDED, "added_capabilities", note="cis-1.10/1.11: containers that add capabilities; "
            "cis-1.12: this control is gone and 5.2.9 is the former 5.2.10.",
            overrides={"cis-1.12": _s5_over("capabilities_assigned", _T_CAPS)}),
        _s5("5.2.10", _T_CAPS, "capabilities_assigned", note="cis-1.12 numbers it 5.2.9; there 5.2.10 is HostProcess.",
            overrides={"cis-1.12": _s5_over("host_process", _T_WIN)}),
        _s5("5.2.11", _T_WIN, "host_process", overrides={"cis-1.12": _s5_over("host_path", _T_HOSTPATH)},
            note="cis-1.12 numbers it 5.2.10; there 5.2.11 is HostPath."),
        _s5("5.2.12", _T_HOSTPATH, "host_path", overrides={"cis-1.12": _s5_over("host_ports", _T_HOSTPORT)},
            note="cis-1.12 numbers it 5.2.11; there 5.2.12 is HostPorts."),
        _s5("5.2.13", _T_HOSTPORT, "host_ports", benchmarks=FROM_1_10_TO_1_11, note="cis-1.12 numbers it 5.2.12."),
        _s5("5.3.1", "Ensure that the CNI in use supports NetworkPolicies", "cni",
            note="Reported: the CNI identified from kube-system DaemonSets/pods (cilium, calico, canal, weave, antrea, "
                 "kube-router, kindnet enforce NetworkPolicy; flannel alone does not). The API cannot prove "
                 "enforcement; a traffic test can."),
        _s5("5.3.2", "Ensure that all Namespaces have NetworkPolicies defined", "network_policy", enforced=True,
            note="The cluster_policies role adds default-deny (ingress and egress) plus DNS egress to every selected "
                 "namespace."),
        _s5("5.4.1", "Prefer using Secrets as files over Secrets as environment variables", "env_secrets",
            note="Reported: pods and workloads using secretKeyRef/envFrom secretRef; also ConfigMaps whose keys "
                 "look like credentials."),
        _s5("5.4.2", "Consider external secret storage", None, note="Manual."),
        _s5("5.5.1", "Configure Image Provenance using ImagePolicyWebhook admission controller", None, note="Manual."),
    ]
    for num, title, check, note in general:
        out.append(_s5("5.7." + num, title, check, note=note, benchmarks=["cis-1.10"]))
        out.append(_s5("5.6." + num, title, check, note=note, benchmarks=FROM_1_11))
    return out


# The role variables that govern each control (for docs/controls.md and the report).
_CP_FILES = "control_plane_file_permissions_enabled"
_KUBELET_FILES = "kubelet_file_permissions_enabled"
VARIABLES = dict(
    [(cid, [_CP_FILES]) for cid in ["1.1.%d" % i for i in list(range(1, 9)) + list(range(13, 22))]]
    + [(cid, [_KUBELET_FILES]) for cid in ["4.1.%d" % i for i in range(1, 11)]]
    + [(cid, ["etcd role (docs/etcd.md)"]) for cid in ("1.1.11", "1.1.12", "2.2", "2.3", "2.5", "2.6", "2.7")]
    + [(cid, ["control_plane_profiling"]) for cid in ("1.2.15", "1.3.2", "1.4.1")]
    + [(cid, ["control_plane_audit_enabled", "control_plane_audit_log_dir", "control_plane_audit_log_file"])
       for cid in ("1.2.16",)]
    + [("1.2.17", ["control_plane_audit_log_maxage"]), ("1.2.18", ["control_plane_audit_log_maxbackup"]),
       ("1.2.19", ["control_plane_audit_log_maxsize"]),
       ("3.2.1", ["control_plane_audit_enabled", "control_plane_audit_policy_path", "control_plane_audit_policy_rules"]),
       ("1.2.1", ["control_plane_anonymous_auth", "control_plane_anonymous_auth_fallback"]),
       ("1.2.3", ["control_plane_admission_plugins"]), ("1.2.9", ["control_plane_admission_plugins",
                                                                  "control_plane_event_rate_limits"]),
       ("1.2.10", ["control_plane_admission_forbidden_plugins"]), ("1.2.11", ["control_plane_admission_always_pull_images"]),
       ("1.2.14", ["control_plane_admission_plugins"]),
       ("1.2.5", ["kubelet_apiserver_ca_enabled", "kubelet_serving_cert_enabled"]), ("1.2.20", ["control_plane_request_timeout"]),
       ("1.2.29", ["control_plane_tls_enabled", "control_plane_tls_cipher_suites"]),
       ("1.2.30", ["control_plane_service_account_extend_token_expiration"]),
       ("1.2.27", ["encryption_enabled", "encryption_config_path"]), ("1.2.28", ["encryption_enabled", "encryption_provider"]),
       ("1.3.1", ["control_plane_terminated_pod_gc_threshold"]),
       ("1.3.7", ["control_plane_controller_manager_bind_address"]), ("1.4.2", ["control_plane_scheduler_bind_address"]),
       ("1.2.2", ["control_plane_apiserver_absent_flags"]), ("1.2.21", ["control_plane_apiserver_extra_flags"]),
       ("1.3.3", ["control_plane_controller_manager_extra_flags"]),
       ("4.2.1", ["kubelet_config_overrides"]), ("4.2.2", ["kubelet_config_overrides"]),
       ("4.2.3", ["kubelet_config_overrides"]), ("4.2.4", ["kubelet_config_overrides"]),
       ("4.2.5", ["kubelet_streaming_connection_idle_timeout"]), ("4.2.6", ["kubelet_make_iptables_util_chains"]),
       ("4.2.7", ["kubelet_remove_hostname_override"]), ("4.2.8", ["kubelet_event_record_qps"]),
       ("4.2.9", ["kubelet_serving_cert_enabled", "kubelet_serving_cert_file", "kubelet_serving_key_file"]),
       ("4.2.10", ["kubelet_config_overrides"]), ("4.2.11", ["kubelet_server_tls_bootstrap"]),
       ("4.2.12", ["kubelet_tls_cipher_suites"]), ("4.2.13", ["kubelet_pod_pids_limit"]),
       ("4.2.14", ["kubelet_seccomp_default"])])
# Section 5 (cluster_policies role)
VARIABLES.update(
    [(cid, ["cluster_policies_rbac_report_enabled"]) for cid in ["5.1.%d" % i for i in (1, 2, 3, 4, 8, 9, 10, 11, 12, 13)]]
    + [("5.1.5", ["cluster_policies_service_accounts_enabled"]), ("5.1.6", ["cluster_policies_hygiene_report_enabled"]),
       ("5.1.7", ["cluster_policies_masters_report_enabled", "cluster_policies_kubeconfig_dirs",
                  "cluster_policies_audit_log"]),
       ("5.2.1", ["cluster_policies_psa_enabled", "cluster_policies_psa_levels"]),
       ("5.3.1", ["cluster_policies_network_policy_enabled"]),
       ("5.3.2", ["cluster_policies_network_policy_enabled", "cluster_policies_network_policy_types"])]
    + [(cid, ["cluster_policies_hygiene_report_enabled"])
       for cid in ["5.2.%d" % i for i in range(2, 14)] + ["5.4.1", "5.6.2", "5.6.4", "5.7.2", "5.7.4"]])


def _with_variables(ctls):
    for ctl in ctls:
        ctl["variables"] = list(VARIABLES.get(ctl["id"], []))
    return ctls


CONTROLS = _with_variables(_build_controls())
_BY_ID = dict((ctl["id"], ctl) for ctl in CONTROLS)


def _id_key(cid):
    return tuple(int(p) for p in cid.split("."))


# ---------------------------------------------------------------------------
# Lookup, benchmarks, waivers
# ---------------------------------------------------------------------------

def check_benchmark(benchmark):
    if benchmark not in BENCHMARKS:
        raise CISError("unknown CIS benchmark %r; use one of %s (variable k8s_hardening_cis_benchmark)"
                       % (benchmark, ", ".join(BENCHMARKS)))
    return benchmark


def get_control(cid, benchmark=DEFAULT_BENCHMARK):
    """The control as it reads in one benchmark (overrides applied), or None if absent there."""
    check_benchmark(benchmark)
    ctl = _BY_ID.get(cid)
    if ctl is None:
        raise CISError("unknown CIS control id %r" % (cid,))
    if benchmark not in ctl["benchmarks"]:
        return None
    out = copy.deepcopy(ctl)
    out.update(copy.deepcopy(ctl["overrides"].get(benchmark, {})))
    out["benchmark"] = benchmark
    return out


def controls(benchmark=DEFAULT_BENCHMARK):
    """All controls of a benchmark, resolved, in id order."""
    out = []
    for ctl in sorted(CONTROLS, key=lambda x: _id_key(x["id"])):
        resolved = get_control(ctl["id"], benchmark)
        if resolved is not None:
            out.append(resolved)
    return out


def check_waivers(waivers, varname="k8s_hardening_waivers"):
    """Validate a waiver dict {id: reason}; returns it with string keys. Raises CISError naming the variable."""
    if waivers is None:
        return {}
    if not isinstance(waivers, dict):
        raise CISError("%s must be a dict of CIS control id -> reason, e.g. {'1.1.12': 'kubeadm runs etcd as root'}; "
                       "got %s" % (varname, type(waivers).__name__))
    out = {}
    for key, reason in waivers.items():
        cid = str(key)
        if cid not in _BY_ID:
            raise CISError("%s: unknown CIS control id %r; use ids like '1.2.15' (see docs/controls.md)" % (varname, cid))
        if not isinstance(reason, str) or not reason.strip():
            raise CISError("%s[%r]: give the reason for the waiver as a non-empty string" % (varname, cid))
        out[cid] = reason.strip()
    return out


# ---------------------------------------------------------------------------
# kube-bench test semantics
# ---------------------------------------------------------------------------

def _to_str(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_to_str(v) for v in value)
    if isinstance(value, dict):
        return ",".join("%s=%s" % (k, _to_str(v)) for k, v in value.items())
    return str(value)


def _to_int(text):
    try:
        return int(str(text).strip(), 10)
    except (TypeError, ValueError):
        return None


def compare(op, expected, actual):
    """kube-bench's compareOp: True when actual (a string) satisfies op/expected."""
    if actual is None:
        return False
    actual = str(actual)
    expected = "" if expected is None else str(expected)
    if op in ("eq", "noteq"):
        low = actual.lower()
        if low in ("true", "false"):
            match = low == expected.lower()
        else:
            match = actual == expected
        return match if op == "eq" else not match
    if op in ("gt", "gte", "lt", "lte"):
        a, e = _to_int(actual), _to_int(expected)
        if a is None or e is None:
            return False
        return {"gt": a > e, "gte": a >= e, "lt": a < e, "lte": a <= e}[op]
    if op == "has":
        return expected in actual
    if op == "nothave":
        return expected not in actual
    if op == "regex":
        return re.search(expected, actual) is not None
    if op == "valid_elements":
        allowed = set(x.strip() for x in expected.split(",") if x.strip())
        elements = [x.strip() for x in actual.split(",") if x.strip()]
        return bool(elements) and all(x in allowed for x in elements)
    if op == "bitmask":
        try:
            a, e = int(actual, 8), int(expected, 8)
        except ValueError:
            return False
        return (e & a) == a
    raise CISError("unknown test op %r" % (op,))


_OP_TEXT = {"eq": "==", "noteq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "has": "has",
            "nothave": "lacks", "regex": "matches", "valid_elements": "within", "bitmask": "at most"}


def _item_name(item):
    if "flag" in item:
        name = "--" + item["flag"]
        if "path" in item:
            name += " / " + item["path"]
        if "env" in item:
            name += " / env " + item["env"]
        return name
    if "feature_gate" in item:
        return "feature gate %s / %s" % (item["feature_gate"], item.get("path", ""))
    return item.get("field") or item.get("path") or "?"


def describe_item(item):
    name = _item_name(item)
    if not item.get("set", True):
        return "%s unset" % name
    if "op" not in item:
        return "%s set" % name
    value = item["value"]
    if item["op"] == "valid_elements":
        value = "{%s}" % value
    return "%s %s %s" % (name, _OP_TEXT.get(item["op"], item["op"]), value)


def describe_test(test):
    if not test:
        return "manual review"
    joiner = " OR " if test.get("bin_op") == "or" else " AND "
    return joiner.join(describe_item(i) for i in test["items"])


def _dig(data, dotted):
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    if cur is None:
        return False, None
    return True, cur


def _feature_gate(flags, gate):
    """Value of one gate in --feature-gates=A=true,B=false, or (False, None)."""
    text = flags.get("feature-gates") if flags else None
    if not text:
        return False, None
    for part in str(text).split(","):
        name, _sep, value = part.strip().partition("=")
        if name == gate:
            return True, value
    return False, None


def lookup(item, obs):
    """(found, value_str) for one test item against a flattened observation.

    obs keys: flags (dict), env (dict), config (dict, kubelet), fields (dict).
    Precedence like kube-bench: the flag first, then env, then the config path.
    """
    flags = obs.get("flags") or {}
    if "flag" in item and item["flag"] in flags:
        value = flags[item["flag"]]
        return True, "true" if value is None else _to_str(value)
    if "feature_gate" in item:
        found, value = _feature_gate(flags, item["feature_gate"])
        if found:
            return True, value
    if "env" in item and item["env"] in (obs.get("env") or {}):
        return True, _to_str(obs["env"][item["env"]])
    if "path" in item and obs.get("config") is not None:
        found, value = _dig(obs["config"], item["path"])
        if found:
            return True, _to_str(value)
    if "field" in item and item["field"] in (obs.get("fields") or {}):
        value = obs["fields"][item["field"]]
        if value is not None:
            return True, _to_str(value)
    return False, None


def run_item(item, obs):
    found, value = lookup(item, obs)
    if not item.get("set", True):
        return (not found), value
    if not found:
        return False, None
    if "op" not in item:
        return True, value
    return compare(item["op"], item["value"], value), value


def run_test(test, obs):
    """(passed, {item description: observed}) for a kube-bench test."""
    results = [run_item(i, obs) for i in test["items"]]
    observed = {}
    for item, (_ok, value) in zip(test["items"], results):
        observed.setdefault(_item_name(item), "(unset)" if value is None else value)
    if test.get("bin_op") == "or":
        ok = any(r[0] for r in results)
    else:
        ok = all(r[0] for r in results)
    return ok, observed


# ---------------------------------------------------------------------------
# Remedies and violations (what the harden roles use)
# ---------------------------------------------------------------------------

def _deep_merge(base, extra):
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _type_of(ctl):
    return ctl["target"]["type"]


def _select(target_type, component, waivers, benchmark):
    if target_type not in TARGET_TYPES:
        raise CISError("unknown CIS target type %r; use one of %s" % (target_type, ", ".join(TARGET_TYPES)))
    if component is not None and component not in COMPONENTS:
        raise CISError("unknown component %r; use one of %s" % (component, ", ".join(COMPONENTS)))
    waivers = check_waivers(waivers)
    out = []
    for ctl in controls(benchmark):
        if _type_of(ctl) != target_type or ctl["id"] in waivers or not ctl["remedy"]:
            continue
        if component is not None and ctl["target"].get("component") not in (None, component):
            continue
        out.append(ctl)
    return out


def resolve_paths(template, paths=None):
    """Expand '{key}' templates against node paths (DEFAULT_PATHS overridden by paths); list values expand."""
    merged = dict(DEFAULT_PATHS)
    for key, value in (paths or {}).items():
        if value not in (None, "", []):
            merged[key] = value
    match = re.fullmatch(r"\{(\w+)\}", template)
    if match:
        value = merged.get(match.group(1))
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return [] if value in (None, "") else [str(value)]
    try:
        return [template.format(**merged)]
    except KeyError as exc:
        raise CISError("path template %r needs node path %s" % (template, exc))


def remedies(target_type, component=None, waivers=None, benchmark=DEFAULT_BENCHMARK, paths=None):
    """What the collection writes for the non-waived controls of one target type.

    flag: {flag: value} for component (list values for list flags such as enable-admission-plugins);
    kubelet: the nested KubeletConfiguration dict;
    file: [{path, mode, owner, group, ids}] plus {recurse, pattern, include_dir} for a directory glob (the
    file_permissions module's rule format; modes are ceilings there, like kube-bench's bitmask test).
    Other types have no remedy: {}.
    """
    if target_type == "flag" and component is None:
        raise CISError("cis_remedies('flag') needs a component: one of %s" % ", ".join(COMPONENTS))
    selected = _select(target_type, component, waivers, benchmark)
    if target_type == "flag":
        out = {}
        for ctl in selected:
            for flag, value in ctl["remedy"].get("flags", {}).items():
                if isinstance(value, list) and isinstance(out.get(flag), list):
                    out[flag] = out[flag] + [v for v in value if v not in out[flag]]
                else:
                    out[flag] = copy.deepcopy(value)
        return out
    if target_type == "kubelet":
        out = {}
        for ctl in selected:
            out = _deep_merge(out, ctl["remedy"].get("config", {}))
        return out
    if target_type == "file":
        entries = []
        index = {}
        for ctl in selected:
            target = ctl["target"]
            if component is not None and target.get("component") != component:
                continue
            keys = []
            for tmpl in target.get("paths", []):
                keys.extend((p, None) for p in resolve_paths(tmpl, paths))
            if "dir" in target:
                for d in resolve_paths(target["dir"], paths):
                    keys.append((d, target["pattern"]))
            for path, pattern in keys:
                key = (path, pattern)
                if key not in index:
                    entry = {"path": path, "mode": None, "owner": None, "group": None, "ids": []}
                    if pattern is not None:
                        entry.update({"recurse": bool(target.get("recurse")), "pattern": pattern,
                                      "include_dir": bool(target.get("include_dir"))})
                    index[key] = entry
                    entries.append(entry)
                entry = index[key]
                for field in ("mode", "owner", "group"):
                    if ctl["remedy"].get(field) is not None:
                        entry[field] = ctl["remedy"][field]
                entry["ids"].append(ctl["id"])
        return entries
    return {}


def static_pod_contribution(component, waivers=None, benchmark=DEFAULT_BENCHMARK, source="cis"):
    """A docs/design.md §3 contribution carrying every flag remedy (set, absent, list_remove) of a component."""
    selected = _select("flag", component, waivers, benchmark)
    contrib = {"source": source, "component": component, "flags": remedies("flag", component, waivers, benchmark),
               "absent_flags": [], "list_remove": {}}
    for ctl in selected:
        for flag in ctl["remedy"].get("absent_flags", []):
            if flag not in contrib["absent_flags"]:
                contrib["absent_flags"].append(flag)
        for flag, items in ctl["remedy"].get("list_remove", {}).items():
            bucket = contrib["list_remove"].setdefault(flag, [])
            bucket.extend(i for i in items if i not in bucket)
    return contrib


def _file_obs_for(desired, ctl, paths):
    target = ctl["target"]
    files = []
    for entry in desired:
        path = entry.get("path", "")
        hit = False
        for tmpl in target.get("paths", []):
            if path in resolve_paths(tmpl, paths):
                hit = True
        if "dir" in target:
            for d in resolve_paths(target["dir"], paths):
                inside = path == d or path.startswith(d.rstrip("/") + "/")
                if not inside:
                    continue
                if entry.get("pattern") is not None:
                    hit = hit or (path == d and entry["pattern"] == target["pattern"])
                elif path == d:
                    hit = hit or bool(target.get("include_dir"))
                else:
                    hit = hit or fnmatch.fnmatch(path.rsplit("/", 1)[-1], target["pattern"])
        if hit or ctl["id"] in entry.get("ids", []):
            files.append(entry)
    return files


def _file_fields(entry):
    mode = entry.get("mode")
    if mode is not None:
        mode = "%o" % int(str(mode), 8)
    owner = entry.get("owner")
    group = entry.get("group")
    own = None if owner is None and group is None else "%s:%s" % (owner, group)
    return {"mode": mode, "owner": own}


def violations(desired, target_type, component=None, waivers=None, benchmark=DEFAULT_BENCHMARK, paths=None):
    """Controls the collection enforces that the desired state would fail.

    desired: flag -> the component's desired flags {flag: value} (lists allowed);
    kubelet -> the desired KubeletConfiguration dict; file -> [{path, mode, owner, group}].
    Returns [{id, title, expected, observed, message}] (waived controls are skipped).
    """
    selected = _select(target_type, component, waivers, benchmark)
    out = []
    if target_type == "file":
        if not isinstance(desired, list):
            raise CISError("cis_violations(desired, 'file'): desired must be a list of {path, mode, owner, group}")
        for ctl in selected:
            for entry in _file_obs_for(desired, ctl, paths):
                fields = _file_fields(entry)
                needed = [i for i in ctl["test"]["items"] if fields.get(i["field"]) is not None]
                if not needed:
                    continue
                ok, observed = run_test({"bin_op": "and", "items": needed}, {"fields": fields})
                if not ok:
                    out.append(_violation(ctl, observed, entry.get("path")))
        return out
    if not isinstance(desired, dict):
        raise CISError("cis_violations(desired, %r): desired must be a dict" % target_type)
    obs = {"config": desired} if target_type == "kubelet" else {"flags": desired}
    for ctl in selected:
        for test in (ctl["test"], ctl.get("intent")):
            if not test:
                continue
            ok, observed = run_test(test, obs)
            if not ok:
                out.append(_violation(ctl, observed, None, intent=test is ctl.get("intent")))
                break
    return out


def _violation(ctl, observed, path, intent=False):
    test = ctl["intent"] if intent else ctl["test"]
    expected = describe_test(test)
    obs_text = ", ".join("%s=%s" % kv for kv in observed.items())
    where = " (%s)" % path if path else ""
    return {"id": ctl["id"], "title": ctl["title"], "expected": expected, "observed": observed,
            "message": "CIS %s%s: expected %s, desired state has %s; set it accordingly or waive %s in "
                       "k8s_hardening_waivers" % (ctl["id"], where, expected, obs_text, ctl["id"])}


# ---------------------------------------------------------------------------
# Evaluation of an observed node (what the report uses)
# ---------------------------------------------------------------------------

def _applicable(ctl, node):
    roles = node.get("node_roles") or []
    if not any(r in ctl["node_roles"] for r in roles):
        return "not a %s node (roles: %s)" % (" or ".join(ctl["node_roles"]), ", ".join(roles) or "none")
    return None


def _file_observation(ctl, node):
    """Stat entries the node module gathered for this control, or None if not gathered."""
    files = node.get("files") or {}
    return files.get(ctl["id"])


def _result(status, observed=None, expected=None, reason="", letter=None, intent=None):
    return {"status": status, "observed": observed, "expected": expected, "reason": reason,
            "letter": letter, "intent": intent}


def _evaluate_files(ctl, node):
    entries = _file_observation(ctl, node)
    expected = describe_test(ctl["test"])
    if entries is None:
        return _result("fail", None, expected, "the node module gathered no data for this control")
    present = [e for e in entries if e.get("exists", True)]
    if not present:
        missing = ctl["missing"]
        reason = "no file found (%s)" % ", ".join(e.get("path", "?") for e in entries) if entries else "no file found"
        if missing == "pass":
            return _result("pass", "(absent)", expected, reason, letter="pass")
        if missing == "not_applicable":
            return _result("not_applicable", "(absent)", expected, reason)
        return _result("fail", "(absent)", expected, reason, letter="fail")
    bad = []
    for entry in present:
        ok, observed = run_test(ctl["test"], {"fields": {
            "mode": entry.get("mode"), "owner": "%s:%s" % (entry.get("owner"), entry.get("group"))}})
        if not ok:
            bad.append("%s %s" % (entry["path"], ",".join(str(v) for v in observed.values())))
    if bad:
        shown = bad[:5] + (["... %d more" % (len(bad) - 5)] if len(bad) > 5 else [])
        return _result("fail", "; ".join(shown), expected, "%d of %d files fail" % (len(bad), len(present)),
                       letter="fail")
    sample = present[0]
    field = ctl["test"]["items"][0]["field"]
    value = sample.get("mode") if field == "mode" else "%s:%s" % (sample.get("owner"), sample.get("group"))
    observed = value if len(present) == 1 else "%d files, e.g. %s %s" % (len(present), sample["path"], value)
    return _result("pass", observed, expected, "", letter="pass")


def _flat_obs(ctl, node):
    ttype = _type_of(ctl)
    if ttype == "kubelet":
        kub = node.get("kubelet") or {}
        if kub.get("error"):
            return {"error": kub["error"]}, None
        return {"flags": kub.get("flags") or {}, "config": kub.get("config")}, None
    component = ctl["target"].get("component")
    comps = node.get("components") or {}
    comp = comps.get(component)
    if not comp or not comp.get("present", True):
        return None, "no %s static pod manifest on this node" % component
    if comp.get("error"):
        return {"error": comp["error"]}, None
    obs = {"flags": comp.get("flags") or {}, "env": comp.get("env") or {}, "fields": {}}
    if ttype == "etcd_ca":
        obs["fields"].update(etcd_ca_fields(node.get("ca_fingerprints") or {}))
    if ttype == "encryption":
        enc = node.get("encryption") or {}
        obs["fields"].update({"letter_provider": enc.get("letter_provider"),
                              "secrets_provider": enc.get("secrets_provider")})
        if enc.get("error"):
            obs["fields"]["error"] = enc["error"]
    return obs, None


def _as_list(value):
    if not value:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def etcd_ca_fields(fps):
    """etcd_ca_unique: "true" when etcd trusts at least one CA and none of the CAs it trusts (a bundle during a
    CA rotation) is the cluster CA or the front-proxy CA (fingerprints as strings or lists of strings)."""
    etcd = _as_list(fps.get("etcd_ca"))
    if not etcd:
        return {"etcd_ca_unique": None}
    others = set(_as_list(fps.get("cluster_ca")) + _as_list(fps.get("front_proxy_ca")))
    return {"etcd_ca_unique": "false" if others.intersection(etcd) else "true"}


def evaluate(control, observation, waivers=None, benchmark=DEFAULT_BENCHMARK):
    """Evaluate one control against a node observation (the cis_node_facts module output).

    Returns {status: pass|fail|waived|not_applicable|manual, observed, expected, reason, letter, intent}.
    letter/intent are "pass"/"fail"/None (intent only where the table has an intent test); where a control
    has an intent test, the status follows the intent and the letter is reported beside it.
    A failing test of an unscored control the collection does not enforce by default is "manual" (kube-bench's
    WARN); a failing scored control, or one the collection enforces by default (drift), is "fail".
    """
    waivers = check_waivers(waivers)
    ctl = control if "benchmark" in control else get_control(control["id"], benchmark)
    if ctl is None:
        return _result("not_applicable", reason="not part of %s" % benchmark)
    expected = describe_test(ctl["test"])
    if ctl.get("intent"):
        expected += " (intent: %s)" % describe_test(ctl["intent"])
    res = _evaluate_raw(ctl, observation or {}, expected)
    if ctl["id"] in waivers and res["status"] != "not_applicable":
        res["reason"] = "waived: %s%s" % (waivers[ctl["id"]], " (would be %s)" % res["status"])
        res["status"] = "waived"
    return res


def _evaluate_raw(ctl, node, expected):
    reason = _applicable(ctl, node)
    if reason:
        return _result("not_applicable", None, expected, reason)
    ttype = _type_of(ctl)
    if ttype == "kube_proxy" or ctl["action"] == "not_applicable":
        return _result("manual", None, expected, ctl["note"])
    if ttype == "cluster":
        return _evaluate_cluster(ctl, node.get("cluster") or {}, expected)
    if ttype == "file":
        res = _evaluate_files(ctl, node)
    elif ttype == "systemd":
        props = (node.get("systemd") or {}).get(ctl["target"]["unit"]) or {}
        ok, observed = run_test(ctl["test"], {"fields": props})
        res = _result("pass" if ok else "fail", _fmt(observed), expected, "", letter="pass" if ok else "fail")
    else:
        obs, na = _flat_obs(ctl, node)
        if na:
            return _result("not_applicable", None, expected, na)
        if obs.get("error"):
            return _result("fail", None, expected, "cannot read: %s" % obs["error"], letter="fail")
        if ctl["test"] is None:
            shown = dict((("--" + f), (obs["flags"].get(f) if f in obs["flags"] else "(unset)"))
                         for f in ctl["target"].get("flags", []))
            return _result("manual", _fmt(shown) or None, expected, ctl["note"])
        res = _evaluate_test(ctl, obs, expected)
    if res["status"] == "fail" and not ctl["scored"] and ctl["action"] != "enforce":
        res["status"] = "manual"
        res["reason"] = ("kube-bench WARN (Manual control): " + res["reason"]).rstrip(": ")
    return res


def _evaluate_cluster(ctl, obs, expected):
    """A section-5 control on the cluster observation {findings: [...], gathered: [checks]} (cluster_policies).
    Findings that count fail an enforced control where the role manages the object (drift, 'enforced'), and are
    kube-bench's WARN (manual) otherwise; findings that do not count (built-in, exempt) are only listed."""
    check = ctl["target"].get("check")
    if not check:
        return _result("manual", None, expected, ctl["note"])
    if check not in (obs.get("gathered") or []):
        return _result("manual", None, expected, "not gathered: the cluster_policies role did not check %s "
                       "(area disabled or not run)" % check)
    mine = [f for f in obs.get("findings") or [] if f.get("check") == check]
    counting = [f for f in mine if f.get("counts", True)]
    listed = len(mine) - len(counting)
    extra = " (%d built-in or exempt listed, not counted)" % listed if listed else ""
    if not counting:
        return _result("pass", "no finding%s" % extra, expected, "", letter="pass")
    shown = ["%s: %s" % (f.get("object"), f.get("detail")) for f in counting[:5]]
    if len(counting) > 5:
        shown.append("... %d more" % (len(counting) - 5))
    observed = "%d finding(s)%s: %s" % (len(counting), extra, "; ".join(shown))
    if any(f.get("enforced") for f in counting):
        return _result("fail", observed, expected, "drift: the cluster_policies role manages these objects",
                       letter="fail")
    return _result("manual", observed, expected, "kube-bench WARN (Manual control): review the findings",
                   letter="fail")


def evaluate_cluster(findings, gathered, waivers=None, benchmark=DEFAULT_BENCHMARK):
    """The report's cluster row: every control of the benchmark on the cluster observation (section 5 evaluated,
    sections 1-4 not applicable)."""
    node = {"node_roles": ["cluster"], "cluster": {"findings": findings or [], "gathered": gathered or []}}
    rows = evaluate_node(node, waivers, benchmark)
    return rows


def _evaluate_test(ctl, obs, expected):
    """The kube-bench test (letter) and, where the table has one, the intent test, on a flat observation."""
    ok, observed = run_test(ctl["test"], obs)
    letter = "pass" if ok else "fail"
    intent = None
    if ctl.get("intent"):
        iok, iobserved = run_test(ctl["intent"], obs)
        intent = "pass" if iok else "fail"
        for key, value in iobserved.items():
            observed.setdefault(key, value)
        ok = iok      # where the table has an intent, it decides; the letter is reported beside it
    if (obs.get("fields") or {}).get("error"):
        observed["error"] = obs["fields"]["error"]
    reasons = []
    if letter == "fail" and intent is None:
        reasons.append("the kube-bench test fails")
    elif letter == "fail":
        reasons.append("kube-bench letter fails" + (" (kube-bench reports it failed)" if intent == "pass" else ""))
    if intent == "fail":
        reasons.append("intent fails")
    return _result("pass" if ok else "fail", _fmt(observed), expected, "; ".join(reasons), letter=letter, intent=intent)


def _fmt(observed):
    if not observed:
        return ""
    return ", ".join("%s=%s" % kv for kv in observed.items())


def evaluate_node(observation, waivers=None, benchmark=DEFAULT_BENCHMARK):
    """Evaluate every control of a benchmark on one node: [{id, title, section, scored, ...result}]."""
    waivers = check_waivers(waivers)
    out = []
    for ctl in controls(benchmark):
        res = evaluate(ctl, observation, waivers, benchmark)
        row = {"id": ctl["id"], "title": ctl["title"], "section": ctl["section"], "scored": ctl["scored"],
               "automated": ctl["automated"], "enforced_by": ctl["enforced_by"]}
        row.update(res)
        out.append(row)
    return out


# ---------------------------------------------------------------------------
# Observation helpers (pure parsing used by the cis_node_facts module)
# ---------------------------------------------------------------------------

def file_targets(paths=None, benchmark=DEFAULT_BENCHMARK):
    """What the node module must stat: {control id: {"paths": [...], "dirs": [{dir, pattern, recurse, include_dir}]}}."""
    out = {}
    for ctl in controls(benchmark):
        target = ctl["target"]
        if target["type"] != "file":
            continue
        spec = {"paths": [], "dirs": []}
        for tmpl in target.get("paths", []):
            spec["paths"].extend(resolve_paths(tmpl, paths))
        if "dir" in target:
            dirs = resolve_paths(target["dir"], paths)
            for extra in target.get("extra_dirs", []):
                dirs.extend(resolve_paths(extra, paths))
            for d in dirs:
                spec["dirs"].append({"dir": d, "pattern": target["pattern"], "recurse": target["recurse"],
                                     "include_dir": target["include_dir"]})
        out[ctl["id"]] = spec
    return out


_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)


def pem_fingerprints(text):
    """SHA-256 fingerprints (lower-case hex of the DER, as _pki.fingerprint) of every certificate in a PEM text.
    hashlib and base64 only: runs on nodes without the cryptography package."""
    out = []
    for body in _PEM_CERT.findall(text or ""):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (ValueError, binascii.Error):
            continue
        out.append(hashlib.sha256(der).hexdigest())
    return out


def host_path(container_path, volumes):
    """The node path of a path seen inside a static pod, through its hostPath volumes (longest mountPath wins);
    the path itself when no volume covers it (kubeadm mounts host paths at the same place)."""
    if not container_path:
        return container_path
    best = None
    for vol in volumes or []:
        mount, host = vol.get("mountPath"), vol.get("hostPath")
        if not mount or not host:
            continue
        mount = mount.rstrip("/") or "/"
        if container_path == mount or container_path.startswith(mount.rstrip("/") + "/"):
            if best is None or len(mount) > len(best[0]):
                best = (mount, host)
    if best is None:
        return container_path
    rest = container_path[len(best[0]):].lstrip("/")
    return best[1].rstrip("/") + ("/" + rest if rest else "") if best[1] != "/" else "/" + rest


def systemd_property(texts, name):
    """The value of a list-type unit property (IPAddressDeny=, ...) across a unit and its drop-ins in order;
    an empty assignment resets it, like systemd. None when never set."""
    values = None
    for text in texts:
        for raw in (text or "").splitlines():
            key, sep, value = raw.strip().partition("=")
            if not sep or key.strip() != name:
                continue
            value = value.strip()
            values = [] if not value else (values or []) + value.split()
    return None if values is None else " ".join(values)


def encryption_providers(text):
    """Providers of an EncryptionConfiguration.

    letter_provider: what kube-bench 1.2.28 reads (the line after the last 'providers:', letters only);
    secrets_provider: the first provider of the resources entry covering secrets (None if no entry).
    """
    import yaml  # pylint: disable=import-outside-toplevel
    letter = None
    lines = (text or "").splitlines()
    for idx, line in enumerate(lines):
        if "providers:" in line and idx + 1 < len(lines):
            words = re.findall(r"[A-Za-z]+", lines[idx + 1])
            letter = words[0] if words else None
    secrets = None
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        return {"letter_provider": letter, "secrets_provider": None, "error": "invalid YAML: %s" % exc}
    for res in (doc.get("resources") or []) if isinstance(doc, dict) else []:
        names = res.get("resources") or []
        if any(n in ("secrets", "secrets.", "*.", "*.*") for n in names):
            providers = res.get("providers") or []
            if providers and isinstance(providers[0], dict) and providers[0]:
                secrets = list(providers[0].keys())[0]
            break
    return {"letter_provider": letter, "secrets_provider": secrets}


__all__ = [
    "BENCHMARKS", "DEFAULT_BENCHMARK", "STATUSES", "TARGET_TYPES", "COMPONENTS", "DEFAULT_PATHS",
    "APISERVER_CIS_SUITES", "KUBELET_CIS_SUITES", "STRONG_SUITES",
    "ENCRYPTION_CIS_PROVIDERS", "ENCRYPTION_STRONG_PROVIDERS", "CONTROLS", "VARIABLES", "CISError",
    "check_benchmark", "get_control", "controls", "check_waivers", "compare", "describe_test", "describe_item",
    "lookup", "run_item", "run_test", "resolve_paths", "remedies", "static_pod_contribution", "violations",
    "evaluate", "evaluate_node", "evaluate_cluster", "etcd_ca_fields", "file_targets", "encryption_providers",
    "pem_fingerprints", "host_path", "systemd_property",
]
