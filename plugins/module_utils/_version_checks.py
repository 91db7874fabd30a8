# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection. Not a public API: it may
# change at any time without notice. Do not import it from outside the
# collection.
#
# What a Kubernetes version would refuse, decided from the version table
# (_versions.py), for two callers:
#   preflight()         what a harden run would write, against the node's version,
#                       before any node is touched (the validate play of harden.yml);
#   upgrade_findings()  what a node holds today (manifests, kubeadm-config, kubelet
#                       flags and config, cgroup version, EncryptionConfiguration),
#                       against a target version (audit.yml, k8s_hardening_target_version).
# No Ansible import.

"""Preflight and upgrade checks over the version table."""

from __future__ import annotations

import base64

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._encryption import (
    KMS_V1_GATE_VARIABLE, kms_v1_problem)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._k8s_flags import authn_config_problems
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubeadm_config import (
    COMPONENT_SECTIONS, KubeadmConfigError, find_document, get_extra_args)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubelet import (
    KubeletConfigError, parse_env_file, split_args)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError, get_flags)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import load as load_manifest

# Flags kubeadm writes into every kube-apiserver manifest that matter for the conflict rows.
KUBEADM_APISERVER_FLAGS = ("authorization-mode",)
BREAKS = "breaks"      # the component would not start (or the upgrade stops)
CHANGES = "changes"    # kubeadm or the component changes it; worth knowing
NOTE = "note"          # no action needed; context for the report
SEVERITIES = (BREAKS, CHANGES, NOTE)
KUBEADM_FLAGS_ENV = "kubeadm-flags.env"


class VersionCheckError(ValueError):
    """A plan or node state that cannot be checked (bad shape)."""


def _gates(value):
    """--feature-gates as a dict: "A=true,B=false" or a dict."""
    if isinstance(value, dict):
        return dict((str(k), str(v).lower() == "true") for k, v in value.items())
    out = {}
    for item in str(value or "").split(","):
        name, sep, val = item.strip().partition("=")
        if name and sep:
            out[name] = val.strip().lower() == "true"
    return out


def _plugins(value):
    if isinstance(value, (list, tuple)):
        return [str(p).strip() for p in value if str(p).strip()]
    return [p.strip() for p in str(value or "").split(",") if p.strip()]


def _flag_name(name):
    return str(name).lstrip("-")


# --------------------------------------------------------------------------- preflight
def preflight(plan, version, allow_untested=False, host=None):
    """Check what a run would write against the node's ``version``.

    plan (every key optional):
      static_pods:  [{component, flags: {flag: value}, absent_flags: [..], variable}]
      authentication_config: {doc, variable}
      encryption:   {providers: [{type, config}], kms_v1_gate: bool, variable}
      kubelet_config: {settings: {...}, variable}
      kubelet_flags: [{file, variable, flags: {flag: value}, owner: kubeadm|admin}] (flags on the node)
      kubelet_remove_flags: [..] (what the kubelet role removes from every env file)
      etcd:         {version: "3.6.4" or image, flags: {...}, variable}

    Returns {"errors": [...], "warnings": [...]}: sentences naming the variable, the version and the fix.
    Raises VersionCheckError on a plan it cannot read, _versions.VersionError on an unsupported version
    (unless allow_untested)."""
    if not isinstance(plan, dict):
        raise VersionCheckError("the preflight plan must be a dict, got %s" % type(plan).__name__)
    prefix = "%s: " % host if host else ""
    warnings = list(_versions.check_supported(version, allow_untested, host=host))
    minor = _versions.minor_of(version)
    errors = []

    def err(variable, text):
        errors.append("%s%s: %s" % (prefix, variable, text))

    authn = plan.get("authentication_config") or {}
    authn_doc = authn.get("doc") if isinstance(authn, dict) else None
    for change in plan.get("static_pods") or []:
        component = change.get("component")
        variable = change.get("variable") or "the %s flags" % component
        flags = dict((_flag_name(k), v) for k, v in (change.get("flags") or {}).items())
        absent = set(_flag_name(f) for f in change.get("absent_flags") or [])
        for name in sorted(flags):
            problem = _versions.flag_problem(component, name, version)
            if problem:
                err(variable, problem)
        if component == "kube-apiserver":
            for plugin in _plugins(flags.get("enable-admission-plugins")):
                problem = _versions.admission_plugin_problem(plugin, version)
                if problem:
                    err(variable, problem)
            result = set(KUBEADM_APISERVER_FLAGS) | set(flags)
            result -= (absent - set(flags))
            if "authentication-config" in result and isinstance(authn_doc, dict) and "anonymous" in authn_doc:
                result.add("authentication-config:anonymous")
            for row in _versions.conflicts(component, version):
                if all(m in result for m in row["members"]):
                    shown = " and ".join(("--%s" % m) if ":" not in m else "an anonymous block in the "
                                         "AuthenticationConfiguration" for m in row["members"])
                    err(variable, "%s cannot both be set on Kubernetes 1.%d; %s" % (shown, minor, row["fix"]))
            gates = _gates(flags.get("feature-gates"))
            for gate, enabled in sorted(gates.items()):
                if enabled and _known_gate(gate) and _versions.gate_default(gate, version) is None:
                    err(variable, "feature gate %s does not exist in Kubernetes 1.%d" % (gate, minor))
    if authn_doc:
        for problem in authn_config_problems(authn_doc, version, "the AuthenticationConfiguration"):
            err(authn.get("variable") or "control_plane_anonymous_auth", problem)
    enc = plan.get("encryption") or {}
    for entry in enc.get("providers") or []:
        if entry.get("type") == "kms":
            problem = kms_v1_problem(entry.get("config"), minor, True if enc.get("kms_v1_gate") else None,
                                     "kms provider %s" % ((entry.get("config") or {}).get("name") or ""))
            if problem:
                err(enc.get("variable") or "encryption_kms", problem)
    kcfg = plan.get("kubelet_config") or {}
    for field in sorted((kcfg.get("settings") or {})):
        found = _versions.field_problem("kubelet", field, version)
        if found:
            effect, text = found
            if effect == _versions.FATAL:
                err(kcfg.get("variable") or "kubelet_config_overrides", text)
            else:
                warnings.append("%s%s: %s" % (prefix, kcfg.get("variable") or "kubelet_config_overrides", text))
    if (kcfg.get("settings") or {}).get("streamingConnectionIdleTimeout") is not None and \
            not _versions.feature("streaming_connection_idle_timeout_effective", version):
        warnings.append("%skubelet: streamingConnectionIdleTimeout has no effect from Kubernetes 1.34 (this node runs "
                        "1.%d); it is still written for CIS 4.2.5's letter" % (prefix, minor))
    removing = set(_flag_name(f) for f in plan.get("kubelet_remove_flags") or [])
    for source in plan.get("kubelet_flags") or []:
        if "flag" in source:   # an entry of kubelet_flags' reported list: one flag of an administrator's file
            source = {"file": source.get("file"), "variable": source.get("variable") or "KUBELET_EXTRA_ARGS",
                      "flags": {source["flag"]: source.get("value")}, "owner": source.get("owner") or "admin"}
        for name in sorted(source.get("flags") or {}):
            problem = _versions.flag_problem("kubelet", name, version)
            if not problem:
                continue
            where = "%s in %s" % (source.get("variable") or "kubelet flags", source.get("file") or "the kubelet unit")
            if name in removing:
                warnings.append("%s%s sets --%s, removed in this Kubernetes; kubelet_remove_flags removes it"
                                % (prefix, where, name))
            elif source.get("owner") == "kubeadm":
                warnings.append("%s%s: %s (the kubelet role leaves it out of %s)"
                                % (prefix, where, problem, KUBEADM_FLAGS_ENV))
            else:
                err(where, problem)
    etcd = plan.get("etcd") or {}
    if etcd.get("version"):
        for name in sorted(etcd.get("flags") or {}):
            problem = _versions.flag_problem("etcd", _flag_name(name), etcd["version"])
            if not problem:
                continue
            if _versions.etcd_replacement(name):
                warnings.append("%s%s: %s (the etcd role writes the new name and removes the old one)"
                                % (prefix, etcd.get("variable") or "etcd flags", problem))
            else:
                err(etcd.get("variable") or "etcd flags", problem)
    return {"errors": errors, "warnings": warnings}


def _known_gate(gate):
    return any(r["name"] == gate for r in _versions.rows(_versions.GATE))


def kubeadm_owned_removals(kubelet_flags, version):
    """Flags of kubeadm-flags.env the version removed: the kubelet role leaves them out (never carries them)."""
    return [n for n in kubelet_flags if _versions.flag_problem("kubelet", n, version)]


# --------------------------------------------------------------------------- node state parsing
def manifest_flags(text):
    """{flag: value} of a static pod manifest (_manifest's parser); {} when it cannot be read."""
    try:
        return get_flags(load_manifest(text or ""))
    except ManifestError:
        return {}


def env_flags(text, variable):
    """{flag: value} of ``variable`` in an EnvironmentFile text (_kubelet's parser; the last assignment wins);
    {} when it cannot be read."""
    try:
        values = [value for name, _raw, value in parse_env_file(text or "") if name == variable]
        return dict(split_args(values[-1])) if values else {}
    except KubeletConfigError:
        return {}


def _extra_args(section, api_version):
    try:
        return dict(get_extra_args(section or {}, api_version))
    except KubeadmConfigError:
        return {}


_SECTIONS = COMPONENT_SECTIONS


def _b64(text):
    try:
        return base64.b64decode(text).decode("utf-8", "replace")
    except (TypeError, ValueError):
        return None


def state_from_files(results, kubeadm_config=None, etcd_version=None):
    """The node state upgrade_findings() takes, from read_files results whose items carry ``role``:
    manifest (with component), kubeadm_flags_env, extra_env (with variable), kubelet_config,
    encryption_config, authentication_config, kubeadm_config (kubeadm_persist's file; the API's
    ClusterConfiguration, given as ``kubeadm_config``, wins), cgroup (/sys/fs/cgroup/cgroup.controllers)."""
    state = {"manifests": {}, "kubelet_env": [], "kubeadm_config": kubeadm_config, "etcd_version": etcd_version}
    cgroup_seen = False
    for entry in results or []:
        item = entry.get("item") if isinstance(entry.get("item"), dict) else {}
        role = item.get("role")
        text = _b64(entry.get("content")) if entry.get("content") is not None else None
        if role == "cgroup":
            cgroup_seen = True
            state["cgroup_version"] = 2 if text is not None else 1
            continue
        if text is None:
            continue
        if role == "manifest":
            state["manifests"][item.get("component")] = text
        elif role in ("kubeadm_flags_env", "extra_env"):
            state["kubelet_env"].append({
                "file": item.get("path"), "text": text, "owner": "kubeadm" if role == "kubeadm_flags_env" else "admin",
                "variable": item.get("variable") or ("KUBELET_KUBEADM_ARGS" if role == "kubeadm_flags_env"
                                                     else "KUBELET_EXTRA_ARGS")})
        elif role == "kubeadm_config" and not state.get("kubeadm_config"):
            try:
                state["kubeadm_config"] = find_document(text, "ClusterConfiguration", "ClusterConfiguration")
            except KubeadmConfigError:
                state["kubeadm_config"] = None
        elif role in ("kubelet_config", "encryption_config", "authentication_config"):
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError:
                doc = None
            state[role] = doc if isinstance(doc, dict) else None
    if not cgroup_seen:
        state["cgroup_version"] = None
    return state


def version_notes(version):
    """What the table says about a node's version, for the report (no action needed)."""
    notes = []
    if version in (None, ""):
        return ["the Kubernetes version is unknown: the benchmark was not chosen from it"]
    if not _versions.supported(version):
        notes.append("Kubernetes %s is outside the version table (1.%d to 1.%d)" % (
            version, _versions.MIN_MINOR, _versions.MAX_MINOR))
    if not _versions.feature("streaming_connection_idle_timeout_effective", version):
        notes.append("streamingConnectionIdleTimeout has no effect from Kubernetes 1.34; it is written for CIS "
                     "4.2.5's letter only")
    if not _versions.feature("anonymous_in_authentication_config", version):
        notes.append("health-only anonymous access needs Kubernetes 1.32; control_plane_anonymous_auth_fallback "
                     "applies on this version")
    if not _versions.feature("super_admin_conf", version):
        notes.append("no super-admin.conf before Kubernetes 1.29: admin.conf itself is in system:masters")
    if _versions.value("fail_cgroup_v1_default", version):
        notes.append("the kubelet refuses cgroup v1 from Kubernetes 1.35 (failCgroupV1 defaults to true)")
    return notes


# --------------------------------------------------------------------------- upgrade
def upgrade_findings(state, current_version, target_version):
    """What the node's current state would break (or see change) at ``target_version``.

    state (every key optional):
      manifests:      {component: manifest text or {flag: value}}
      kubeadm_config: the ClusterConfiguration document (dict) kubeadm upgrade reads
      kubelet_env:    [{file, variable, text, owner: kubeadm|admin}]
      kubelet_config: the KubeletConfiguration document (dict)
      cgroup_version: 1 or 2 (None: unknown)
      encryption_config: the EncryptionConfiguration document (dict)
      authentication_config: the AuthenticationConfiguration document (dict)
      etcd_version:   the running etcd's version or image

    Returns a list of findings {severity, item, where, message, fix, source}, sorted by severity."""
    if not isinstance(state, dict):
        raise VersionCheckError("the node state must be a dict, got %s" % type(state).__name__)
    if "files" in state:
        state = dict(state_from_files(state["files"], state.get("kubeadm_config"), state.get("etcd_version")),
                     **dict((k, v) for k, v in state.items() if k not in ("files", "kubeadm_config", "etcd_version")))
    target = _versions.parse_version(target_version)
    tminor = target[1]
    cminor = _versions.minor_of(current_version) if current_version else None
    label = "Kubernetes 1.%d" % tminor
    out = []

    def add(severity, item, where, message, fix="", source=""):
        out.append({"severity": severity, "item": item, "where": where, "message": message, "fix": fix,
                    "source": source})

    if not _versions.supported(tminor):
        add(BREAKS, "version", "k8s_hardening_target_version",
            "%s is outside the version table (1.%d to 1.%d): nothing can be predicted" % (
                target_version, _versions.MIN_MINOR, _versions.MAX_MINOR),
            "choose a target between 1.%d and 1.%d" % (_versions.MIN_MINOR, _versions.MAX_MINOR))
        return out
    if cminor is not None and tminor - cminor > 1:
        add(BREAKS, "version", "k8s_hardening_target_version",
            "kubeadm upgrades one minor at a time: 1.%d to 1.%d skips %s" % (
                cminor, tminor, ", ".join("1.%d" % m for m in range(cminor + 1, tminor))),
            "upgrade through every minor in between; run this audit for each")
    if cminor is not None and tminor < cminor:
        add(BREAKS, "version", "k8s_hardening_target_version",
            "1.%d is older than the node's 1.%d: kubeadm does not downgrade" % (tminor, cminor), "")

    manifests = state.get("manifests") or {}
    gates = {}
    for component in sorted(manifests):
        raw = manifests[component]
        flags = raw if isinstance(raw, dict) else manifest_flags(raw)
        if component == "kube-apiserver":
            gates = _gates(flags.get("feature-gates"))
        if component == "etcd":
            continue
        for name in sorted(flags):
            row_problem = _versions.flag_problem(component, name, tminor)
            if row_problem:
                add(BREAKS, "--" + name, "%s manifest" % component, row_problem, _fix_of(component, name),
                    _source_of(_versions.FLAG, component, name))
        if component == "kube-apiserver":
            for plugin in _plugins(flags.get("enable-admission-plugins")):
                problem = _versions.admission_plugin_problem(plugin, tminor)
                if problem:
                    add(BREAKS, plugin, "kube-apiserver manifest --enable-admission-plugins", problem, "",
                        _source_of(_versions.ADMISSION, component, plugin))

    target_etcd = _versions.value("etcd_version", tminor)
    etcd_flags = manifests.get("etcd")
    etcd_flags = etcd_flags if isinstance(etcd_flags, dict) else manifest_flags(etcd_flags)
    for name in sorted(etcd_flags or {}):
        problem = _versions.flag_problem("etcd", name, target_etcd)
        if problem:
            add(CHANGES, "--" + name, "etcd manifest",
                "kubeadm %d.%d deploys etcd %s: %s" % (1, tminor, target_etcd, problem),
                "kubeadm upgrade writes the new names; the etcd role replaces them on its next run",
                _source_of(_versions.FLAG, "etcd", name))
    running = _versions.parse_etcd_version(state.get("etcd_version"))
    if running and _versions.parse_etcd_version(target_etcd) >= (3, 6, 0) and running < (3, 5, 20):
        add(BREAKS, "etcd", "etcd %s" % _versions.etcd_version_str(running),
            "etcd %s cannot be upgraded to %s directly: 3.6 needs 3.5.20 or later first"
            % (_versions.etcd_version_str(running), target_etcd),
            "upgrade to a Kubernetes patch release whose kubeadm ships etcd 3.5.20+ before 1.34",
            _versions.rows(_versions.VALUE, "etcd")[0]["source"])

    kcfg = state.get("kubeadm_config")
    if isinstance(kcfg, dict) and kcfg:
        api = kcfg.get("apiVersion")
        problem = _versions.config_api_problem("ClusterConfiguration", api, tminor)
        if problem:
            add(BREAKS, api, "kube-system/kubeadm-config", problem, "", _source_of(
                _versions.CONFIG_API, "kubeadm", "ClusterConfiguration %s" % api))
        for component, keys in sorted(_SECTIONS.items()):
            section = kcfg
            for key in keys:
                section = (section or {}).get(key) if isinstance(section, dict) else None
            args = _extra_args(section, api)
            for name in sorted(args):
                if component == "etcd":
                    problem = _versions.flag_problem("etcd", name, target_etcd)
                    severity = CHANGES
                else:
                    problem = _versions.flag_problem(component, name, tminor)
                    severity = BREAKS
                if problem:
                    add(severity, "--" + name, "kube-system/kubeadm-config %s.extraArgs" % ".".join(keys), problem,
                        "remove it from the kubeadm-config ConfigMap before `kubeadm upgrade apply`: kubeadm "
                        "writes extraArgs into the new manifest", _source_of(_versions.FLAG, component, name))

    for source in state.get("kubelet_env") or []:
        flags = source.get("flags")
        if flags is None:
            flags = env_flags(source.get("text"), source.get("variable") or "KUBELET_EXTRA_ARGS")
        for name in sorted(flags):
            problem = _versions.flag_problem("kubelet", name, tminor)
            if not problem:
                continue
            where = "%s in %s" % (source.get("variable"), source.get("file"))
            if source.get("owner") == "kubeadm" and name == "pod-infra-container-image" and \
                    _versions.feature("kubeadm_strips_pod_infra_container_image", tminor):
                add(CHANGES, "--" + name, where, "kubeadm 1.%d strips it from %s on upgrade (%s)"
                    % (tminor, KUBEADM_FLAGS_ENV, problem), "", _source_of(_versions.FLAG, "kubelet", name))
            else:
                add(BREAKS, "--" + name, where, problem,
                    "add %s to kubelet_remove_flags and run harden.yml before the upgrade" % name,
                    _source_of(_versions.FLAG, "kubelet", name))

    kubelet_cfg = state.get("kubelet_config") or {}
    if state.get("cgroup_version") == 1 and _versions.value("fail_cgroup_v1_default", tminor):
        if kubelet_cfg.get("failCgroupV1") is not False:
            row = _versions.rows(_versions.VALUE, "kubelet")
            add(BREAKS, "cgroup v1", "the node", "the node runs cgroup v1 and the kubelet refuses it from "
                "Kubernetes 1.35 (failCgroupV1 defaults to true; kubeadm's preflight errors)",
                "move the node to cgroup v2 (systemd.unified_cgroup_hierarchy=1), or set kubelet_config_overrides: "
                "{failCgroupV1: false}", [r for r in row if r["name"] == "fail_cgroup_v1_default"][0]["source"])
    for field in sorted(kubelet_cfg):
        found = _versions.field_problem("kubelet", field, tminor)
        if found:
            add(NOTE, field, "KubeletConfiguration", found[1])
    if "streamingConnectionIdleTimeout" in kubelet_cfg and \
            not _versions.feature("streaming_connection_idle_timeout_effective", tminor) and \
            (cminor is None or _versions.feature("streaming_connection_idle_timeout_effective", cminor)):
        add(NOTE, "streamingConnectionIdleTimeout", "KubeletConfiguration",
            "has no effect from Kubernetes 1.34; the collection keeps writing it for CIS 4.2.5's letter", "",
            _source_of(_versions.FEATURE, "kubelet", "streaming_connection_idle_timeout_effective"))

    enc = state.get("encryption_config")
    if isinstance(enc, dict):
        gate = gates.get("KMSv1")
        for group in enc.get("resources") or []:
            for provider in (group or {}).get("providers") or []:
                if isinstance(provider, dict) and "kms" in provider:
                    problem = kms_v1_problem(provider["kms"], tminor, gate, "kms provider %s"
                                             % ((provider["kms"] or {}).get("name") or ""))
                    if problem:
                        add(BREAKS, "kms v1", "EncryptionConfiguration", problem,
                            "move to kms apiVersion: v2, or set %s: true" % KMS_V1_GATE_VARIABLE,
                            _source_of(_versions.GATE, "kube-apiserver", "KMSv1"))
    authn = state.get("authentication_config")
    if isinstance(authn, dict) and authn:
        for problem in authn_config_problems(authn, tminor, "the AuthenticationConfiguration"):
            add(BREAKS, "AuthenticationConfiguration", "--authentication-config", problem,
                "run harden.yml after the upgrade: it writes the apiVersion of the new version")
    if cminor is not None and cminor < tminor:
        before, after = _versions.value("cis_benchmark", cminor), _versions.value("cis_benchmark", tminor)
        if before != after:
            add(NOTE, "CIS benchmark", "report", "the report moves from %s to %s (kube-bench's mapping)"
                % (before, after), "", _source_of(_versions.VALUE, "report", "cis_benchmark"))
        if not _versions.feature("super_admin_conf", cminor) and _versions.feature("super_admin_conf", tminor):
            add(NOTE, "super-admin.conf", "/etc/kubernetes", "kubeadm 1.29 writes super-admin.conf (system:masters); "
                "admin.conf moves to kubeadm:cluster-admins; the report checks both files", "",
                _source_of(_versions.FEATURE, "kubeadm", "super_admin_conf"))
    out.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["where"], f["item"]))
    return out


def _row_of(kind, component, name):
    for row in _versions.ROWS:
        if row["kind"] == kind and row["component"] == component and (
                row["name"] == name or (row["name"].endswith("*") and name.startswith(row["name"][:-1]))):
            return row
    return None


def _source_of(kind, component, name):
    row = _row_of(kind, component, name)
    return row["source"] if row else ""


def _fix_of(component, name):
    row = _row_of(_versions.FLAG, component, name)
    return row["fix"] if row else ""


def summary(findings):
    """Counts per severity."""
    return dict((s, len([f for f in findings if f["severity"] == s])) for s in SEVERITIES)


__all__ = [
    "BREAKS", "CHANGES", "NOTE", "SEVERITIES", "KUBEADM_APISERVER_FLAGS", "VersionCheckError", "preflight",
    "kubeadm_owned_removals", "manifest_flags", "env_flags", "state_from_files", "version_notes",
    "upgrade_findings", "summary",
]
