# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection. Not a public API: it may
# change at any time without notice. Do not import it from outside the
# collection.
#
# Pure logic for kubeadm static pod manifests: parse, read flags and volumes,
# apply a desired state as data, and describe every change. No Ansible import.

"""Parse and edit kubeadm static pod manifests as data."""

from __future__ import annotations

import copy
import hashlib
import re

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml


class ManifestError(Exception):
    """A manifest that cannot be parsed, or an edit that cannot be applied."""


# Comma-separated flags whose items are merged (existing items kept, new ones
# appended) when a contribution gives a list, unless the caller asks to
# replace lists. Any other flag given a list is replaced by the joined list.
MERGE_LIST_FLAGS = (
    "enable-admission-plugins",
    "disable-admission-plugins",
)
# key=value,key=value flags merged by key when a contribution gives a dict.
MERGE_MAP_FLAGS = (
    "feature-gates",
    "runtime-config",
)

CHECKSUM_ANNOTATION = "k8s-hardening.io/config-checksum"
# One annotation per file the pod reads (checksum_annotation_key): a rollout that carries only
# some contributions (an encryption stage, say) updates only its own files' annotations.
CHECKSUM_ANNOTATION_PREFIX = "checksum.k8s-hardening.io/"


# --------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------

def load(text):
    """Parse a manifest; ManifestError unless it is a v1 Pod with exactly one
    container that has a command."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError("not valid YAML: %s" % exc)
    if not isinstance(doc, dict):
        raise ManifestError("not a YAML mapping")
    if doc.get("apiVersion") != "v1" or doc.get("kind") != "Pod":
        raise ManifestError(
            "not a v1 Pod (apiVersion=%r, kind=%r)" % (doc.get("apiVersion"), doc.get("kind")))
    spec = doc.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or len(containers) != 1:
        raise ManifestError(
            "expected exactly one container, found %s"
            % (len(containers) if isinstance(containers, list) else "none"))
    command = containers[0].get("command") if isinstance(containers[0], dict) else None
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise ManifestError("the container has no command list of strings")
    return doc


def dump(doc):
    """Serialise like kubeadm does (insertion order kept, block style)."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def sha256_hex(data):
    """sha256 hex of bytes or text (text is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _container(doc):
    return doc["spec"]["containers"][0]


def component_binary(doc):
    """command[0] of the only container, e.g. ``kube-apiserver``."""
    return _container(doc)["command"][0]


def parse_flag(arg):
    """``--name=value`` -> (name, value); ``--name`` -> (name, None);
    anything else -> (None, None)."""
    if not arg.startswith("-") or arg in ("-", "--"):
        return None, None
    body = arg.lstrip("-")
    if "=" in body:
        name, value = body.split("=", 1)
        return name, value
    return body, None


def flags_from_command(command):
    """Ordered dict of the flags in a command list (command[0] skipped when it
    is the binary); ManifestError on a flag given twice."""
    result = {}
    for arg in command:
        name, value = parse_flag(arg)
        if name is None:
            continue
        if name in result:
            raise ManifestError("flag --%s is given twice" % name)
        result[name] = value
    return result


def get_flags(doc):
    """Ordered {flag_name_without_dashes: value or None} of the container."""
    return flags_from_command(_container(doc)["command"][1:])


def format_flag(name, value):
    return "--%s" % name if value is None else "--%s=%s" % (name, value)


def volumes(doc):
    """[{name, hostPath, type, mountPath, readOnly}] joined by name (volumes
    first, in their order; mounts without a volume are listed at the end)."""
    spec = doc.get("spec") or {}
    mounts = {m.get("name"): m for m in (_container(doc).get("volumeMounts") or [])}
    result = []
    seen = set()
    for vol in spec.get("volumes") or []:
        name = vol.get("name")
        host = vol.get("hostPath") or {}
        mount = mounts.get(name) or {}
        result.append({
            "name": name,
            "hostPath": host.get("path"),
            "type": host.get("type"),
            "mountPath": mount.get("mountPath"),
            "readOnly": bool(mount.get("readOnly", False)),
        })
        seen.add(name)
    for name, mount in mounts.items():
        if name not in seen:
            result.append({"name": name, "hostPath": None, "type": None,
                           "mountPath": mount.get("mountPath"),
                           "readOnly": bool(mount.get("readOnly", False))})
    return result


# --------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------

def flag_value_str(value):
    """A desired flag value as the string written in the manifest."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(flag_value_str(v) for v in value)
    if isinstance(value, dict):
        return ",".join("%s=%s" % (k, flag_value_str(v)) for k, v in value.items())
    return str(value)


def split_list(value):
    if value is None or value == "":
        return []
    return [item.strip() for item in value.split(",") if item.strip() != ""]


def split_map(value):
    result = {}
    for item in split_list(value):
        key, sep, val = item.partition("=")
        result[key.strip()] = val.strip() if sep else None
    return result


def desired_value(name, value, current, replace_lists=False):
    """The string a flag should have, given its current string value.

    A list for a merge-list flag keeps current items and appends new ones; a
    dict for a merge-map flag updates keys in place; ``replace_lists`` (bool,
    or a list of flag names) turns both into a plain replacement."""
    replace = replace_lists is True or (
        isinstance(replace_lists, (list, tuple)) and name in replace_lists)
    if isinstance(value, (list, tuple)) and name in MERGE_LIST_FLAGS and not replace:
        items = split_list(current)
        for item in value:
            item = flag_value_str(item)
            if item not in items:
                items.append(item)
        return ",".join(items)
    if isinstance(value, dict) and name in MERGE_MAP_FLAGS and not replace:
        items = split_map(current)
        for key, val in value.items():
            items[str(key)] = flag_value_str(val)
        return ",".join(k if v is None else "%s=%s" % (k, v) for k, v in items.items())
    return flag_value_str(value)


# --------------------------------------------------------------------------
# editing
# --------------------------------------------------------------------------

def _insert_sorted(command, arg, name):
    """Insert a new flag before the first flag whose name sorts after it
    (kubeadm writes flags sorted), else at the end."""
    for index in range(1, len(command)):
        other, dummy = parse_flag(command[index])
        if other is not None and other > name:
            command.insert(index, arg)
            return
    command.append(arg)


def _describe(value):
    return "(no value)" if value is None else value


def apply_flags(doc, flags=None, absent_flags=None, list_remove=None, replace_lists=False):
    """Edit the command of ``doc`` in place; return the list of changes.

    Order of operations: set ``flags``, then ``list_remove``, then
    ``absent_flags``. A flag both set and absent is a ManifestError."""
    flags = flags or {}
    absent_flags = list(absent_flags or [])
    list_remove = list_remove or {}
    both = sorted(set(flags) & set(absent_flags))
    if both:
        raise ManifestError("flag(s) %s both set and listed as absent"
                            % ", ".join("--" + n for n in both))
    command = _container(doc)["command"]
    current = flags_from_command(command[1:])
    changes = []

    def index_of(name):
        for index in range(1, len(command)):
            if parse_flag(command[index])[0] == name:
                return index
        return None

    def put(name, new):
        old_exists = name in current
        old = current.get(name)
        if old_exists and old == new:
            return
        arg = format_flag(name, new)
        if old_exists:
            command[index_of(name)] = arg
            changes.append("--%s: %s -> %s" % (name, _describe(old), _describe(new)))
        else:
            _insert_sorted(command, arg, name)
            changes.append("set %s (was unset)" % arg)
        current[name] = new

    for name, value in flags.items():
        name = str(name).lstrip("-")
        put(name, desired_value(name, value, current.get(name), replace_lists))

    for name, items in list_remove.items():
        name = str(name).lstrip("-")
        if name not in current:
            continue
        if isinstance(items, str):
            items = [items]
        drop = set(flag_value_str(i) for i in items)
        if name in MERGE_MAP_FLAGS:
            kept = {k: v for k, v in split_map(current[name]).items() if k not in drop}
            new = ",".join(k if v is None else "%s=%s" % (k, v) for k, v in kept.items())
        else:
            new = ",".join(i for i in split_list(current[name]) if i not in drop)
        if new == (current[name] or ""):
            continue
        if new == "":
            absent_flags.append(name)
        else:
            put(name, new)

    for name in absent_flags:
        name = str(name).lstrip("-")
        if name in current:
            del command[index_of(name)]
            changes.append("removed %s" % format_flag(name, current.pop(name)))
    return changes


def _vol_spec(vol):
    missing = [k for k in ("name", "hostPath", "mountPath") if not vol.get(k)]
    if missing:
        raise ManifestError("volume %r lacks %s" % (vol.get("name"), ", ".join(missing)))
    return {
        "name": str(vol["name"]),
        "hostPath": str(vol["hostPath"]),
        "type": vol.get("type") or None,
        "mountPath": str(vol["mountPath"]),
        "readOnly": bool(vol.get("readOnly", False)),
    }


def apply_volumes(doc, wanted):
    """Ensure each wanted volume (+ mount) exists by name; return changes.

    ManifestError (doc untouched) on a name clash: same name with another
    hostPath or mountPath, or the mountPath used by another volume."""
    wanted = [_vol_spec(v) for v in (wanted or [])]
    existing = {v["name"]: v for v in volumes(doc)}
    mount_owner = {v["mountPath"]: v["name"] for v in existing.values() if v["mountPath"]}
    seen = {}
    for vol in wanted:
        prev = seen.get(vol["name"])
        if prev is not None and prev != vol:
            raise ManifestError("volume %s is given twice with different settings" % vol["name"])
        seen[vol["name"]] = vol
        have = existing.get(vol["name"])
        if have is not None:
            for key in ("hostPath", "mountPath"):
                if have[key] is not None and have[key] != vol[key]:
                    raise ManifestError(
                        "volume name clash: %s already has %s %s, wanted %s"
                        % (vol["name"], key, have[key], vol[key]))
        owner = mount_owner.get(vol["mountPath"])
        if owner is not None and owner != vol["name"]:
            raise ManifestError(
                "volume name clash: mountPath %s of volume %s is already used by volume %s"
                % (vol["mountPath"], vol["name"], owner))
    # all checks passed: now edit
    spec = doc["spec"]
    container = _container(doc)
    changes = []
    for vol in seen.values():
        have = existing.get(vol["name"])
        vols = spec.setdefault("volumes", [])
        mounts = container.setdefault("volumeMounts", [])
        vol_entry = next((v for v in vols if v.get("name") == vol["name"]), None)
        mount_entry = next((m for m in mounts if m.get("name") == vol["name"]), None)
        if vol_entry is None:
            host = {"path": vol["hostPath"]}
            if vol["type"]:
                host["type"] = vol["type"]
            vols.append({"hostPath": host, "name": vol["name"]})
        elif (vol_entry.get("hostPath") or {}).get("type") != vol["type"] and vol["type"]:
            changes.append("volume %s: type %s -> %s" % (
                vol["name"], (vol_entry.get("hostPath") or {}).get("type"), vol["type"]))
            vol_entry.setdefault("hostPath", {"path": vol["hostPath"]})["type"] = vol["type"]
        if mount_entry is None:
            mount = {"mountPath": vol["mountPath"], "name": vol["name"]}
            if vol["readOnly"]:
                mount["readOnly"] = True
            mounts.append(mount)
        elif bool(mount_entry.get("readOnly", False)) != vol["readOnly"]:
            changes.append("volume %s: readOnly %s -> %s" % (
                vol["name"], bool(mount_entry.get("readOnly", False)), vol["readOnly"]))
            if vol["readOnly"]:
                mount_entry["readOnly"] = True
            else:
                mount_entry.pop("readOnly", None)
        if have is None:
            changes.append("volume %s added (%s -> %s%s)" % (
                vol["name"], vol["hostPath"], vol["mountPath"], ", read-only" if vol["readOnly"] else ""))
        elif vol_entry is None or mount_entry is None:
            changes.append("volume %s completed (%s -> %s)" % (
                vol["name"], vol["hostPath"], vol["mountPath"]))
    return changes


def apply_annotations(doc, annotations):
    """Set metadata.annotations keys (values as strings); return changes."""
    changes = []
    if not annotations:
        return changes
    meta = doc.setdefault("metadata", {})
    if meta.get("annotations") is None:
        meta["annotations"] = {}
    current = meta["annotations"]
    for key, value in annotations.items():
        value = flag_value_str(value)
        if key not in current:
            changes.append("annotation %s added (%s)" % (key, value))
        elif current[key] != value:
            changes.append("annotation %s: %s -> %s" % (key, current[key], value))
        else:
            continue
        current[key] = value
    return changes


# pod securityContext keys whose values are integers / booleans in the API;
# a template may hand them over as strings ("1001"), which the kubelet refuses.
SECURITY_CONTEXT_INTS = ("runAsUser", "runAsGroup", "fsGroup")
SECURITY_CONTEXT_BOOLS = ("runAsNonRoot",)


def _sc_value(key, value):
    if key in SECURITY_CONTEXT_INTS:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            raise ManifestError("securityContext.%s must be a non-negative integer, got %r" % (key, value))
        return int(value)
    if key in SECURITY_CONTEXT_BOOLS:
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ManifestError("securityContext.%s must be a boolean, got %r" % (key, value))
    if value is None:
        raise ManifestError("securityContext.%s has no value" % key)
    return value


def security_context_items(wanted, _prefix=()):
    """Flatten a wanted pod securityContext into [(path tuple, value)]: nested
    dicts (seccompProfile) become paths, other values are leaves, with
    integer/boolean fields normalised. ManifestError on a bad value."""
    if wanted is None:
        return []
    if not isinstance(wanted, dict):
        raise ManifestError("security_context must be a dict, got %r" % (wanted,))
    items = []
    for key, value in wanted.items():
        path = _prefix + (str(key),)
        if isinstance(value, dict):
            items += security_context_items(value, path)
        else:
            items.append((path, _sc_value(path[-1], value)))
    return items


def _describe_sc(value):
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_security_context(doc, wanted):
    """Merge ``wanted`` into spec.securityContext (keys not mentioned kept);
    return changes like ``securityContext.runAsUser: unset -> 1001``."""
    items = security_context_items(wanted)
    changes = []
    if not items:
        return changes
    spec = doc["spec"]
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    for path, value in items:
        node = spec["securityContext"]
        for depth, key in enumerate(path[:-1]):
            if node.get(key) is None:
                node[key] = {}
            if not isinstance(node[key], dict):
                raise ManifestError("securityContext.%s is not a mapping in the manifest"
                                    % ".".join(path[:depth + 1]))
            node = node[key]
        old = node.get(path[-1])
        if path[-1] in node and old == value and type(old) is type(value):
            continue
        if path[-1] in node and old is not None and type(old) is not type(value):
            changes.append("securityContext.%s: %r -> %r" % (".".join(path), old, value))
        else:
            changes.append("securityContext.%s: %s -> %s" % (".".join(path), _describe_sc(old), _describe_sc(value)))
        node[path[-1]] = value
    return changes


def apply(doc, flags=None, absent_flags=None, list_remove=None, replace_lists=False,
          volumes_wanted=None, annotations=None, security_context=None):
    """Return (new_doc, changes); ``doc`` is not modified. Nothing is applied
    if any part fails (the caller keeps the original)."""
    new = copy.deepcopy(doc)
    changes = []
    changes += apply_flags(new, flags, absent_flags, list_remove, replace_lists)
    changes += apply_volumes(new, volumes_wanted)
    changes += apply_annotations(new, annotations)
    changes += apply_security_context(new, security_context)
    # the only semantic truth: parsed structures differ
    if new == doc:
        return doc, []
    get_flags(new)  # refuse to produce a manifest with a duplicated flag
    return new, changes


def checksum_of_digests(digests):
    """One sha256 over several files given as (path, sha256 hex) pairs, e.g.
    from stat; sorted by path so the order of the input is irrelevant."""
    digest = hashlib.sha256()
    for path, hexdigest in sorted(digests, key=lambda item: item[0]):
        digest.update(path.encode("utf-8") + b"\0" + hexdigest.lower().encode("ascii") + b"\n")
    return digest.hexdigest()


def checksum_annotation_key(path):
    """The annotation key that carries the sha256 of ``path``: a valid annotation name
    (at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends), readable, and
    unique per path (long paths end in a short hash of the whole path)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(path).strip("/")).strip("._-") or "root"
    if len(name) > 63:
        name = "%s-%s" % (name[-50:].lstrip("._-"), hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:12])
    return CHECKSUM_ANNOTATION_PREFIX + name


def checksum_annotations(digests):
    """{annotation key: sha256} for (path, sha256 hex) pairs."""
    return dict((checksum_annotation_key(path), str(hexdigest).lower()) for path, hexdigest in digests)


def checksum_of_contents(contents):
    """Like checksum_of_digests over (path, bytes) pairs."""
    return checksum_of_digests([(path, sha256_hex(data)) for path, data in contents])


def probe_target(doc, component=None):
    """The HTTP probe to judge health by: readinessProbe, else startupProbe,
    else livenessProbe with an httpGet. Returns {scheme, host, port, path,
    client_auth} or None. For kube-apiserver the path is /readyz and
    client_auth is True (present a client certificate)."""
    container = _container(doc)
    for key in ("readinessProbe", "startupProbe", "livenessProbe"):
        http = (container.get(key) or {}).get("httpGet")
        if not http:
            continue
        port = http.get("port")
        if isinstance(port, str) and not port.isdigit():
            named = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == port]
            if not named:
                continue
            port = named[0]
        apiserver = (component or component_binary(doc)) == "kube-apiserver"
        return {
            "scheme": str(http.get("scheme") or "HTTP").upper(),
            "host": http.get("host") or "127.0.0.1",
            "port": int(port),
            "path": "/readyz" if apiserver else (http.get("path") or "/"),
            "client_auth": apiserver,
            "probe": key,
        }
    return None


CONTRIBUTION_KEYS = ("source", "component", "flags", "absent_flags", "list_remove",
                     "volumes", "annotations", "checksum_files", "security_context")


def _norm_flags(flags):
    return {str(k).lstrip("-"): v for k, v in (flags or {}).items()}


def merge_contributions(contributions, components=None):
    """Merge contributions per component; ManifestError naming both sources
    on a conflict. Returns {component: {flags, absent_flags, list_remove,
    volumes, annotations, checksum_files, security_context, sources}} in
    input order."""
    merged = {}
    owners = {}  # (component, kind, key) -> source
    for index, contrib in enumerate(contributions or []):
        if not isinstance(contrib, dict):
            raise ManifestError("contribution #%d is not a dict" % index)
        unknown = sorted(set(contrib) - set(CONTRIBUTION_KEYS))
        source = contrib.get("source") or "contribution #%d" % index
        if unknown:
            raise ManifestError("%s: unknown key(s) %s in a static pod contribution (known: %s)"
                                % (source, ", ".join(unknown), ", ".join(CONTRIBUTION_KEYS)))
        comp = contrib.get("component")
        if components is not None and comp not in components:
            raise ManifestError("%s: component %r is not one of %s" % (source, comp, ", ".join(components)))
        out = merged.setdefault(comp, {"flags": {}, "absent_flags": [], "list_remove": {},
                                       "volumes": [], "annotations": {}, "checksum_files": [],
                                       "security_context": {}, "sources": []})
        if source not in out["sources"]:
            out["sources"].append(source)

        def claim(kind, key, value, _comp=comp, _source=source):
            prev = owners.get((_comp, kind, key))
            if prev is not None and prev[1] != value:
                raise ManifestError(
                    "conflict on %s %s of %s: %s wants %r, %s wants %r"
                    % (kind, key, _comp, prev[0], prev[1], _source, value))
            owners.setdefault((_comp, kind, key), (_source, value))

        for name in contrib.get("absent_flags") or []:
            name = str(name).lstrip("-")
            if name in out["flags"]:
                raise ManifestError("conflict on flag --%s of %s: %s sets it, %s wants it absent"
                                    % (name, comp, owners[(comp, "flag", name)][0], source))
            owners.setdefault((comp, "absent", name), (source, None))
            if name not in out["absent_flags"]:
                out["absent_flags"].append(name)
        for name, value in _norm_flags(contrib.get("flags")).items():
            if (comp, "absent", name) in owners:
                raise ManifestError("conflict on flag --%s of %s: %s wants it absent, %s sets it"
                                    % (name, comp, owners[(comp, "absent", name)][0], source))
            have = out["flags"].get(name)
            if name in MERGE_LIST_FLAGS and isinstance(value, (list, tuple)) and isinstance(have, list):
                out["flags"][name] = have + [v for v in value if v not in have]
            elif name in MERGE_MAP_FLAGS and isinstance(value, dict) and isinstance(have, dict):
                for key, val in value.items():
                    claim("flag", "%s %s" % (name, key), flag_value_str(val))
                    have[key] = val
            else:
                claim("flag", name, flag_value_str(value))
                if isinstance(value, dict):
                    for key, val in value.items():
                        owners.setdefault((comp, "flag", "%s %s" % (name, key)), (source, flag_value_str(val)))
                    value = dict(value)
                elif isinstance(value, (list, tuple)):
                    value = list(value)
                out["flags"].setdefault(name, value)
        for name, items in _norm_flags(contrib.get("list_remove")).items():
            items = [items] if isinstance(items, str) else list(items)
            have = out["list_remove"].setdefault(name, [])
            have.extend(i for i in items if i not in have)
        for vol in contrib.get("volumes") or []:
            spec = _vol_spec(vol)
            claim("volume", spec["name"], spec)
            if spec not in out["volumes"]:
                out["volumes"].append(spec)
        for key, value in (contrib.get("annotations") or {}).items():
            claim("annotation", key, flag_value_str(value))
            out["annotations"][key] = flag_value_str(value)
        for path in contrib.get("checksum_files") or []:
            if path not in out["checksum_files"]:
                out["checksum_files"].append(path)
        try:
            sc_items = security_context_items(contrib.get("security_context"))
        except ManifestError as exc:
            raise ManifestError("%s: %s" % (source, exc))
        for path, value in sc_items:
            name = ".".join(path)
            claim("securityContext", name, value)
            for other_comp, kind, other in list(owners):
                if (other_comp == comp and kind == "securityContext"
                        and (other.startswith(name + ".") or name.startswith(other + "."))):
                    raise ManifestError(
                        "conflict on securityContext %s of %s: %s sets %s, %s sets %s"
                        % (name, comp, owners[(comp, kind, other)][0], other, source, name))
            node = out["security_context"]
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
    for comp, out in merged.items():
        for name, items in out["list_remove"].items():
            wanted = out["flags"].get(name)
            if isinstance(wanted, list) and set(items) & set(wanted):
                raise ManifestError("conflict on --%s of %s: %s both added and removed"
                                    % (name, comp, ", ".join(sorted(set(items) & set(wanted)))))
    return merged


__all__ = [
    "ManifestError",
    "MERGE_LIST_FLAGS",
    "MERGE_MAP_FLAGS",
    "CHECKSUM_ANNOTATION",
    "load",
    "dump",
    "sha256_hex",
    "component_binary",
    "parse_flag",
    "flags_from_command",
    "get_flags",
    "format_flag",
    "volumes",
    "flag_value_str",
    "split_list",
    "split_map",
    "desired_value",
    "apply_flags",
    "apply_volumes",
    "apply_annotations",
    "SECURITY_CONTEXT_INTS",
    "SECURITY_CONTEXT_BOOLS",
    "security_context_items",
    "apply_security_context",
    "apply",
    "CHECKSUM_ANNOTATION_PREFIX",
    "checksum_annotation_key",
    "checksum_annotations",
    "checksum_of_digests",
    "checksum_of_contents",
    "probe_target",
    "CONTRIBUTION_KEYS",
    "merge_contributions",
]
