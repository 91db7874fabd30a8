"""The lab's kubelet stand-in (lab/files/lab-kubelet.py), on this host.

Pure parts are called directly; the static pod runner is started as a real
process (LAB_KUBELET_SPAWN=direct: child processes instead of systemd units,
since this host has no systemd) and runs Debian's real etcd from manifests on
127.0.0.1 high ports in temp dirs.
"""
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "files", "lab-kubelet.py")
spec = importlib.util.spec_from_file_location("lab_kubelet", SCRIPT)
lk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lk)

KUBEADM_KUBELET_CONFIG = os.path.join(os.path.dirname(HERE), "templates", "v1.33.3", "kubelet-config.yaml.j2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def proc_sys(tmp_path):
    good = {"vm/overcommit_memory": 1, "vm/panic_on_oom": 0, "kernel/panic": 10, "kernel/panic_on_oops": 1,
            "kernel/keys/root_maxkeys": 1000000, "kernel/keys/root_maxbytes": 25000000}
    for name, value in good.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("%d\n" % value)
    return tmp_path


def kubeconfig(tmp_path):
    path = tmp_path / "kubelet.conf"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: k, cluster: {server: 'https://x'}}]\n"
                    "contexts: [{name: c, context: {cluster: k}}]\ncurrent-context: c\n")
    return str(path)


def kubelet_cfg(tmp_path, **over):
    with open(KUBEADM_KUBELET_CONFIG) as handle:
        cfg = yaml.safe_load(handle)
    cfg["authentication"]["x509"]["clientCAFile"] = str(tmp_path / "ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "ca.key"),
                    "-out", str(tmp_path / "ca.crt"), "-subj", "/CN=ca", "-days", "1"], check=True, capture_output=True)
    cfg.update(over)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _load(flags, proc_sys):
    """The stand-in's start-up checks: validation (as the real kubelet's, see the agreement test),
    then the after-runtime kernel check."""
    argv = ["--%s=%s" % item for item in flags.items()]
    dummy, cfg = lk.validate(argv)
    bad = lk.kernel_problems(cfg, proc_sys)
    if bad:
        raise lk.ConfigError("; ".join(bad))
    return cfg


@pytest.mark.parametrize("sysctl, value, ok", [
    ("vm/overcommit_memory", 0, False),
    ("kernel/panic", 0, False),
    ("kernel/keys/root_maxkeys", 2000000, True),
    ("kernel/keys/root_maxbytes", 1000, False),
])
def test_protect_kernel_defaults_reads_the_sysctls(tmp_path, proc_sys, sysctl, value, ok):
    (proc_sys / sysctl).write_text("%d\n" % value)
    flags = {"config": kubelet_cfg(tmp_path, protectKernelDefaults=True), "kubeconfig": kubeconfig(tmp_path)}
    if ok:
        _load(flags, str(proc_sys))
    else:
        with pytest.raises(lk.ConfigError, match=sysctl.replace("/", ".")):
            _load(flags, str(proc_sys))


def test_flag_overrides_config_file(tmp_path, proc_sys):
    argv = ["--config", kubelet_cfg(tmp_path), "--kubeconfig", kubeconfig(tmp_path), "--read-only-port=10255",
            "--hostname-override=n1"]
    assert lk.validate(argv)[1]["readOnlyPort"] == 10255
    with pytest.raises(lk.ConfigError, match="readOnlyPort"):
        lk.validate(argv + ["--read-only-port=99999"])


def test_cipher_tables_are_the_kubelets_not_the_collections():
    """The stand-in accepts every Go name (insecure ones too, as the real kubelet does); the
    collection's _tls allow-lists are a policy, not what the kubelet takes."""
    assert "TLS_RSA_WITH_RC4_128_SHA" in lk.GO_INSECURE_CIPHER_SUITES
    assert not lk.GO_CIPHER_SUITES & lk.GO_INSECURE_CIPHER_SUITES


@pytest.mark.parametrize("argv, problem", [
    (["x", "--tls-cert-file={d}/pki/a.crt"], None),
    (["x", "--tls-cert-file={d}/pki/missing.crt"], "does not exist on the node"),
    (["x", "--audit-policy-file=/etc/elsewhere/policy.yaml"], "not under any volumeMount"),
    (["x", "--audit-log-path={d}/pki/logs/audit.log"], "directory of"),
    (["x", "--audit-log-path={d}/pki/audit.log"], None),
    (["x", "--etcd-prefix=/registry", "--etcd-servers=https://127.0.0.1:2379"], None),
    (["x", "--client-ca-file={d}/pki/a.crt,{d}/pki/b.crt"], "b.crt does not exist"),
])
def test_paths_must_lie_under_existing_mounts(tmp_path, argv, problem):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "a.crt").write_text("x")
    mounts = [{"name": "k8s-certs", "mountPath": str(tmp_path / "pki"), "hostPath": str(tmp_path / "pki"),
               "type": "DirectoryOrCreate"}]
    problems = lk.path_problems([a.format(d=tmp_path) for a in argv], mounts)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_undefined_flag_from_go_flag_output():
    assert lk.undefined_flag(["x", "flag provided but not defined: -tls-min-version"]) == "tls-min-version"
    assert lk.undefined_flag(["all fine"]) is None


# --------------------------------------------------------------------------- the runner, for real
ETCD = shutil.which("etcd")


def etcd_manifest(tmp, client_port, peer_port, extra=(), name="etcd"):
    data = tmp / "etcd-data"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {
            "containers": [{
                "name": "etcd",
                "command": ["etcd", "--name=lab", "--data-dir=%s" % data,
                            "--listen-client-urls=http://127.0.0.1:%d" % client_port,
                            "--advertise-client-urls=http://127.0.0.1:%d" % client_port,
                            "--listen-peer-urls=http://127.0.0.1:%d" % peer_port,
                            "--initial-advertise-peer-urls=http://127.0.0.1:%d" % peer_port,
                            "--initial-cluster=lab=http://127.0.0.1:%d" % peer_port] + list(extra),
                "startupProbe": {"httpGet": {"host": "127.0.0.1", "port": client_port, "path": "/health",
                                             "scheme": "HTTP"}},
                "volumeMounts": [{"name": "etcd-data", "mountPath": str(data)}],
            }],
            "volumes": [{"name": "etcd-data", "hostPath": {"path": str(data), "type": "DirectoryOrCreate"}}],
        },
    }


@pytest.fixture
def runner(tmp_path, proc_sys):
    if ETCD is None:
        pytest.skip("Debian's etcd is not installed on this host")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    port = free_port()
    cfg = kubelet_cfg(tmp_path, staticPodPath=str(manifests), healthzPort=port, port=free_port(),
                      address="127.0.0.1")
    env = dict(os.environ, LAB_KUBELET_SPAWN="direct", LAB_KUBELET_STATE_DIR=str(tmp_path / "state"),
               LAB_KUBELET_LOG_DIR=str(tmp_path / "logs"))
    proc = subprocess.Popen([sys.executable, SCRIPT, "--config=%s" % cfg, "--kubeconfig", kubeconfig(tmp_path),
                             "--hostname-override=labtest", "--cert-dir=%s" % (tmp_path / "pki")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield {"dir": manifests, "state": tmp_path / "state", "healthz": port, "tmp": tmp_path, "proc": proc}
    proc.terminate()
    proc.wait(15)


def wait_state(runner, name, pred, timeout=40):
    path = runner["state"] / ("%s.json" % name)
    last = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            last = json.loads(path.read_text())
            if pred(last):
                return last
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError("pod %s never matched; last state %r" % (name, last))


def write_manifest(runner, doc, name="etcd.yaml"):
    path = runner["dir"] / name
    data = yaml.safe_dump(doc, sort_keys=False).encode()
    path.write_bytes(data)
    import hashlib
    return hashlib.sha256(data).hexdigest()


def test_runner_runs_etcd_for_real_and_follows_the_manifest(runner):
    for dummy in range(50):
        try:
            assert urllib.request.urlopen("http://127.0.0.1:%d/healthz" % runner["healthz"]).read() == b"ok"
            break
        except OSError:
            time.sleep(0.2)
    else:
        raise AssertionError("no /healthz")
    client, peer = free_port(), free_port()
    sha = write_manifest(runner, etcd_manifest(runner["tmp"], client, peer))
    st = wait_state(runner, "etcd", lambda s: s["state"] == "running" and s["manifest_sha256"] == sha)
    assert st["simulated"] is False and st["dropped_flags"] == []
    with open("/proc/%d/cmdline" % st["pid"]) as handle:
        assert handle.read().split("\0")[0] == ETCD
    first_pid = st["pid"]

    # a flag this etcd (3.4) does not know but etcd 3.5 does: dropped, recorded, still running
    sha = write_manifest(runner, etcd_manifest(runner["tmp"], client, peer, ["--tls-min-version=TLS1.2"]))
    st = wait_state(runner, "etcd", lambda s: s["state"] == "running" and s["manifest_sha256"] == sha)
    if subprocess.run([ETCD, "--help"], capture_output=True, text=True, check=False).stdout.find("--tls-min-version") < 0:
        assert st["dropped_flags"] == ["tls-min-version"]
    assert st["pid"] != first_pid

    # a flag no etcd knows: the pod crashloops with etcd's own words as reason
    sha = write_manifest(runner, etcd_manifest(runner["tmp"], client, peer, ["--no-such-flag=1"]))
    st = wait_state(runner, "etcd", lambda s: s["state"] == "crashloop" and s["manifest_sha256"] == sha)
    assert "no-such-flag" in st["reason"]

    # a path outside every mount: invalid, nothing started
    doc = etcd_manifest(runner["tmp"], client, peer, ["--cert-file=/etc/nowhere/server.crt"])
    sha = write_manifest(runner, doc)
    st = wait_state(runner, "etcd", lambda s: s["manifest_sha256"] == sha and s["state"] != "pending")
    assert st["state"] == "invalid" and "not under any volumeMount" in st["reason"]

    # dotfiles and other suffixes are ignored; a deleted manifest's state goes away
    write_manifest(runner, etcd_manifest(runner["tmp"], client, peer, name="ignored"), name=".etcd.yaml.swp")
    write_manifest(runner, etcd_manifest(runner["tmp"], client, peer, name="ignored2"), name="etcd.yaml.bak")
    (runner["dir"] / "etcd.yaml").unlink()
    deadline = time.time() + 10
    while (runner["state"] / "etcd.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert not (runner["state"] / "etcd.json").exists()
    assert not (runner["state"] / "ignored.json").exists()
    assert not (runner["state"] / "ignored2.json").exists()


def test_runner_simulates_a_component_whose_binary_is_absent(runner):
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-scheduler"},
           "spec": {"containers": [{"name": "kube-scheduler",
                                    "command": ["kube-scheduler-not-installed", "--bind-address=127.0.0.1"]}]}}
    sha = write_manifest(runner, doc, name="kube-scheduler.yaml")
    st = wait_state(runner, "kube-scheduler", lambda s: s["manifest_sha256"] == sha)
    assert st["state"] == "running" and st["simulated"] is True and st["pid"] is None


def test_runner_refuses_to_start_on_a_bad_config(tmp_path, proc_sys):
    cfg = kubelet_cfg(tmp_path, tlsCipherSuites=["TLS_NO_SUCH_SUITE"], healthzPort=free_port())
    res = subprocess.run([sys.executable, SCRIPT, "--config", cfg, "--kubeconfig", kubeconfig(tmp_path)],
                         capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, LAB_KUBELET_SPAWN="direct",
                                  LAB_KUBELET_STATE_DIR=str(tmp_path / "s")), check=False)
    assert res.returncode == 1
    assert "TLS_NO_SUCH_SUITE" in res.stderr


def test_version_prints_and_exits_without_serving():
    """kubeadm_facts asks `kubelet --version` on workers: it must answer and exit, never serve."""
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), "..", "files", "lab-kubelet.py")
    proc = subprocess.run([sys.executable, script, "--version"], capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "Kubernetes v1.28.7"


# --------------------------------------------------------------------------- the kubelet port (HTTPS)
def _openssl(*args):
    subprocess.run(["openssl"] + [str(a) for a in args], check=True, capture_output=True)


def _ca(d, name):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d / (name + ".key"), "-out", d / (name + ".crt"),
             "-subj", "/CN=" + name, "-days", "2")


def _leaf(d, name, ca, ext):
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", d / (name + ".key"), "-out", d / (name + ".csr"),
             "-subj", "/CN=" + name)
    (d / (name + ".ext")).write_text(ext + "\n")
    _openssl("x509", "-req", "-in", d / (name + ".csr"), "-CA", d / (ca + ".crt"), "-CAkey", d / (ca + ".key"),
             "-CAcreateserial", "-out", d / (name + ".crt"), "-days", "2", "-extfile", d / (name + ".ext"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "cluster-ca")
    _ca(d, "other-ca")
    _leaf(d, "serving", "cluster-ca", "subjectAltName=DNS:labtest,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    _leaf(d, "apiserver-kubelet-client", "cluster-ca", "extendedKeyUsage=clientAuth")
    _leaf(d, "stranger", "other-ca", "extendedKeyUsage=clientAuth")
    return d


def _start(tmp_path, pki, **over):
    port = free_port()
    settings = {"port": port, "address": "127.0.0.1", "healthzPort": 0,
                "tlsCertFile": str(pki / "serving.crt"), "tlsPrivateKeyFile": str(pki / "serving.key")}
    settings.update(over)
    settings = {k: v for k, v in settings.items() if v is not None}
    cfg = kubelet_cfg(tmp_path, **settings)
    with open(cfg) as fh:
        doc = yaml.safe_load(fh)
    doc["authentication"]["x509"]["clientCAFile"] = str(pki / "cluster-ca.crt")
    doc["authentication"].update(over.pop("authentication", {}) if "authentication" in over else {})
    with open(cfg, "w") as fh:
        yaml.safe_dump(doc, fh)
    env = dict(os.environ, LAB_KUBELET_SPAWN="direct", LAB_KUBELET_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, SCRIPT, "--config", cfg, "--kubeconfig", kubeconfig(tmp_path),
                             "--hostname-override=labtest", "--cert-dir=%s" % (tmp_path / "pki")],
                            env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the stand-in never listened on %d" % port)


def _get(port, pki, client=None, path="/healthz", **tls):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki / "cluster-ca.crt"))
    for key, value in tls.items():
        if key == "ciphers":
            ctx.set_ciphers(value)
        else:
            setattr(ctx, key, value)
    if client:
        ctx.load_cert_chain(str(pki / (client + ".crt")), str(pki / (client + ".key")))
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (port, path))
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _stop(proc):
    proc.terminate()
    proc.wait(15)


def test_kubelet_port_serves_healthz_to_x509_clients_only(tmp_path, pki):
    import ssl
    proc, port = _start(tmp_path, pki)
    try:
        assert _get(port, pki, "apiserver-kubelet-client") == (200, "ok")
        status, body = _get(port, pki, "apiserver-kubelet-client", "/configz")
        assert status == 200 and json.loads(body)["kubeletconfig"]["port"] == port
        status, body = _get(port, pki, "apiserver-kubelet-client", "/pods")
        assert status == 200 and json.loads(body)["kind"] == "PodList"
        assert _get(port, pki)[0] == 401                       # anonymous: authentication.anonymous.enabled false
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _get(port, pki, "stranger")                         # a client cert from another CA: handshake refused
    finally:
        _stop(proc)


def test_kubelet_port_honours_tls_min_version_and_cipher_suites(tmp_path, pki):
    import ssl
    proc, port = _start(tmp_path, pki, tlsMinVersion="VersionTLS12",
                        tlsCipherSuites=["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
    try:
        tls12 = {"maximum_version": ssl.TLSVersion.TLSv1_2}
        assert _get(port, pki, "apiserver-kubelet-client", ciphers="ECDHE-RSA-AES128-GCM-SHA256", **tls12)[0] == 200
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _get(port, pki, "apiserver-kubelet-client", ciphers="ECDHE-RSA-AES256-GCM-SHA384", **tls12)
    finally:
        _stop(proc)
    proc, port = _start(tmp_path, pki, tlsMinVersion="VersionTLS13", tlsCipherSuites=None)
    try:
        assert _get(port, pki, "apiserver-kubelet-client")[0] == 200
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _get(port, pki, "apiserver-kubelet-client", maximum_version=ssl.TLSVersion.TLSv1_2)
    finally:
        _stop(proc)


def test_kubelet_port_self_signed_without_a_serving_pair(tmp_path, pki):
    """No tlsCertFile/tlsPrivateKeyFile: a self-signed pair in --cert-dir, as the real kubelet makes."""
    import ssl
    proc, port = _start(tmp_path, pki, tlsCertFile=None, tlsPrivateKeyFile=None)
    try:
        crt, key = tmp_path / "pki" / "kubelet.crt", tmp_path / "pki" / "kubelet.key"
        assert crt.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"
        with pytest.raises(urllib.error.URLError) as err:        # not signed by the cluster CA
            _get(port, pki, "apiserver-kubelet-client")
        assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
        served = ssl.get_server_certificate(("127.0.0.1", port))
        assert served.strip() == crt.read_text().strip()
    finally:
        _stop(proc)


def test_kubelet_port_anonymous_when_enabled(tmp_path, pki):
    proc, port = _start(tmp_path, pki, authorization={"mode": "AlwaysAllow"},
                        authentication={"anonymous": {"enabled": True}, "webhook": {"enabled": True},
                                        "x509": {}})
    try:
        assert _get(port, pki) == (200, "ok")
    finally:
        _stop(proc)
