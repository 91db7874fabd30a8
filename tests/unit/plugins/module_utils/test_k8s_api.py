"""_k8s_api: the client requirement, kubeconfig checks, install decisions and one message per API error.

The errors are the real exception classes of the kubernetes client and urllib3 (installed in the venv), built as
the client raises them, plus look-alikes defined here (the function must work where the library is missing).
"""
import json
import os
import socket
import ssl

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _k8s_api as k

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


@pytest.mark.parametrize("text,expected", [
    ("24.2.0", (24, 2, 0)), ("37.0.2", (37, 0, 2)), ("30.1.0a1", (30, 1, 0)), ("22.6.0-2", (22, 6, 0)),
    ("", ()), (None, ()), ("x", ()),
])
def test_version_tuple(text, expected):
    assert k.version_tuple(text) == expected


@pytest.mark.parametrize("found,ok", [("24.2.0", True), ("24.10.1", True), ("37.0.2", True), ("24.1.9", False),
                                      ("22.6.0", False), ("3", False), (None, False)])
def test_version_ok(found, ok):
    assert k.version_ok(found) is ok


def test_minimum_is_what_kubernetes_core_needs():
    req = os.path.join(ROOT, ".cache", "collections", "ansible_collections", "kubernetes", "core", "requirements.txt")
    if not os.path.exists(req):
        pytest.skip("kubernetes.core is not extracted (make setup)")
    with open(req) as fh:
        line = [x for x in fh if x.startswith("kubernetes")][0]
    assert line.strip() == "kubernetes>=" + k.MIN_CLIENT_VERSION
    assert k.PIP_REQUIREMENT.startswith("kubernetes>=%s," % k.MIN_CLIENT_VERSION)


def test_client_problem():
    assert k.client_problem("37.0.2") is None
    missing = k.client_problem(None, "No module named 'kubernetes'", python="/usr/bin/python3", node="cp1")
    assert missing.startswith("cp1: the Python library 'kubernetes' (24.2.0 or later")
    assert "not importable by /usr/bin/python3 (No module named 'kubernetes')" in missing
    assert "/usr/bin/python3 -m pip install 'kubernetes>=24.2.0,<38'" in missing and "python3-kubernetes" in missing
    assert "k8s_api_install_client: true" in missing
    old = k.client_problem("22.6.0", python="/usr/bin/python3")
    assert "is 22.6.0, too old" in old and "bookworm" in old and "24.2.0" in old


@pytest.mark.parametrize("venv,candidate,method", [
    (False, "30.1.0", "package"), (False, "24.2.0", "package"), (False, "22.6.0", "pip"), (False, None, "pip"),
    (True, "30.1.0", "pip"),
])
def test_install_method(venv, candidate, method):
    assert k.install_method(venv, candidate) == method


@pytest.mark.parametrize("output,manager,version", [
    ("python3-kubernetes:\n  Installed: (none)\n  Candidate: 22.6.0-2\n  Version table:\n", "apt", "22.6.0"),
    ("python3-kubernetes:\n  Installed: (none)\n  Candidate: 1:30.1.0-1+b1\n", "apt", "30.1.0"),
    ("python3-kubernetes:\n  Installed: (none)\n  Candidate: (none)\n", "apt", None),
    ("", "apt", None),
    ("29.0.0\n", "dnf", "29.0.0"),
    ("", "dnf", None),
])
def test_parse_candidate(output, manager, version):
    assert k.parse_candidate(output, manager) == version


GOOD = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": "https://10.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {}}]}


def test_kubeconfig_checks(tmp_path):
    assert k.kubeconfig_server(GOOD) == ("https://10.0.0.1:6443", None)
    assert k.kubeconfig_problem("/a", GOOD) is None
    no_ctx = dict(GOOD, **{"current-context": ""})
    assert "no current-context" in k.kubeconfig_problem("/a", no_ctx)
    other = dict(GOOD, **{"current-context": "x"})
    assert "current-context x is not among its contexts" in k.kubeconfig_problem("/a", other)
    no_server = dict(GOOD, clusters=[{"name": "k", "cluster": {}}])
    assert "has no server" in k.kubeconfig_problem("/a", no_server)
    assert "not a kubeconfig" in k.kubeconfig_problem("/a", "text")

    path = tmp_path / "admin.conf"
    assert "No such file or directory" in k.read_kubeconfig(str(path))[1]
    path.write_text(yaml.safe_dump(GOOD))
    assert k.read_kubeconfig(str(path)) == (GOOD, None)
    path.write_text("a: [\n")
    data, problem = k.read_kubeconfig(str(path))
    assert data is None and "not valid YAML" in problem and "admin.conf" in problem
    assert "Is a directory" in k.read_kubeconfig(str(tmp_path))[1]


# --------------------------------------------------------------------------
# errors

class FakeResponse(object):
    """What urllib3 hands the kubernetes client: the client builds ApiException from it."""

    def __init__(self, status, reason, body):
        self.status, self.reason, self.data = status, reason, body.encode()
        self.headers = {"Audit-Id": "not-in-the-message", "Authorization": "Bearer hidden-token"}

    def getheaders(self):
        return self.headers


def api_exception(status, reason, message):
    """The exception class the client raises for that status (NotFoundException, ...), from a response."""
    exceptions = pytest.importorskip("kubernetes.client.exceptions")
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": status})
    try:
        exceptions.ApiException.from_response(http_resp=FakeResponse(status, reason, body), body=body, data=None)
    except exceptions.ApiException as exc:
        return exc
    return exceptions.ApiException(http_resp=FakeResponse(status, reason, body))


OBJ = "ConfigMap kube-system/kubeadm-config"


@pytest.mark.parametrize("status,reason,expected", [
    (401, "Unauthorized", ["HTTP 401 Unauthorized", "kubeadm certs renew admin.conf"]),
    (403, "Forbidden", ["may not read ConfigMap kube-system/kubeadm-config", "HTTP 403 Forbidden", "RBAC"]),
    (404, "Not Found", ["ConfigMap kube-system/kubeadm-config does not exist (HTTP 404 Not Found)"]),
    (409, "Conflict", ["changed by another client", "HTTP 409 Conflict", "run again"]),
    (422, "Unprocessable Entity", ["refused the object as invalid (HTTP 422", "nothing was changed"]),
    (500, "Internal Server Error", ["API server failed (HTTP 500", "/readyz"]),
    (503, "Service Unavailable", ["API server failed (HTTP 503"]),
    (418, "Teapot", ["HTTP 418"]),
])
def test_api_status_errors(status, reason, expected):
    exc = api_exception(status, reason, "the server says %d" % status)
    msg = k.describe_api_error(exc, "read", OBJ, "https://10.0.0.1:6443", "/etc/kubernetes/admin.conf")
    assert msg.startswith("read %s (API server https://10.0.0.1:6443, kubeconfig /etc/kubernetes/admin.conf) failed: "
                          % OBJ)
    for text in expected:
        assert text in msg, msg
    assert "hidden-token" not in msg and "Audit-Id" not in msg and "Traceback" not in msg
    assert k.api_status(exc) == status


def test_hint_overrides_the_default():
    exc = api_exception(404, "Not Found", "configmaps \"kubeadm-config\" not found")
    msg = k.describe_api_error(exc, "read", OBJ, hints={404: "upload it with kubeadm"})
    assert msg == "read %s failed: upload it with kubeadm" % OBJ


def test_connection_errors_from_urllib3():
    urllib3 = pytest.importorskip("urllib3")
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ReadTimeoutError
    from urllib3.exceptions import SSLError
    conn = urllib3.connection.HTTPSConnection("127.0.0.1", 1)
    refused = NewConnectionError(conn, "Failed to establish a new connection: [Errno 111] Connection refused")
    msg = k.describe_api_error(MaxRetryError(None, "/api", refused), "list", "secrets")
    assert "connection refused" in msg and "kube-apiserver running" in msg, msg
    timeout = ReadTimeoutError(None, "/api", "Read timed out. (read timeout=3)")
    msg = k.describe_api_error(MaxRetryError(None, "/api", timeout), "list", "secrets")
    assert "within the timeout" in msg and "k8s_api_timeout" in msg, msg
    tls = SSLError(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
    msg = k.describe_api_error(MaxRetryError(None, "/api", tls), "list", "secrets", kubeconfig="/k.conf")
    assert "TLS with the API server failed" in msg and "CA in /k.conf" in msg, msg
    dns = NameResolutionError("api.example", conn, socket.gaierror(-2, "Name or service not known"))
    msg = k.describe_api_error(MaxRetryError(None, "/api", dns), "list", "secrets", kubeconfig="/k.conf")
    assert "does not resolve" in msg, msg


def test_other_errors():
    config = pytest.importorskip("kubernetes.config")
    exc = config.ConfigException("Invalid kube-config file. No configuration found.")
    msg = k.describe_api_error(exc, "load", "the kubeconfig", kubeconfig="/k.conf")
    assert "/k.conf is not a usable kubeconfig" in msg and "admin.conf" in msg
    msg = k.describe_api_error(ImportError("No module named 'kubernetes'"), "list", "secrets")
    assert "'kubernetes' is missing" in msg and "pip install" in msg
    msg = k.describe_api_error(FileNotFoundError(2, "No such file or directory", "/k.conf"), "load", "the kubeconfig")
    assert "cannot read /k.conf (No such file or directory)" in msg
    msg = k.describe_api_error(ValueError("odd"), "list", "secrets")
    assert msg == "list secrets failed: ValueError: odd"


def test_without_the_library_look_alikes_are_recognised():
    class ApiException(Exception):
        def __init__(self, status, reason, body):
            Exception.__init__(self, "(%s)\nReason: %s\nHTTP response headers: secret" % (status, reason))
            self.status, self.reason, self.body = status, reason, body

    msg = k.describe_api_error(ApiException(403, "Forbidden", '{"message": "secrets is forbidden"}'), "list", "secrets")
    assert "HTTP 403 Forbidden: secrets is forbidden" in msg and "headers" not in msg
    msg = k.describe_api_error(ApiException(409, "Conflict", "not json"), "replace", "Secret a/b")
    assert "HTTP 409 Conflict: not json" in msg
    refused = ConnectionRefusedError(111, "Connection refused")
    wrapped = RuntimeError("request failed")
    wrapped.__cause__ = refused
    assert "connection refused" in k.describe_api_error(wrapped, "list", "secrets")
    assert "within the timeout" in k.describe_api_error(socket.timeout("timed out"), "list", "secrets")
