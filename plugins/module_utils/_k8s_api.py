# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# The one place that knows how the collection reaches the Kubernetes API:
# the client library it needs (and how to install it), and what an API error
# means for the user. Every module that calls the API turns its exceptions
# into one message with describe_api_error(); the k8s_api role's preflight
# uses client_problem() and install_hint(). No Ansible import, no kubernetes
# import: exceptions are recognised by class name and attributes, so this
# works (and is tested) without the library.
"""API access: client version requirements, install hints, API errors as one clear message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# kubernetes.core (5.x) needs the Python client 24.2.0 or later
# (its requirements.txt and module_utils/k8s/core.py: has_at_least("kubernetes", "24.2.0")).
MIN_CLIENT_VERSION = "24.2.0"
# What k8s_api_install_client installs with pip: the range the collection is tested with.
PIP_REQUIREMENT = "kubernetes>=24.2.0,<38"
DISTRO_PACKAGE = "python3-kubernetes"
# Known distribution packages that are too old (said in the message so nobody tries them).
TOO_OLD_PACKAGES = "Debian bookworm's python3-kubernetes is 22.6, too old"


def version_tuple(text):
    """'24.2.0' -> (24, 2, 0); '30.1.0a1' -> (30, 1, 0); None or garbage -> ()."""
    out = []
    for part in str(text or "").split("."):
        match = re.match(r"\d+", part)
        if not match:
            break
        out.append(int(match.group(0)))
    return tuple(out)


def version_ok(found, minimum=MIN_CLIENT_VERSION):
    found_t = version_tuple(found)
    return bool(found_t) and found_t >= version_tuple(minimum)


def install_hint(python="python3", node=None):
    """How to get a suitable client onto the node (one sentence)."""
    where = " on %s" % node if node else ""
    return ("install it%s: `%s -m pip install '%s'`, or the distribution's %s package where it is %s or later (%s); "
            "or set k8s_api_install_client: true to have the collection install it"
            % (where, python, PIP_REQUIREMENT, DISTRO_PACKAGE, MIN_CLIENT_VERSION, TOO_OLD_PACKAGES))


def client_problem(found_version, import_error=None, python="python3", node=None, minimum=MIN_CLIENT_VERSION):
    """None when the client is usable, else the message saying what is missing and how to fix it."""
    where = "%s: " % node if node else ""
    if found_version is None:
        return ("%sthe Python library 'kubernetes' (%s or later, needed by kubernetes.core) is not importable by %s%s; %s"
                % (where, minimum, python, " (%s)" % import_error if import_error else "", install_hint(python, node)))
    if not version_ok(found_version, minimum):
        return ("%sthe Python library 'kubernetes' for %s is %s, too old: kubernetes.core needs %s or later (%s); %s"
                % (where, python, found_version, minimum, TOO_OLD_PACKAGES, install_hint(python, node)))
    return None


def install_method(in_virtualenv, distro_candidate, minimum=MIN_CLIENT_VERSION):
    """'package' when the distribution's package is new enough and the interpreter is the system's, else 'pip'."""
    if not in_virtualenv and distro_candidate and version_ok(distro_candidate, minimum):
        return "package"
    return "pip"


def kubeconfig_problem(path, data, error=None):
    """None when ``data`` (the parsed kubeconfig) names a server for its current context, else why not.

    ``error``: the OSError/YAML error text when the file could not be read or parsed.
    """
    fix = "point k8s_api_kubeconfig at kubeadm's admin.conf (/etc/kubernetes/admin.conf on a control-plane node)"
    if error:
        return "cannot read the kubeconfig %s: %s; %s" % (path, error, fix)
    if not isinstance(data, dict):
        return "%s is not a kubeconfig (no YAML mapping); %s" % (path, fix)
    server, why = kubeconfig_server(data)
    if server is None:
        return "%s is not a usable kubeconfig: %s; %s" % (path, why, fix)
    return None


def kubeconfig_server(data):
    """(server URL, None) of the current context, or (None, why)."""
    name = data.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in data.get("contexts") or [] if isinstance(c, dict)}
    if not name:
        return None, "no current-context"
    if name not in contexts:
        return None, "current-context %s is not among its contexts" % name
    clusters = {c.get("name"): c.get("cluster") or {} for c in data.get("clusters") or [] if isinstance(c, dict)}
    cluster = contexts[name].get("cluster")
    if cluster not in clusters or not clusters[cluster].get("server"):
        return None, "context %s names cluster %s, which has no server" % (name, cluster)
    return clusters[cluster]["server"], None


def read_kubeconfig(path):
    """(parsed kubeconfig, None) or (None, message saying what is wrong and what to do)."""
    import yaml  # PyYAML: a node requirement of the collection
    try:
        with open(path, "r") as handle:
            data = yaml.safe_load(handle)
    except (IOError, OSError) as exc:
        return None, kubeconfig_problem(path, None, exc.strerror or str(exc))
    except yaml.YAMLError as exc:
        return None, kubeconfig_problem(path, None, "not valid YAML (%s)" % str(exc).splitlines()[0])
    problem = kubeconfig_problem(path, data)
    return (None, problem) if problem else (data, None)


def core_v1_api(kubeconfig, retries=None):
    """(CoreV1Api, server URL) for a kubeconfig already checked with read_kubeconfig.

    Imports the kubernetes client here, so a module without it fails with client_problem(), not at import.
    retries: urllib3 retries (None keeps the client's default; 1 for a fast answer from a down API).
    """
    from kubernetes import client, config
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    if retries is not None:
        cfg.retries = retries
    return client.CoreV1Api(client.ApiClient(cfg)), cfg.host


def server_version(kubeconfig, timeout):
    """gitVersion of the API server (GET /version), through the kubernetes client; exceptions propagate."""
    from kubernetes import client
    core, dummy = core_v1_api(kubeconfig, retries=1)
    return client.VersionApi(core.api_client).get_code(_request_timeout=timeout).git_version


def client_version():
    """(version of the importable kubernetes library, None) or (None, the import error)."""
    try:
        import kubernetes
    except ImportError as exc:
        return None, str(exc)
    return getattr(kubernetes, "__version__", "0"), None


def parse_candidate(output, manager):
    """The candidate version of the distribution's package from `apt-cache policy` or `dnf repoquery` output."""
    text = output or ""
    if manager == "apt":
        match = re.search(r"^\s*Candidate:\s*(\S+)", text, re.M)
        if not match or match.group(1) == "(none)":
            return None
        version = match.group(1).split(":", 1)[-1]          # drop an epoch
        return version.split("-", 1)[0].split("+", 1)[0]     # drop the Debian revision
    lines = [line.strip() for line in text.splitlines() if re.match(r"^\s*\d", line)]
    return lines[-1] if lines else None


# --------------------------------------------------------------------------
# API errors

def _chain(exc):
    """exc, then what it wraps (urllib3's reason, __cause__, __context__, args), without loops."""
    seen = []
    todo = [exc]
    while todo and len(seen) < 12:
        cur = todo.pop(0)
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        todo.extend([getattr(cur, "reason", None) if isinstance(getattr(cur, "reason", None), BaseException) else None,
                     cur.__cause__, cur.__context__])
        todo.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return seen


def _names(exc):
    return [c.__name__ for c in type(exc).__mro__]


def _status_message(exc):
    """The message of the API's Status body, without anything else of the response."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip():
        try:
            status = json.loads(body)
        except ValueError:
            return body.strip()[:300]
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])[:300]
    return str(getattr(exc, "reason", "") or "")[:300]


def api_status(exc):
    """The HTTP status of a kubernetes ApiException (or anything shaped like one), else None."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0 and any("ApiException" in n or "ApiError" in n for n in _names(exc)):
        return status
    return None


def describe_api_error(exc, action, obj, server=None, kubeconfig=None, hints=None):
    """One clear message for an exception raised while calling the API.

    action: the verb ("read", "patch", "replace", "list"); obj: what ("ConfigMap kube-system/kubeadm-config");
    hints: {status or kind: sentence} overriding the default fix for that case (kinds: refused, timeout, tls,
    kubeconfig, dns, missing_library). Never includes the response's headers or object content.
    """
    hints = hints or {}
    context = ", ".join(x for x in ("API server %s" % server if server else "",
                                    "kubeconfig %s" % kubeconfig if kubeconfig else "") if x)
    head = "%s %s%s failed" % (action, obj, " (%s)" % context if context else "")
    kc = kubeconfig or "the kubeconfig"

    status = api_status(exc)
    if status is not None:
        detail = _status_message(exc)
        defaults = {
            401: ("the API refused the credentials of %s (HTTP 401 Unauthorized: expired or not from this cluster); "
                  "use a current admin.conf (kubeadm certs renew admin.conf)" % kc),
            403: ("the user of %s may not %s %s (HTTP 403 Forbidden: %s); use kubeadm's admin.conf or super-admin.conf, "
                  "or grant that permission with RBAC" % (kc, action, obj, detail)),
            404: "%s does not exist (HTTP 404 Not Found)" % obj,
            409: ("%s was changed by another client at the same time (HTTP 409 Conflict: %s); run again" % (obj, detail)),
            410: "the list went stale (HTTP 410 Gone: %s); run again" % detail,
            422: "the API refused the object as invalid (HTTP 422: %s); nothing was changed" % detail,
            429: "the API is throttling requests (HTTP 429: %s); run again later" % detail,
        }
        if status in hints:
            what = hints[status]
        elif status in defaults:
            what = defaults[status]
        elif status >= 500:
            what = ("the API server failed (HTTP %d: %s); check kube-apiserver and etcd (kubectl get --raw /readyz) "
                    "and run again" % (status, detail))
        else:
            what = "HTTP %d: %s" % (status, detail)
        return "%s: %s" % (head, what)

    chain = _chain(exc)
    names = [n for e in chain for n in _names(e)]
    text = " ".join(str(e) for e in chain)

    def pick(kind, default):
        return "%s: %s" % (head, hints.get(kind, default))

    if "ImportError" in names or "ModuleNotFoundError" in names:
        return pick("missing_library", "the Python library 'kubernetes' is missing; " + install_hint())
    if "ConfigException" in names:
        return pick("kubeconfig", "%s is not a usable kubeconfig (%s); point k8s_api_kubeconfig at kubeadm's admin.conf"
                    % (kc, str(exc)[:300]))
    if any(n in names for n in ("SSLError", "SSLCertVerificationError")) or "CERTIFICATE_VERIFY_FAILED" in text:
        return pick("tls", "TLS with the API server failed (%s); the CA in %s must be the cluster's CA and the server "
                    "name must be in the API server certificate's SANs" % (_short(chain, ("SSLError",)), kc))
    # before timeouts: urllib3's NewConnectionError is a subclass of ConnectTimeoutError
    if "ConnectionRefusedError" in names or "Connection refused" in text:
        return pick("refused", "nothing listens there (connection refused); is kube-apiserver running, and is the "
                    "server in %s right?" % kc)
    if "NameResolutionError" in names or re.search(
            r"Name or service not known|nodename nor servname|Temporary failure in name resolution|"
            r"No address associated|Failed to resolve", text):
        return pick("dns", "the server name in %s does not resolve" % kc)
    if any(n in names for n in ("ReadTimeoutError", "ConnectTimeoutError", "TimeoutError", "timeout")) \
            or "timed out" in text:
        return pick("timeout", "no answer from the API server within the timeout; check that kube-apiserver runs "
                    "and answers (kubectl get --raw /readyz), or raise the timeout (k8s_api_timeout)")
    if "MaxRetryError" in names or "NewConnectionError" in names or "ProtocolError" in names:
        return pick("unreachable", "the API server cannot be reached (%s)" % _short(chain, ("NewConnectionError",
                                                                                            "ProtocolError")))
    if isinstance(exc, (IOError, OSError)) and getattr(exc, "filename", None):
        return pick("kubeconfig", "cannot read %s (%s)" % (exc.filename, exc.strerror or exc))
    return "%s: %s: %s" % (head, type(exc).__name__, str(exc)[:300])


def _short(chain, prefer):
    for e in chain:
        if any(p in _names(e) for p in prefer):
            return "%s: %s" % (type(e).__name__, str(e)[:200])
    return "%s: %s" % (type(chain[-1]).__name__, str(chain[-1])[:200])


__all__ = ["MIN_CLIENT_VERSION", "PIP_REQUIREMENT", "DISTRO_PACKAGE", "TOO_OLD_PACKAGES", "version_tuple",
           "version_ok", "install_hint", "client_problem", "install_method", "kubeconfig_problem",
           "kubeconfig_server", "read_kubeconfig", "parse_candidate", "core_v1_api", "server_version", "client_version", "api_status", "describe_api_error"]
