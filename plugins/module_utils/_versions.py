# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection. Not a public API: it may
# change at any time without notice. Do not import it from outside the
# collection.
#
# THE version table: every fact about what a Kubernetes minor (1.28 to 1.36)
# or an etcd version accepts, rejects or changes that the collection relies
# on, one row each with its upstream source. Every role, module and the report
# asks this module (flags, config fields, config API versions, admission
# plugins, feature gates, kubeadm, etcd, the CIS benchmark); nothing else in
# the collection compares version numbers. docs/versions.md is generated from
# ROWS (docs/gen_versions.py). No Ansible import.

"""The one version table (Kubernetes 1.28 to 1.36, the etcd versions kubeadm ships) and its lookups."""

from __future__ import annotations

import copy
import re

MIN_MINOR = 28
MAX_MINOR = 36
MINORS = tuple(range(MIN_MINOR, MAX_MINOR + 1))
# Versions whose real binaries run in this repository's tests (.cache/k8s, the lab).
PROVEN_VERSIONS = ("1.28.7", "1.33.3")
ALLOW_UNTESTED_VARIABLE = "k8s_hardening_allow_untested_version"

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubeadm")

# row kinds
FLAG = "flag"                  # a command-line flag of a component: since / removed (minor, etcd: version tuple)
ADMISSION = "admission_plugin"  # a kube-apiserver admission plugin name
GATE = "feature_gate"          # a feature gate: its default per minor (values)
FIELD = "config_field"         # a field of a configuration file (KubeletConfiguration, ...)
CONFIG_API = "config_api"      # an apiVersion of a configuration file kind
FEATURE = "feature"            # a behaviour the collection decides on: since / removed
VALUE = "value"                # a value that depends on the minor (values)
CONFLICT = "conflict"          # settings a component refuses together

# effect when the row's item is written where the version does not take it
FATAL = "fatal"                # the component does not start
IGNORED = "ignored"            # accepted and ignored (lenient decoding, no effect)

_K = "https://github.com/kubernetes/kubernetes"
_KB = "https://github.com/aquasecurity/kube-bench/blob/main/cfg/config.yaml"
_ETCD35 = "https://github.com/etcd-io/etcd/blob/main/CHANGELOG/CHANGELOG-3.5.md"
_ETCD36 = "https://github.com/etcd-io/etcd/blob/main/CHANGELOG/CHANGELOG-3.6.md"
_KUBEADM_ETCD = _K + "/blob/master/cmd/kubeadm/app/constants/constants.go"
_APISERVER_HELP = "kube-apiserver --help of the real v1.28.7 and v1.33.3 binaries (test_versions_binaries.py)"
_GATES = "https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/"
_KUBELET_HELP = "kubelet --help of the real v1.28.7 and v1.33.3 binaries (test_versions_binaries.py)"


class VersionError(ValueError):
    """A version that cannot be parsed, or that the table does not cover."""


def _row(kind, component, name, since=None, removed=None, values=None, effect=FATAL, note="", fix="",
         source="", verified="", etcd=False, deprecated=None, members=None):
    return {"kind": kind, "component": component, "name": name, "since": since, "removed": removed,
            "deprecated": deprecated, "values": values, "effect": effect, "note": note, "fix": fix,
            "source": source, "verified": verified, "etcd": etcd, "members": members}


ROWS = [
    # ------------------------------------------------------------------ kube-apiserver flags
    _row(FLAG, "kube-apiserver", "cloud-provider", deprecated=29, removed=33,
         note="In-tree cloud providers are gone; the apiserver exits with \"unknown flag\".",
         fix="remove it (control_plane_apiserver_absent_flags: [cloud-provider]) and use an external "
             "cloud-controller-manager",
         source=_K + "/pull/130162", verified=_APISERVER_HELP),
    _row(FLAG, "kube-apiserver", "cloud-config", deprecated=29, removed=33,
         note="Removed with --cloud-provider.",
         fix="remove it (control_plane_apiserver_absent_flags: [cloud-config])",
         source=_K + "/pull/130162", verified=_APISERVER_HELP),
    _row(FLAG, "kube-apiserver", "authentication-config", since=30,
         note="Structured AuthenticationConfiguration: alpha 1.29 (gated), beta on by default 1.30, GA 1.34.",
         fix="use control_plane_anonymous_auth: keep or disable on this version",
         source="https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
                "#using-authentication-configuration", verified=_APISERVER_HELP),
    _row(FLAG, "kube-apiserver", "authorization-config", since=30,
         note="Structured AuthorizationConfiguration: alpha 1.29, beta on by default 1.30, GA 1.32.",
         fix="keep --authorization-mode on this version",
         source=_K + "/pull/123654", verified=_APISERVER_HELP),
    _row(FLAG, "kube-apiserver", "encryption-provider-config-automatic-reload", since=26,
         note="Reload of the EncryptionConfiguration without a restart.",
         source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.26.md", verified=_APISERVER_HELP),
    _row(FLAG, "kube-apiserver", "insecure-port", removed=24, note="Insecure serving was removed in 1.24.",
         fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.24.md"),
    _row(FLAG, "kube-apiserver", "insecure-bind-address", removed=24, note="Removed with the insecure port.",
         fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.24.md"),
    _row(FLAG, "kube-apiserver", "kubelet-https", removed=22, fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.22.md"),
    _row(FLAG, "kube-apiserver", "basic-auth-file", removed=19, fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.19.md"),
    _row(FLAG, "kube-controller-manager", "port", removed=24, fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.24.md"),
    _row(FLAG, "kube-controller-manager", "address", removed=24, fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.24.md"),
    _row(FLAG, "kube-scheduler", "port", removed=24, fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.24.md"),
    _row(FLAG, "kube-scheduler", "address", removed=24, fix="remove it", source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.24.md"),
    # ------------------------------------------------------------------ admission plugins
    _row(ADMISSION, "kube-apiserver", "SecurityContextDeny", removed=30,
         note="Removed; an unknown plugin name stops the apiserver. Pod Security admission replaces it.",
         fix="remove SecurityContextDeny from control_plane_admission_plugins (Pod Security admission: "
             "control_plane_pod_security_defaults)",
         source=_K + "/pull/122612", verified=_APISERVER_HELP),
    _row(ADMISSION, "kube-apiserver", "PodTopologyLabels", since=33,
         note="New admission plugin (on by default).", fix="leave it out on this version",
         source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.33.md", verified=_APISERVER_HELP),
    _row(ADMISSION, "kube-apiserver", "MutatingAdmissionPolicy", since=32,
         note="Listed from 1.32 (alpha feature, gated).", fix="leave it out on this version",
         verified=_APISERVER_HELP, source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.32.md"),
    _row(ADMISSION, "kube-apiserver", "PersistentVolumeLabel", removed=31,
         note="Removed with the in-tree cloud providers (in v1.28.7, not in v1.33.3).",
         fix="remove PersistentVolumeLabel from control_plane_admission_plugins",
         source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.31.md", verified=_APISERVER_HELP),
    # ------------------------------------------------------------------ feature gates (defaults)
    _row(GATE, "kube-apiserver", "KMSv1", values=[(MIN_MINOR, True), (29, False)],
         note="Deprecated 1.28, off by default from 1.29: a kms provider with apiVersion v1 stops the apiserver "
              "unless --feature-gates=KMSv1=true. aescbc, aesgcm, secretbox and KMS v2 are unaffected.",
         fix="use kms apiVersion: v2 (encryption_kms.apiVersion: v2), or set encryption_kms_v1_feature_gate: "
             "true (adds --feature-gates=KMSv1=true)",
         source=_K + "/blob/release-1.33/staging/src/k8s.io/apiserver/pkg/features/kube_features.go"),
    _row(GATE, "kube-apiserver", "StructuredAuthenticationConfiguration",
         values=[(MIN_MINOR, None), (29, False), (30, True)],
         note="alpha 1.29, beta 1.30, GA 1.34.", source=_GATES, verified=_APISERVER_HELP),
    _row(GATE, "kube-apiserver", "AnonymousAuthConfigurableEndpoints",
         values=[(MIN_MINOR, None), (31, False), (32, True)],
         note="alpha 1.31, beta (on) 1.32, GA 1.34.", source=_GATES, verified=_APISERVER_HELP),
    _row(GATE, "kube-apiserver", "StructuredAuthorizationConfiguration",
         values=[(MIN_MINOR, None), (29, False), (30, True)],
         note="alpha 1.29, beta 1.30, GA 1.32.", source=_K + "/pull/123654"),
    # ------------------------------------------------------------------ configuration API versions
    _row(CONFIG_API, "kube-apiserver", "AuthenticationConfiguration apiserver.config.k8s.io/v1alpha1",
         since=29, note="Alpha, behind StructuredAuthenticationConfiguration.",
         source="https://kubernetes.io/docs/reference/config-api/apiserver-config.v1alpha1/"),
    _row(CONFIG_API, "kube-apiserver", "AuthenticationConfiguration apiserver.config.k8s.io/v1beta1",
         since=30, source="https://kubernetes.io/docs/reference/config-api/apiserver-config.v1beta1/"),
    _row(CONFIG_API, "kube-apiserver", "AuthenticationConfiguration apiserver.config.k8s.io/v1",
         since=34, fix="write apiserver.config.k8s.io/v1beta1 before 1.34",
         source="https://kubernetes.io/docs/reference/config-api/apiserver-config.v1/"),
    _row(CONFIG_API, "kubeadm", "ClusterConfiguration kubeadm.k8s.io/v1beta3", removed=36,
         note="Deprecated 1.31; kubeadm 1.36 cannot read it.",
         fix="convert the kubeadm configuration to v1beta4 (kubeadm config migrate) before kubeadm 1.36",
         source=_K + "/pull/136016"),
    _row(CONFIG_API, "kubeadm", "ClusterConfiguration kubeadm.k8s.io/v1beta4", since=31,
         note="extraArgs is a list of {name, value}; extraEnvs.", source=_K + "/pull/125029"),
    # ------------------------------------------------------------------ values
    _row(VALUE, "kube-apiserver", "authentication_config_api_version",
         values=[(MIN_MINOR, None), (29, "apiserver.config.k8s.io/v1alpha1"),
                 (30, "apiserver.config.k8s.io/v1beta1"), (34, "apiserver.config.k8s.io/v1")],
         note="The apiVersion the collection writes for the health-only AuthenticationConfiguration.",
         source="https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
                "#using-authentication-configuration"),
    _row(VALUE, "kubeadm", "kubeadm_config_api_version",
         values=[(MIN_MINOR, "kubeadm.k8s.io/v1beta3"), (31, "kubeadm.k8s.io/v1beta4")],
         note="The form kubeadm stores kube-system/kubeadm-config in (and the collection writes from nothing).",
         source=_K + "/pull/125029"),
    _row(VALUE, "etcd", "etcd_version",
         values=[(MIN_MINOR, "3.5.10"), (29, "3.5.10"), (30, "3.5.12"), (31, "3.5.15"), (32, "3.5.16"),
                 (33, "3.5.21"), (34, "3.6.4"), (35, "3.6.6"), (36, "3.6.6")],
         note="The etcd kubeadm deploys (DefaultEtcdVersion / SupportedEtcdVersion). Patch releases move within "
              "3.5.x (etcd bumps are backported: 1.30 to 1.33 went from 3.5.17 to 3.5.21), so only the 3.5/3.6 "
              "boundary at 1.34 decides anything; the etcd a node runs is read from its manifest. Read from the "
              "reference manifests: 1.28.7 3.5.10-0, 1.33.3 3.5.21-0; 1.29 to 1.32 are the first releases' "
              "versions and 1.36 is assumed as 1.35 (unconfirmed); upgrading to 3.6 needs 3.5.20+ first.",
         source=_KUBEADM_ETCD, verified="kubeadm v1.28.7 and v1.33.3 reference manifests"),
    _row(VALUE, "report", "cis_benchmark",
         values=[(MIN_MINOR, "cis-1.10"), (29, "cis-1.11"), (32, "cis-1.12")],
         note="kube-bench's version_mapping; 1.35 and 1.36 map down to cis-1.12 (no newer benchmark).",
         source=_KB),
    _row(VALUE, "kubelet", "fail_cgroup_v1_default", values=[(MIN_MINOR, None), (31, False), (35, True)],
         note="failCgroupV1: field since 1.31 (default false); default true from 1.35, and kubeadm 1.35's "
              "preflight errors on cgroup v1: the kubelet refuses to start on a cgroup v1 host.",
         fix="move the node to cgroup v2 before 1.35, or set kubelet_config_overrides: {failCgroupV1: false}",
         source=_K + "/pull/134298"),
    # ------------------------------------------------------------------ features the collection decides on
    _row(FEATURE, "kube-apiserver", "anonymous_in_authentication_config", since=32,
         note="anonymous with path conditions in the AuthenticationConfiguration, on by default (beta) from 1.32, "
              "GA 1.34; alpha 1.31 behind AnonymousAuthConfigurableEndpoints. health-only anonymous access "
              "falls back to control_plane_anonymous_auth_fallback before 1.32.",
         source="https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
                "#anonymous-authenticator-configuration", verified=_APISERVER_HELP),
    _row(FEATURE, "kubeadm", "super_admin_conf", since=29,
         note="kubeadm writes /etc/kubernetes/super-admin.conf (system:masters); admin.conf is in "
              "kubeadm:cluster-admins. On 1.28 admin.conf itself is system:masters.",
         source=_K + "/pull/121305"),
    _row(FEATURE, "kubelet", "streaming_connection_idle_timeout_effective", removed=34, effect=IGNORED,
         note="streamingConnectionIdleTimeout no longer has any effect from 1.34; the collection keeps writing it "
              "for the benchmark's letter (CIS 4.2.5) and the report says so.",
         source=_K + "/pull/131992"),
    _row(FEATURE, "kubelet", "config_dir_default_on", since=30,
         note="The kubelet drop-in directory --config-dir: alpha 1.28 (KubeletConfigDropInDir), beta on by default "
              "1.30, GA 1.35.",
         source="https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/#kubelet-conf-d",
         verified=_KUBELET_HELP),
    _row(FEATURE, "kubeadm", "kubeadm_strips_pod_infra_container_image", since=35,
         note="kubeadm 1.35 stops writing --pod-infra-container-image and strips it from kubeadm-flags.env on "
              "upgrade, not from an administrator's KUBELET_EXTRA_ARGS.", source=_K + "/pull/133778"),
    # ------------------------------------------------------------------ kubelet flags and fields
    _row(FLAG, "kubelet", "pod-infra-container-image", removed=35,
         note="Deprecated before 1.28 (v1.33.3 --help: \"will be removed in 1.35\"). Removed; the kubelet exits with "
              "\"unknown flag\". The sandbox image comes from the CRI.",
         fix="delete it from KUBELET_EXTRA_ARGS, or add pod-infra-container-image to kubelet_remove_flags",
         source=_K + "/pull/133779", verified=_KUBELET_HELP),
    _row(FLAG, "kubelet", "cloud-config", removed=34,
         note="Deprecated before 1.28 (--help: \"will be removed in 1.25 or later\"). Removed; the kubelet exits "
              "with \"unknown flag\".",
         fix="delete it from the kubelet's flags, or add cloud-config to kubelet_remove_flags",
         source=_K + "/pull/130161", verified=_KUBELET_HELP),
    _row(FLAG, "kubelet", "config-dir", since=28,
         note="Drop-in configuration directory (alpha 1.28 behind KubeletConfigDropInDir, beta 1.30, GA 1.35).",
         source="https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/#kubelet-conf-d",
         verified=_KUBELET_HELP),
    _row(FIELD, "kubelet", "failCgroupV1", since=31, effect=IGNORED,
         note="Unknown before 1.31: the kubelet logs a strict decoding error and ignores it (tried with the real "
              "v1.28.7 kubelet).", fix="leave failCgroupV1 out of kubelet_config_overrides before 1.31",
         source=_K + "/blob/master/CHANGELOG/CHANGELOG-1.31.md", verified="real kubelet v1.28.7 (lenient decoding)"),
    # ------------------------------------------------------------------ conflicts
    _row(CONFLICT, "kube-apiserver", "authorization-config+authorization-mode", since=30,
         members=["authorization-mode", "authorization-config"],
         note="Mutually exclusive; kubeadm 1.30+ drops its default --authorization-mode when --authorization-config "
              "is in extraArgs.",
         fix="put authorization-mode in control_plane_apiserver_absent_flags when setting --authorization-config",
         source=_K + "/pull/123654", verified=_APISERVER_HELP),
    _row(CONFLICT, "kube-apiserver", "anonymous-auth+anonymous", since=31,
         members=["anonymous-auth", "authentication-config:anonymous"],
         note="--anonymous-auth and an anonymous block in the --authentication-config file are mutually exclusive.",
         fix="leave --anonymous-auth out (control_plane_anonymous_auth: health-only removes it)",
         source="https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
                "#anonymous-authenticator-configuration", verified=_APISERVER_HELP),
    # ------------------------------------------------------------------ etcd (versioned apart: etcd versions)
    _row(FLAG, "etcd", "tls-min-version", since=(3, 5, 8), etcd=True,
         note="Values TLS1.2 and TLS1.3; TLS1.3 cannot be combined with --cipher-suites.",
         fix="the etcd role leaves it out below 3.5.8", source=_ETCD35),
    _row(FLAG, "etcd", "tls-max-version", since=(3, 5, 8), etcd=True, source=_ETCD35),
    _row(FLAG, "etcd", "experimental-*", removed=(3, 6, 0), etcd=True, deprecated=(3, 6, 0),
         note="Deprecated in 3.6 (replaced by --feature-gates and unprefixed flags, e.g. "
              "--feature-gates=InitialCorruptCheck=true, --watch-progress-notify-interval), removed in 3.7: "
              "the collection never adds or carries one into a 3.6+ manifest.",
         fix="use the 3.6 name (--feature-gates=InitialCorruptCheck=true, --watch-progress-notify-interval)",
         source=_ETCD36),
    _row(FLAG, "etcd", "enable-v2", removed=(3, 6, 0), etcd=True, fix="remove it", source=_ETCD36),
    _row(FLAG, "etcd", "experimental-enable-v2v3", removed=(3, 6, 0), etcd=True, fix="remove it", source=_ETCD36),
]

# Admission plugins every kube-apiserver from 1.28 to 1.36 registers (kube-apiserver --help of v1.28.7 and
# v1.33.3; the ADMISSION rows above hold the ones that come or go).
ADMISSION_PLUGINS = (
    "AlwaysAdmit", "AlwaysDeny", "AlwaysPullImages", "CertificateApproval", "CertificateSigning",
    "CertificateSubjectRestriction", "ClusterTrustBundleAttest", "DefaultIngressClass", "DefaultStorageClass",
    "DefaultTolerationSeconds", "DenyServiceExternalIPs", "EventRateLimit", "ExtendedResourceToleration",
    "ImagePolicyWebhook", "LimitPodHardAntiAffinityTopology", "LimitRanger", "MutatingAdmissionWebhook",
    "NamespaceAutoProvision", "NamespaceExists", "NamespaceLifecycle", "NodeRestriction",
    "OwnerReferencesPermissionEnforcement", "PersistentVolumeClaimResize", "PodNodeSelector", "PodSecurity",
    "PodTolerationRestriction", "Priority", "ResourceQuota", "RuntimeClass", "ServiceAccount",
    "StorageObjectInUseProtection", "TaintNodesByCondition", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
)

_ETCD_REPLACEMENTS = {
    "experimental-initial-corrupt-check": ("feature-gates", "InitialCorruptCheck=true"),
    "experimental-watch-progress-notify-interval": ("watch-progress-notify-interval", None),
    "experimental-compact-hash-check-enabled": ("feature-gates", "CompactHashCheck=true"),
}


# --------------------------------------------------------------------------- versions
_K8S = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


def parse_version(version):
    """``1.28.7``, ``v1.30``, ``1.31.2-eks-1`` -> (1, minor, patch); VersionError otherwise."""
    text = str(version if version is not None else "").strip()
    match = _K8S.match(text)
    if not match or int(match.group(1)) != 1:
        raise VersionError("%r is not a Kubernetes version like 1.33.3" % (version,))
    return 1, int(match.group(2)), int(match.group(3) or 0)


def minor_of(version):
    """The minor of a version string, or the int itself; None for None/empty."""
    if version is None or (isinstance(version, str) and not version.strip()):
        return None
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, str) and version.strip().isdigit():
        return int(version.strip())
    return parse_version(version)[1]


def supported(version):
    """True when the table covers the version (1.28 to 1.36)."""
    try:
        minor = minor_of(version)
    except VersionError:
        return False
    return minor is not None and MIN_MINOR <= minor <= MAX_MINOR


def check_supported(version, allow_untested=False, varname="kubernetes_version", host=None):
    """Refuse a version the table does not cover. Returns warnings (opt-in used); raises VersionError."""
    where = "%s: " % host if host else ""
    if version is None or str(version).strip() == "":
        raise VersionError("%sthe Kubernetes version is unknown (%s); the collection decides every flag and field "
                           "by version and will not guess" % (where, varname))
    minor = minor_of(version)
    if MIN_MINOR <= minor <= MAX_MINOR:
        return []
    message = ("%sKubernetes %s is outside the versions the collection's table covers (1.%d to 1.%d)"
               % (where, version, MIN_MINOR, MAX_MINOR))
    if allow_untested:
        return [message + "; proceeding because %s is true: flags and fields are checked against the nearest "
                "version in the table" % ALLOW_UNTESTED_VARIABLE]
    raise VersionError(message + "; upgrade or downgrade the cluster into that range, or set %s: true to proceed "
                       "at your own risk" % ALLOW_UNTESTED_VARIABLE)


def _clamp(minor):
    return min(max(minor, MIN_MINOR), MAX_MINOR)


def parse_etcd_version(text):
    """(major, minor, patch) from ``3.5.21``, an image ``registry.k8s.io/etcd:3.5.21-0`` or
    ``etcd --version`` output; None when it holds no version."""
    if not text:
        return None
    text = str(text).strip()
    match = re.search(r"Version:\s*v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        tag = text.split("@", 1)[0].rsplit("/", 1)[-1]
        tag = tag.rsplit(":", 1)[-1] if ":" in tag else tag
        match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", tag)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def etcd_version_str(version):
    return ".".join(str(v) for v in version) if version else "unknown"


# --------------------------------------------------------------------------- lookups
def rows(kind=None, component=None):
    """Copies of the table's rows, optionally of one kind / component."""
    return [copy.deepcopy(r) for r in ROWS
            if (kind is None or r["kind"] == kind) and (component is None or r["component"] == component)]


def _in_range(row, point):
    since, removed = row["since"], row["removed"]
    return (since is None or point >= since) and (removed is None or point < removed)


def _find(kind, component, name):
    for row in ROWS:
        if row["kind"] == kind and row["component"] == component:
            if row["name"] == name or (row["name"].endswith("*") and name.startswith(row["name"][:-1])):
                return row
    return None


def _step(values, minor):
    result = None
    for first, val in values:
        if minor >= first:
            result = val
    return result


def value(name, version):
    """The value of a VALUE or GATE row at a version (``value("cis_benchmark", "1.28.7") == "cis-1.10"``).
    Versions outside the table take the nearest covered minor."""
    for row in ROWS:
        if row["kind"] in (VALUE, GATE) and row["name"] == name:
            return _step(row["values"], _clamp(minor_of(version)))
    raise KeyError("no value row %r in the version table" % (name,))


def feature(name, version):
    """True when the FEATURE (or CONFIG_API, by its full name) row applies at the version."""
    for row in ROWS:
        if row["kind"] in (FEATURE, CONFIG_API) and row["name"] == name:
            return _in_range(row, _clamp(minor_of(version)))
    raise KeyError("no feature row %r in the version table" % (name,))


def gate_default(gate, version):
    """Default of a feature gate (True/False; None when the gate does not exist at that version)."""
    return value(gate, version)


def _flag_row(component, flag):
    return _find(FLAG, component, str(flag).lstrip("-"))


def flag_problem(component, flag, version):
    """None when ``component`` at ``version`` takes ``--flag``; else a sentence naming the flag, the version and
    the fix. ``version``: Kubernetes for every component but etcd (an etcd version there)."""
    row = _flag_row(component, flag)
    if row is None or ((version is None or version == "") and not row["etcd"]):
        return None
    name = str(flag).lstrip("-")
    if row["etcd"]:
        point = parse_etcd_version(version) if not isinstance(version, tuple) else version
        if point is None:
            return None if row["since"] is None else (
                "--%s of etcd needs etcd %s or later; the etcd version is unknown"
                % (name, etcd_version_str(row["since"])))
        label = "etcd %s" % etcd_version_str(point)
        since_txt = etcd_version_str(row["since"]) if row["since"] else None
        removed_txt = etcd_version_str(row["removed"]) if row["removed"] else None
    else:
        point = _clamp(minor_of(version))
        label = "1.%d" % minor_of(version)
        since_txt = "1.%d" % row["since"] if row["since"] is not None else None
        removed_txt = "1.%d" % row["removed"] if row["removed"] is not None else None
    if row["since"] is not None and point < row["since"]:
        return "--%s of %s needs %s or later; this node runs %s%s" % (
            name, component, ("etcd " if row["etcd"] else "Kubernetes ") + since_txt, label, _fix(row, name))
    if row["removed"] is not None and point >= row["removed"]:
        verb = "must not be written from" if row["etcd"] and row["name"].endswith("*") else "was removed in"
        return "--%s of %s %s %s; this node runs %s%s" % (
            name, component, verb, ("etcd " if row["etcd"] else "Kubernetes ") + removed_txt, label, _fix(row, name))
    return None


def _fix(row, name):
    if row["etcd"] and name in _ETCD_REPLACEMENTS:
        new, val = _ETCD_REPLACEMENTS[name]
        return "; use --%s%s instead" % (new, "=" + val if val else "")
    return "; %s" % row["fix"] if row["fix"] else ""


def flag_allowed(component, flag, version):
    """True when the component at that version takes the flag (flags the table does not list: True)."""
    return flag_problem(component, flag, version) is None


def etcd_replacement(flag):
    """(new flag, value or None) for a deprecated etcd --experimental-* flag, or None."""
    return _ETCD_REPLACEMENTS.get(str(flag).lstrip("-"))


def admission_plugins(version):
    """The admission plugin names kube-apiserver registers at ``version``, sorted."""
    minor = _clamp(minor_of(version))
    return sorted(set(ADMISSION_PLUGINS) | set(r["name"] for r in ROWS if r["kind"] == ADMISSION
                                               and _in_range(r, minor)))


def admission_plugin_problem(plugin, version):
    """None when kube-apiserver at ``version`` knows the plugin; else a sentence with the version and the fix.
    A name no covered version knows is refused at every version."""
    row = _find(ADMISSION, "kube-apiserver", plugin)
    if row is None and plugin not in ADMISSION_PLUGINS:
        return ("admission plugin %s is not one kube-apiserver 1.%d to 1.%d registers (known: %s)"
                % (plugin, MIN_MINOR, MAX_MINOR, ", ".join(admission_plugins(MAX_MINOR))))
    if row is None or version is None:
        return None
    minor = _clamp(minor_of(version))
    if not _in_range(row, minor):
        when = ("was removed in Kubernetes 1.%d" % row["removed"] if row["removed"] is not None
                and minor >= row["removed"] else "needs Kubernetes 1.%d or later" % row["since"])
        return "admission plugin %s %s; this node runs 1.%d%s" % (plugin, when, minor_of(version), _fix(row, plugin))
    return None


def admission_plugin_allowed(plugin, version):
    return admission_plugin_problem(plugin, version) is None


def field_problem(component, field, version):
    """(effect, sentence) when a configuration field is unknown at the version, else None."""
    row = _find(FIELD, component, field)
    if row is None or version is None:
        return None
    minor = _clamp(minor_of(version))
    if _in_range(row, minor):
        return None
    return row["effect"], ("%s field %s needs Kubernetes 1.%d or later; this node runs 1.%d (%s)%s"
                           % (component, field, row["since"], minor_of(version),
                              "ignored by the component" if row["effect"] == IGNORED else "the component exits",
                              _fix(row, field)))


def config_api_problem(kind, api_version, version):
    """A sentence when the version cannot read ``kind`` in ``api_version`` (rows the table lists), else None."""
    row = None
    for candidate in ROWS:
        if candidate["kind"] == CONFIG_API and candidate["name"] == "%s %s" % (kind, api_version):
            row = candidate
    if row is None or version is None:
        return None
    minor = _clamp(minor_of(version))
    if _in_range(row, minor):
        return None
    when = ("was removed in Kubernetes 1.%d" % row["removed"] if row["removed"] is not None
            and minor >= row["removed"] else "needs Kubernetes 1.%d or later" % row["since"])
    return "%s %s %s; this node runs 1.%d%s" % (kind, api_version, when, minor_of(version), _fix(row, kind))


def conflicts(component, version):
    """The CONFLICT rows that apply to the component at the version."""
    minor = _clamp(minor_of(version)) if version is not None else MAX_MINOR
    return [copy.deepcopy(r) for r in ROWS if r["kind"] == CONFLICT and r["component"] == component
            and _in_range(r, minor)]


def removed_flags(component, version):
    """Names of the component's flags the version no longer takes (table rows only, no patterns)."""
    minor = _clamp(minor_of(version))
    return sorted(r["name"] for r in ROWS if r["kind"] == FLAG and r["component"] == component and not r["etcd"]
                  and r["removed"] is not None and minor >= r["removed"])


def row_id(row):
    return "%s/%s/%s" % (row["kind"], row["component"], row["name"])


# --------------------------------------------------------------------------- docs/versions.md
_KIND_TITLES = (
    (FLAG, "Flags"), (ADMISSION, "Admission plugins"), (GATE, "Feature gates (default per version)"),
    (FIELD, "Configuration fields"), (CONFIG_API, "Configuration API versions"),
    (VALUE, "Values that depend on the version"), (FEATURE, "Behaviour the collection decides by version"),
    (CONFLICT, "Settings a component refuses together"),
)


def _cell(row, minor):
    """The cell of one row at one minor for the version grid."""
    if row["kind"] in (VALUE, GATE):
        val = _step(row["values"], minor)
        if val is None:
            return "-"
        if isinstance(val, bool):
            return "on" if val else "off"
        return str(val).replace("apiserver.config.k8s.io/", "").replace("kubeadm.k8s.io/", "")
    if row["etcd"]:
        etcd = parse_etcd_version(value("etcd_version", minor))
        return "yes" if _in_range(row, etcd) else "**no**"
    return "yes" if _in_range(row, minor) else "**no**"


def _when(row):
    prefix = "etcd " if row["etcd"] else ""
    fmt = etcd_version_str if row["etcd"] else (lambda m: "1.%d" % m)
    parts = []
    if row["since"] is not None:
        parts.append("from %s%s" % (prefix, fmt(row["since"])))
    if row["deprecated"] is not None:
        parts.append("deprecated %s%s" % (prefix, fmt(row["deprecated"])))
    if row["removed"] is not None:
        verb = "not written from" if row["etcd"] and row["name"].endswith("*") else "removed"
        parts.append("%s %s%s" % (verb, prefix, fmt(row["removed"])))
    return ", ".join(parts) or "-"


def _md(text):
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def render_markdown():
    """docs/versions.md, generated from ROWS (docs/gen_versions.py writes it; a unit test checks it)."""
    head = " | ".join("1.%d" % m for m in MINORS)
    out = [
        "# Kubernetes versions",
        "",
        "<!-- Generated by docs/gen_versions.py from plugins/module_utils/_versions.py. Do not edit by hand. -->",
        "",
        "The collection decides every flag, configuration field, configuration API version, admission plugin and",
        "feature gate it writes, and the CIS benchmark the report applies, from one table:",
        "`plugins/module_utils/_versions.py`. It covers Kubernetes 1.%d to 1.%d and the etcd versions kubeadm ships"
        % (MIN_MINOR, MAX_MINOR),
        "with them. Versions proven with real binaries in this repository: %s." % ", ".join(PROVEN_VERSIONS),
        "",
        "- **Outside the table** a run stops before any node is touched, naming the version;",
        "  `%s: true` proceeds with the nearest version of the table deciding." % ALLOW_UNTESTED_VARIABLE,
        "- **Preflight**: the validate play of `playbooks/harden.yml` checks everything the run would write against",
        "  each node's version (filter `k8s_version_preflight`) and fails naming the variable, the version and the fix.",
        "- **Before an upgrade**: `ansible-playbook playbooks/audit.yml -e k8s_hardening_target_version=1.35.0` adds a",
        "  section to the report with what the current hardening would break at that version (filter",
        "  `k8s_version_upgrade`): removed flags in the manifests and in kubeadm-config, removed kubelet flags in",
        "  kubeadm-flags.env and KUBELET_EXTRA_ARGS, cgroup v1 at 1.35+, kms v1, configuration API versions.",
        "- **The report** applies the benchmark of the control plane's version (row `cis_benchmark`) unless",
        "  `report_benchmark` names one.",
        "- etcd rows are decided by the etcd version (the grid shows the etcd kubeadm deploys at each minor).",
        "",
        "Cells: **no** = the version refuses it (effect: *%s* = the component does not start, *%s* = accepted and"
        % (FATAL, IGNORED),
        "ignored); for values and gates, the value at that version (`-` = none). \"checked\" names what in this",
        "repository tries the row against the real v1.28.7 and v1.33.3 binaries.",
        "",
    ]
    for kind, title in _KIND_TITLES:
        selected = [r for r in ROWS if r["kind"] == kind]
        out += ["## %s" % title, "", "| component | item | %s | when | effect | note | fix | source |" % head,
                "|---|---|%s---|---|---|---|---|" % ("---|" * len(MINORS))]
        for row in selected:
            if kind == FLAG:
                name = "`--%s`" % row["name"]
            elif kind == CONFLICT:
                name = " + ".join("`%s`" % m for m in row["members"])
            else:
                name = "`%s`" % row["name"]
            source = "[source](%s)" % row["source"]
            if row["verified"]:
                source += "; checked: " + row["verified"]
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                row["component"], name, " | ".join(_cell(row, m) for m in MINORS),
                _md(_when(row)) if kind not in (VALUE, GATE) else "-",
                row["effect"] if kind in (FLAG, ADMISSION, FIELD, CONFIG_API, CONFLICT) else "-",
                _md(row["note"]) or "-", _md(row["fix"]) or "-", _md(source)))
        out.append("")
    out += ["## Admission plugins every covered version registers", "",
            ", ".join("`%s`" % p for p in ADMISSION_PLUGINS), ""]
    return "\n".join(out)


__all__ = [
    "MIN_MINOR", "MAX_MINOR", "MINORS", "PROVEN_VERSIONS", "ALLOW_UNTESTED_VARIABLE", "COMPONENTS", "ROWS",
    "FLAG", "ADMISSION", "GATE", "FIELD", "CONFIG_API", "FEATURE", "VALUE", "CONFLICT", "FATAL", "IGNORED",
    "VersionError", "parse_version", "minor_of", "supported", "check_supported", "parse_etcd_version",
    "etcd_version_str", "rows", "value", "feature", "gate_default", "flag_problem", "flag_allowed",
    "etcd_replacement", "ADMISSION_PLUGINS", "admission_plugins", "admission_plugin_problem", "admission_plugin_allowed", "field_problem",
    "config_api_problem", "conflicts", "removed_flags", "row_id", "render_markdown",
]
