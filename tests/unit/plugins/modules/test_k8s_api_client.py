"""The k8s_api_client module (first half of the k8s_api preflight), run as Ansible runs it.
The probe against a real kube-apiserver and the role around it: tests/integration/test_k8s_api_role.py."""
import socket

import yaml

from .modrun import run_module


def _kubeconfig(tmp_path, port):
    path = tmp_path / "admin.conf"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:%d" % port, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    return str(path)


def _closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_client_and_kubeconfig_without_probe(tmp_path):
    port = _closed_port()
    rc, res = run_module("k8s_api_client", {"kubeconfig": _kubeconfig(tmp_path, port)}, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is False
    assert res["client_problem"] is None and res["client_version"] and res["problems"] == []
    assert res["server"] == "https://127.0.0.1:%d" % port and res["api_problem"] is None
    assert res["minimum"] == "24.2.0" and res["pip_requirement"].startswith("kubernetes>=24.2.0")
    assert res["in_virtualenv"] is True and res["install_method"] == "pip"
    assert "not-a-secret" not in str(res)


def test_probe_names_the_refused_connection(tmp_path):
    rc, res = run_module("k8s_api_client", {"kubeconfig": _kubeconfig(tmp_path, _closed_port()), "probe": True,
                                            "timeout": 3}, tmp_path)
    assert rc == 0 and len(res["problems"]) == 1
    assert "connection refused" in res["api_problem"] and "GET /version" in res["api_problem"]


def test_missing_kubeconfig_is_a_problem_not_a_failure(tmp_path):
    rc, res = run_module("k8s_api_client", {"kubeconfig": str(tmp_path / "none.conf"), "probe": True}, tmp_path)
    assert rc == 0 and res["kubeconfig_problem"] and "No such file or directory" in res["kubeconfig_problem"]
    assert res["problems"] == [res["kubeconfig_problem"]] and res["api_problem"] is None
