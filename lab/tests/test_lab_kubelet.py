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


def kubelet_cfg(tmp_path, **over):
    with open(KUBEADM_KUBELET_CONFIG) as handle:
        cfg = yaml.safe_load(handle)
    cfg["authentication"]["x509"]["clientCAFile"] = str(tmp_path / "ca.crt")
    (tmp_path / "ca.crt").write_text("x")
    cfg.update(over)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("over, error", [
    ({}, None),
    ({"tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]}, None),
    ({"tlsCipherSuites": ["ECDHE-RSA-AES128-GCM-SHA256"]}, "not supported or doesn't exist"),
    ({"tlsCipherSuites": ["TLS_RSA_WITH_AES_128_GCM_SHA256"]}, "insecure"),
    ({"readOnlyPort": 70000}, "readOnlyPort"),
    ({"readOnlyPort": 0}, None),
    ({"tlsMinVersion": "TLS1.2"}, "tlsMinVersion"),
    ({"tlsMinVersion": "VersionTLS12"}, None),
    ({"tlsCertFile": "/nonexistent/kubelet.crt", "tlsPrivateKeyFile": "/nonexistent/kubelet.key"}, "does not exist"),
    ({"authorization": {"mode": "RBAC"}}, "authorization mode"),
    ({"protectKernelDefaults": True}, None),
])
def test_config_refused_like_the_kubelet(tmp_path, proc_sys, over, error):
    flags = {"config": kubelet_cfg(tmp_path, **over)}
    if error is None:
        lk.load_config(flags, proc_sys=str(proc_sys))
    else:
        with pytest.raises(lk.ConfigError, match=error):
            lk.load_config(flags, proc_sys=str(proc_sys))


@pytest.mark.parametrize("sysctl, value, ok", [
    ("vm/overcommit_memory", 0, False),
    ("kernel/panic", 0, False),
    ("kernel/keys/root_maxkeys", 2000000, True),
    ("kernel/keys/root_maxbytes", 1000, False),
])
def test_protect_kernel_defaults_reads_the_sysctls(tmp_path, proc_sys, sysctl, value, ok):
    (proc_sys / sysctl).write_text("%d\n" % value)
    flags = {"config": kubelet_cfg(tmp_path, protectKernelDefaults=True)}
    if ok:
        lk.load_config(flags, proc_sys=str(proc_sys))
    else:
        with pytest.raises(lk.ConfigError, match=sysctl.replace("/", ".")):
            lk.load_config(flags, proc_sys=str(proc_sys))


def test_flag_overrides_config_file(tmp_path, proc_sys):
    flags = lk.parse_flags(["--config", kubelet_cfg(tmp_path), "--read-only-port=10255", "--hostname-override=n1"])
    assert lk.load_config(flags, proc_sys=str(proc_sys))["readOnlyPort"] == 10255
    with pytest.raises(lk.ConfigError, match="readOnlyPort"):
        lk.load_config(dict(flags, **{"read-only-port": "99999"}), proc_sys=str(proc_sys))


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
    cfg = kubelet_cfg(tmp_path, staticPodPath=str(manifests), healthzPort=port)
    kubeconfig = tmp_path / "kubelet.conf"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: k, cluster: {server: 'https://x'}}]\n")
    env = dict(os.environ, LAB_KUBELET_SPAWN="direct", LAB_KUBELET_STATE_DIR=str(tmp_path / "state"),
               LAB_KUBELET_LOG_DIR=str(tmp_path / "logs"))
    proc = subprocess.Popen([sys.executable, SCRIPT, "--config=%s" % cfg, "--kubeconfig", str(kubeconfig),
                             "--hostname-override=labtest"], env=env,
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
    for _ in range(50):
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
    if subprocess.run([ETCD, "--help"], capture_output=True, text=True).stdout.find("--tls-min-version") < 0:
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
    cfg = kubelet_cfg(tmp_path, tlsCipherSuites=["TLS_RSA_WITH_RC4_128_SHA"], healthzPort=free_port())
    res = subprocess.run([sys.executable, SCRIPT, "--config", cfg], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, LAB_KUBELET_SPAWN="direct",
                                  LAB_KUBELET_STATE_DIR=str(tmp_path / "s")))
    assert res.returncode == 1
    assert "TLS_RSA_WITH_RC4_128_SHA" in res.stderr


def test_version_prints_and_exits_without_serving():
    """kubeadm_node_info asks `kubelet --version` on workers: it must answer and exit, never serve."""
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), "..", "files", "lab-kubelet.py")
    proc = subprocess.run([sys.executable, script, "--version"], capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "Kubernetes v1.28.7"
