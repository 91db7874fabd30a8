"""The k8s_api role (the preflight of every role that calls the API), run by ansible-playbook against localhost.

A real kube-apiserver (realk8s.ControlPlane) answers for the success case; a throwaway venv of the system's Python
(PyYAML, no `kubernetes`) is the node without the client; a missing or non-kubeconfig file, a closed port and a
port that never answers are the other failures. Each failure must stop the play before its next task runs,
naming the node, what is missing and how to fix it.
"""
import socket
import subprocess
import sys

import pytest
import yaml

import realk8s
from ansible_local import run_playbook, venv_without_kubernetes

MARKER_TASK = "A task after the preflight (must not run when it fails)"


def _plane(tmp_path_factory, version):
    realk8s.skip_or_fail(pytest, version)
    plane = realk8s.ControlPlane(str(tmp_path_factory.mktemp("k8s-api-" + version)), version=version)
    try:
        yield plane.start()
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def cp(tmp_path_factory):
    """1.33.3 for every case; the success case runs at 1.28.7 as well (cp_any)."""
    yield from _plane(tmp_path_factory, "1.33.3")


@pytest.fixture(scope="module", params=["1.33.3", "1.28.7"])
def cp_any(request, tmp_path_factory, cp):
    if request.param == cp.version:
        yield cp
    else:
        yield from _plane(tmp_path_factory, request.param)


def play(tmp_path, hosts="control_plane"):
    marker = tmp_path / "touched"
    return [{"hosts": hosts, "gather_facts": False, "tasks": [
        {"name": "Preflight", "ansible.builtin.include_role": {"name": "k8s_hardening.kubeadm.k8s_api"}},
        {"name": MARKER_TASK, "ansible.builtin.file": {"path": str(marker), "state": "touch", "mode": "0600"}},
        {"name": "Show the fact", "ansible.builtin.debug": {"var": "k8s_hardening_api"}},
    ]}], marker


def failure(res):
    failed = res.failed()
    assert res.rc != 0 and failed, res.out[-3000:]
    return failed[0][1]


def test_success_sets_the_fact_on_every_host(cp_any, tmp_path):
    cp = cp_any
    # two inventory hosts (both local): the fact must be visible on each; the API host is the first control-plane one
    inv = tmp_path / "hosts.ini"
    inv.write_text("[control_plane]\nnode1 ansible_connection=local ansible_python_interpreter={py}\n"
                   "node2 ansible_connection=local ansible_python_interpreter={py}\n".format(py=sys.executable))
    plays, marker = play(tmp_path)
    plays[0]["tasks"].append({"name": "Every host sees the same fact", "ansible.builtin.assert": {"that": [
        "hostvars['node1'].k8s_hardening_api == hostvars['node2'].k8s_hardening_api"]}})
    for check in (False, True):
        res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_kubeconfig": cp.admin_kubeconfig}, check=check,
                           inventory_file=str(inv))
        assert res.rc == 0, res.out[-3000:]
        facts = {h: r["k8s_hardening_api"] for t, h, r in res.tasks if t == "Show the fact"}
        assert set(facts) == {"node1", "node2"}, res.out[-2000:]
        assert facts["node1"] == facts["node2"] == {
            "host": "node1", "kubeconfig": cp.admin_kubeconfig, "server": cp.url,
            "server_version": "v" + cp.version}


def test_localhost_as_the_api_host(cp, tmp_path):
    """k8s_api_host: localhost (the controller, not in the inventory) runs the calls with the controller's Python."""
    inv = tmp_path / "hosts.ini"
    inv.write_text("[control_plane]\nnode1 ansible_connection=local ansible_python_interpreter=/nonexistent/python\n")
    plays, marker = play(tmp_path)
    plays[0]["tasks"] = [t for t in plays[0]["tasks"] if t["name"] != MARKER_TASK]
    res = run_playbook(tmp_path, plays, inventory_file=str(inv), check=True,
                       extra_vars={"k8s_api_kubeconfig": cp.admin_kubeconfig, "k8s_api_host": "localhost"})
    # the inventory host's own interpreter does not exist: only the delegated calls to localhost may run
    assert res.rc == 0, res.out[-3000:]
    fact = res.task("Show the fact")["k8s_hardening_api"]
    assert fact["host"] == "localhost" and fact["server_version"] == "v" + cp.version


def test_node_without_the_client_stops_before_anything_else(cp, tmp_path):
    python = venv_without_kubernetes(tmp_path / "venv")
    if python is None:
        pytest.skip("the system Python has the kubernetes library, so no venv without it can be built from it")
    plays, marker = play(tmp_path)
    res = run_playbook(tmp_path, plays, python=python, extra_vars={"k8s_api_kubeconfig": cp.admin_kubeconfig})
    msg = failure(res)
    assert "from localhost" in msg and python in msg, msg
    assert "'kubernetes'" in msg and "24.2.0" in msg and "not importable" in msg, msg
    assert "-m pip install 'kubernetes>=24.2.0,<38'" in msg and "python3-kubernetes" in msg, msg
    assert "22.6, too old" in msg and "k8s_api_install_client: true" in msg, msg
    assert not marker.exists() and MARKER_TASK not in [t for t, h, r in res.tasks]


@pytest.mark.parametrize("case", ["missing", "directory", "not-a-kubeconfig"])
def test_unusable_kubeconfig_stops(cp, tmp_path, case):
    path = tmp_path / "admin.conf"
    if case == "directory":
        path.mkdir()
    elif case == "not-a-kubeconfig":
        path.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    plays, marker = play(tmp_path)
    res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_kubeconfig": str(path)})
    msg = failure(res)
    assert "from localhost" in msg and str(path) in msg and "admin.conf" in msg, msg
    expected = {"missing": "No such file or directory", "directory": "Is a directory",
                "not-a-kubeconfig": "no current-context"}[case]
    assert expected in msg, msg
    assert not marker.exists()


def test_api_that_does_not_answer_stops(cp, tmp_path):
    conf = yaml.safe_load(open(cp.admin_kubeconfig))
    plays, marker = play(tmp_path)
    # nothing listens on the port
    conf["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % realk8s.free_ports(1)[0]
    refused = tmp_path / "refused.conf"
    refused.write_text(yaml.safe_dump(conf))
    res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_kubeconfig": str(refused)})
    msg = failure(res)
    assert "from localhost" in msg and "connection refused" in msg and "kube-apiserver running" in msg, msg
    assert not marker.exists()
    # something listens but never answers: the timeout, named as such
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        conf["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % silent.getsockname()[1]
        hung = tmp_path / "hung.conf"
        hung.write_text(yaml.safe_dump(conf))
        res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_kubeconfig": str(hung), "k8s_api_timeout": 3})
    finally:
        silent.close()
    msg = failure(res)
    assert "no answer from the API server within the timeout" in msg and "k8s_api_timeout" in msg, msg
    assert not marker.exists()
    # credentials the API refuses
    conf = yaml.safe_load(open(cp.admin_kubeconfig))
    conf["users"][0]["user"] = {"token": "not-a-valid-token"}
    bad = tmp_path / "bad.conf"
    bad.write_text(yaml.safe_dump(conf))
    res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_kubeconfig": str(bad)})
    msg = failure(res)
    assert "HTTP 401 Unauthorized" in msg, msg
    assert "Traceback" not in res.out and not marker.exists()


def test_bad_settings_fail_first(tmp_path):
    plays, marker = play(tmp_path)
    res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_kubeconfig": "relative/admin.conf"})
    msg = failure(res)
    assert "k8s_api_kubeconfig" in msg and "absolute" in msg, msg
    res = run_playbook(tmp_path, plays, extra_vars={"k8s_api_host": "no-such-host"})
    msg = failure(res)
    assert "k8s_api_host" in msg and "no-such-host" in msg, msg


def test_install_client_opt_in(cp, tmp_path):
    """k8s_api_install_client: true installs the client with pip for the node's interpreter, then the check passes.

    A throwaway venv of the system's Python, with pip and without `kubernetes`; pip reaches the package index this
    machine's pip is configured for (the test skips, saying so, when none answers). The distribution package path
    is not taken here: bookworm's python3-kubernetes (22.6) is too old, and a venv never uses it (unit-tested in
    test_k8s_api.py::test_install_method)."""
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True,
                   capture_output=True)
    python = str(venv / "bin" / "python")
    if subprocess.run([python, "-c", "import kubernetes"], capture_output=True, check=False).returncode == 0:
        pytest.skip("the system Python has the kubernetes library")
    plays, marker = play(tmp_path)
    res = run_playbook(tmp_path, plays, python=python,
                       extra_vars={"k8s_api_kubeconfig": cp.admin_kubeconfig, "k8s_api_install_client": True})
    failed = res.failed()
    if failed and "Install the client with pip" in failed[0][0] and \
            any(s in failed[0][1] + res.out for s in ("No matching distribution", "Could not find a version",
                                                      "Failed to establish a new connection")):
        pytest.skip("no Python package index answers here: %s" % failed[0][1][-300:])
    assert res.rc == 0, res.out[-4000:]
    pip = [r for t, h, r in res.tasks if t.endswith("Install the client with pip, for the interpreter Ansible uses there")]
    assert pip and pip[0]["changed"] is True
    assert res.task("Show the fact")["k8s_hardening_api"]["server_version"] == "v" + cp.version
    assert marker.exists()
    version = subprocess.run([python, "-c", "import kubernetes; print(kubernetes.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert (24, 2) <= tuple(int(x) for x in version.split(".")[:2]) < (38,)
