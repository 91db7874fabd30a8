"""static_pod_health run for real: lab mode against a state dir, node mode against real local
HTTP/HTTPS servers (kube-apiserver itself cannot run here; the servers stand in for its probe
endpoint and are named as such). crictl is not installed on this host (`crictl` is pointed at a
name that does not exist), so the module looks in /proc for a process running the manifest's
command: the tests start a real stand-in process (`sleep <unique>`) as that command."""
import hashlib
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
import time

import pytest
import yaml

from .modrun import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "manifests")


def write_state(state_dir, name, sha, state, reason=""):
    tmp = state_dir / (name + ".json.tmp")
    tmp.write_text(json.dumps({"name": name, "state": state, "reason": reason, "manifest_sha256": sha,
                               "pid": 1, "started_at": time.time(), "simulated": True}))
    os.replace(tmp, state_dir / (name + ".json"))


@pytest.fixture
def lab(tmp_path):
    manifest = tmp_path / "kube-apiserver.yaml"
    shutil.copy(os.path.join(FIXTURES, "kube-apiserver.yaml"), manifest)
    state_dir = tmp_path / "pods"
    state_dir.mkdir()
    sha = hashlib.sha256(manifest.read_bytes()).hexdigest()
    return {"manifest": str(manifest), "state_dir": state_dir, "sha": sha, "tmp": tmp_path}


def health(lab, **kw):
    args = {"component": "kube-apiserver", "manifest_path": lab["manifest"], "state_dir": str(lab["state_dir"]),
            "timeout": 10, "delay": 0.1}
    args.update(kw)
    return run_module("static_pod_health", args, lab["tmp"])


def test_lab_running_with_expected_hash(lab):
    write_state(lab["state_dir"], "kube-apiserver", lab["sha"], "running")
    rc, res = health(lab)
    assert rc == 0 and res["state"] == "running" and res["mode"] == "lab" and res["changed"] is False


def when_module_runs(tmp_path, action, delay=1.0, timeout=60):
    """Run ``action`` ``delay`` seconds after the module's process appears in /proc (however slowly a loaded
    machine starts it); returns a list that holds the monotonic time of the action once it ran."""
    marker = str(tmp_path / "static_pod_health-args.json").encode()
    done = []

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        if marker not in handle.read():
                            continue
                except OSError:
                    continue
                time.sleep(delay)
                action()
                done.append(time.monotonic())
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    return done


def test_lab_waits_for_the_new_hash(lab):
    write_state(lab["state_dir"], "kube-apiserver", "0" * 64, "running")
    done = when_module_runs(lab["tmp"], lambda: write_state(lab["state_dir"], "kube-apiserver", lab["sha"], "running"))
    rc, res = health(lab)
    # the old hash never counts: success means the module waited until the new state was written
    assert rc == 0 and done and done[0] <= time.monotonic() and res["elapsed"] > 0, res


def test_lab_invalid_fails_fast_with_reason(lab):
    write_state(lab["state_dir"], "kube-apiserver", lab["sha"], "invalid", "unknown flag: --bogus")
    started = time.monotonic()
    rc, res = health(lab, timeout=60)
    assert rc != 0 and time.monotonic() - started < 10
    assert res["state"] == "invalid" and "unknown flag: --bogus" in res["msg"]


def test_lab_old_hash_times_out(lab):
    write_state(lab["state_dir"], "kube-apiserver", "0" * 64, "running")
    rc, res = health(lab, timeout=1)
    assert rc != 0 and "not running manifest" in res["msg"] and res["state"] == "pending"


def test_lab_explicit_expected_hash_and_name(lab):
    write_state(lab["state_dir"], "other", "a" * 64, "crashloop", "exit 1")
    rc, res = health(lab, name="other", expected_sha256="a" * 64)
    assert rc != 0 and res["state"] == "crashloop"


class _Handler(http.server.BaseHTTPRequestHandler):
    answers = []

    def do_GET(self):  # noqa: N802 (http.server API)
        code = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if getattr(self.server, "need_client_cert", False):
            code = 200 if self.connection.getpeercert() else 401
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok" if code == 200 else b"no")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    servers = []

    def start(answers, context=None):
        handler = type("H", (_Handler,), {"answers": list(answers)})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if context is not None:
            srv.socket = context.wrap_socket(srv.socket, server_side=True)
            srv.need_client_cert = True
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return srv.server_address[1]

    yield start
    for srv in servers:
        srv.shutdown()


def node_manifest(tmp_path, name, scheme, port, start_process=True):
    """The kubeadm manifest with its probes pointed at a local server and its command replaced by
    a stand-in process the test starts after writing the manifest, as the kubelet would."""
    doc = yaml.safe_load(open(os.path.join(FIXTURES, name + ".yaml")))
    container = doc["spec"]["containers"][0]
    container["command"] = ["sleep", "%d.%d" % (600 + os.getpid() % 100, port)]
    for key in ("readinessProbe", "startupProbe", "livenessProbe"):
        if key in container:
            container[key]["httpGet"].update(host="127.0.0.1", port=port, scheme=scheme)
    path = tmp_path / (name + ".yaml")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    if start_process:
        PROCS.append(subprocess.Popen(container["command"]))
    return str(path)


PROCS = []


@pytest.fixture(autouse=True)
def _stop_standins():
    yield
    while PROCS:
        proc = PROCS.pop()
        proc.kill()
        proc.wait()


def node_args(tmp_path, manifest, component, **kw):
    args = {"component": component, "manifest_path": manifest, "state_dir": str(tmp_path / "no-lab"),
            "crictl": "crictl-not-installed-here", "timeout": 5, "delay": 0.2}
    args.update(kw)
    return args


def test_node_http_probe_until_200(tmp_path, server):
    port = server([503, 503, 200])
    manifest = node_manifest(tmp_path, "etcd", "HTTP", port)
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "etcd"), tmp_path)
    assert rc == 0 and res["mode"] == "node" and res["state"] == "running"
    assert "answered 200" in res["reason"]


def test_node_probe_times_out(tmp_path, server):
    port = server([500])
    manifest = node_manifest(tmp_path, "kube-scheduler", "HTTP", port)
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-scheduler", timeout=1), tmp_path)
    assert rc != 0 and "answered 500" in res["msg"] and res["state"] == "unhealthy"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-subj", "/CN=test-ca", "-days", "1", cwd=d)
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "1", cwd=d)
    return d


def test_node_apiserver_readyz_with_client_certificate(tmp_path, server, pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
    context.load_verify_locations(str(pki / "ca.crt"))
    context.verify_mode = ssl.CERT_OPTIONAL
    port = server([200], context)  # stands in for kube-apiserver's /readyz, 401 without a client cert
    manifest = node_manifest(tmp_path, "kube-apiserver", "HTTPS", port)
    certs = dict(client_cert=str(pki / "client.crt"), client_key=str(pki / "client.key"), ca_cert=str(pki / "ca.crt"))
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-apiserver", **certs), tmp_path)
    assert rc == 0, res
    assert "/readyz answered 200" in res["reason"]
    # without the client certificate the same endpoint refuses: the certificate is really presented
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-apiserver", timeout=1,
                                                        client_cert=str(pki / "missing.crt"),
                                                        ca_cert=str(pki / "ca.crt")), tmp_path)
    assert rc != 0 and "answered 401" in res["msg"]


def test_node_waits_for_the_process_of_the_new_manifest(tmp_path, server):
    port = server([200])
    manifest = node_manifest(tmp_path, "kube-scheduler", "HTTP", port, start_process=False)
    command = yaml.safe_load(open(manifest))["spec"]["containers"][0]["command"]
    done = when_module_runs(tmp_path, lambda: PROCS.append(subprocess.Popen(command)))
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-scheduler", timeout=30), tmp_path)
    # no process ran the command before: success means the module waited for the one started meanwhile
    assert rc == 0 and done and res["elapsed"] > 0, res


def test_node_refuses_a_process_older_than_the_manifest(tmp_path, server):
    port = server([200])
    manifest = node_manifest(tmp_path, "kube-scheduler", "HTTP", port)
    time.sleep(2.2)
    os.utime(manifest)  # the manifest changed after the process started: the old pod still runs
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-scheduler", timeout=1), tmp_path)
    assert rc != 0 and "started before the manifest changed" in res["msg"]


def test_node_unusable_crictl_falls_back_to_proc(tmp_path, server):
    """A crictl that cannot reach a runtime (here: a script that fails like it) must not block the check."""
    fake = tmp_path / "crictl-without-runtime"
    fake.write_text("#!/bin/sh\necho 'failed to connect: connection error' >&2\nexit 1\n")
    fake.chmod(0o755)
    port = server([200])
    manifest = node_manifest(tmp_path, "kube-scheduler", "HTTP", port)
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-scheduler", crictl=str(fake)),
                         tmp_path)
    assert rc == 0 and res["state"] == "running", res


@pytest.mark.parametrize("age,ok", [(0, True), (60, False)])
def test_node_crictl_container_must_be_newer_than_the_manifest(tmp_path, server, age, ok):
    """A FAKE crictl (a script printing `crictl ps -o json` output) reports one running container
    created `age` seconds before now; only one created after the manifest change counts."""
    port = server([200])
    manifest = node_manifest(tmp_path, "kube-scheduler", "HTTP", port, start_process=False)
    created = int((time.time() - age) * 1e9)
    fake = tmp_path / "fake-crictl"
    fake.write_text("#!/bin/sh\necho '%s'\n" % json.dumps(
        {"containers": [{"id": "0123456789abcdef", "createdAt": str(created), "state": "CONTAINER_RUNNING"}]}))
    fake.chmod(0o755)
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-scheduler", crictl=str(fake),
                                                        timeout=1), tmp_path)
    if ok:
        assert rc == 0 and "answered 200" in res["reason"], res
    else:
        assert rc != 0 and "no running kube-scheduler container newer than the manifest" in res["msg"]


def test_node_probe_never_goes_through_a_proxy(tmp_path, server, monkeypatch):
    """http(s)_proxy in the environment (a proxy that does not answer) does not take the probe away."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    port = server([200])
    manifest = node_manifest(tmp_path, "kube-scheduler", "HTTP", port)
    rc, res = run_module("static_pod_health", node_args(tmp_path, manifest, "kube-scheduler", timeout=2), tmp_path)
    assert rc == 0 and "answered 200" in res["reason"], res
