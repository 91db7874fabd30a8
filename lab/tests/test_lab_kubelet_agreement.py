"""The lab's kubelet stand-in refuses exactly what the REAL kubelet refuses.

Both the real kubelet binaries (.cache/k8s/v1.28.7/kubelet and v1.33.3, see
../shared/k8s/README.md) and the stand-in (lab/files/lab-kubelet.py) get the same
KubeletConfiguration file (kubeadm's own of that version, from ../shared/reference, with one
change per case) and the same command line (kubeadm-flags.env's flags plus the case's flags).

How the real kubelet's outcome is read, honestly:
* accepted: it got past flag parsing, config decoding and validation, TLS options, client CA,
  kubeconfig and authorization set-up, and stopped where it connects to the container runtime;
  the proof is its last line, ``"command failed" err="failed to run Kubelet: validate service
  connection: validate CRI v1 runtime API ..."`` (the runtime endpoint is a socket path in a
  temp dir that does not exist);
* refused: it exited with any other ``"command failed"`` error.
Anything else (no such line, a timeout) fails the test. The kubelet runs with --root-dir and
--cert-dir in a temp dir, so it writes nothing outside it (its self-signed pair lands there).

The stand-in runs with LAB_KUBELET_VALIDATE_ONLY=1: the same code path as on a lab node, up to
the point where the real kubelet meets the runtime.

What the real kubelet checks only AFTER the runtime is up cannot be compared here, and the table
does not pretend it is: protectKernelDefaults' six sysctls (container manager start) and the
serving pair tlsCertFile/tlsPrivateKeyFile (loaded when the HTTPS server starts). Both kubelets
accept those cases at this stage (the table says so); the stand-in's own refusal of them at
start-up is tested below (test_after_runtime_checks), marked as the real kubelet's later stage.
"""
import concurrent.futures
import copy
import os
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "lab", "files", "lab-kubelet.py")
VERSIONS = ("1.28.7", "1.33.3")
ACCEPTED, REFUSED = "accepted", "refused"
RUNTIME_LINE = "validate service connection"


def kubelet_bin(version):
    return os.path.join(ROOT, ".cache", "k8s", "v" + version, "kubelet")


def reference_config(version):
    return os.path.join(ROOT, "..", "shared", "reference", "kubeadm-v" + version, "var", "lib", "kubelet",
                        "config.yaml")


def missing(version):
    if not os.access(kubelet_bin(version), os.X_OK):
        return "needs the real kubelet v%s in .cache/k8s (make setup)" % version
    if not os.path.isfile(reference_config(version)):
        return "needs kubeadm's reference kubelet config in ../shared/reference/kubeadm-v%s" % version
    return None


def collection_settings():
    """What roles/kubelet writes by default (its defaults, in the shape of validate.yml's kubelet__own)."""
    with open(os.path.join(ROOT, "roles", "kubelet", "defaults", "main.yml")) as fh:
        d = yaml.safe_load(fh)
    return {
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True}},
        "authorization": {"mode": "Webhook"}, "readOnlyPort": 0,
        "tlsMinVersion": d["kubelet_tls_min_version"], "tlsCipherSuites": d["kubelet_tls_cipher_suites"],
        "streamingConnectionIdleTimeout": d["kubelet_streaming_connection_idle_timeout"],
        "eventRecordQPS": d["kubelet_event_record_qps"], "podPidsLimit": d["kubelet_pod_pids_limit"],
        "seccompDefault": d["kubelet_seccomp_default"], "makeIPTablesUtilChains": d["kubelet_make_iptables_util_chains"],
        "protectKernelDefaults": d["kubelet_protect_kernel_defaults"], "rotateCertificates": True,
        "tlsCertFile": "{d}/serving.crt", "tlsPrivateKeyFile": "{d}/serving.key",
    }


INSECURE = ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
            "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA",
            "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_RC4_128_SHA"]
SECURE = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]

# id, config change (deep-merged; None removes a key), extra flags, kubeconfig, what the REAL kubelet
# does (asserted too: the table documents it), a phrase both refusals must name. "{d}" is the case's dir.
# Versions: "both", or one version when the kubelets differ.
CASES = [
    ("kubeadm-as-written", {}, [], "ok", {"both": ACCEPTED}, None),
    ("collection-hardened", collection_settings(), [], "ok", {"both": ACCEPTED}, None),
    # cipher suites: Go's names, insecure ones only warned about; anything else refused
    ("suites-all-go-secure", {"tlsCipherSuites": SECURE}, [], "ok", {"both": ACCEPTED}, None),
    ("suites-all-go-insecure", {"tlsCipherSuites": INSECURE}, [], "ok", {"both": ACCEPTED}, None),
    ("suite-openssl-name", {"tlsCipherSuites": ["ECDHE-RSA-AES128-GCM-SHA256"]}, [], "ok", {"both": REFUSED},
     "ECDHE-RSA-AES128-GCM-SHA256"),
    ("suite-unknown", {"tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_FOO"]}, [], "ok",
     {"both": REFUSED}, "TLS_FOO"),
    ("suite-lowercase", {"tlsCipherSuites": ["tls_ecdhe_rsa_with_aes_128_gcm_sha256"]}, [], "ok", {"both": REFUSED},
     "not supported"),
    ("suites-empty", {"tlsCipherSuites": []}, [], "ok", {"both": ACCEPTED}, None),
    ("flag-suite-insecure", {}, ["--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA"], "ok", {"both": ACCEPTED}, None),
    ("flag-suite-unknown", {}, ["--tls-cipher-suites=FOO"], "ok", {"both": REFUSED}, "FOO"),
    # tlsMinVersion
    ("min-tls10", {"tlsMinVersion": "VersionTLS10"}, [], "ok", {"both": ACCEPTED}, None),
    ("min-tls13-with-suites", {"tlsMinVersion": "VersionTLS13", "tlsCipherSuites": SECURE[3:5]}, [], "ok",
     {"both": ACCEPTED}, None),
    ("min-openssl-spelling", {"tlsMinVersion": "TLS1.2"}, [], "ok", {"both": REFUSED}, "TLS1.2"),
    ("min-lowercase", {"tlsMinVersion": "versiontls12"}, [], "ok", {"both": REFUSED}, "versiontls12"),
    ("flag-min-unknown", {}, ["--tls-min-version=VersionTLS99"], "ok", {"both": REFUSED}, "VersionTLS99"),
    # ports
    ("port-0-defaults", {"port": 0}, [], "ok", {"both": ACCEPTED}, None),
    ("port-70000", {"port": 70000}, [], "ok", {"both": REFUSED}, "port (--port) 70000"),
    ("port-negative", {"port": -1}, [], "ok", {"both": REFUSED}, "port (--port) -1"),
    ("flag-port-0", {}, ["--port=0"], "ok", {"both": REFUSED}, "port (--port) 0"),
    ("readonly-0", {"readOnlyPort": 0}, [], "ok", {"both": ACCEPTED}, None),
    ("readonly-10255", {"readOnlyPort": 10255}, [], "ok", {"both": ACCEPTED}, None),
    ("readonly-negative", {"readOnlyPort": -1}, [], "ok", {"both": REFUSED}, "readOnlyPort"),
    ("readonly-70000", {"readOnlyPort": 70000}, [], "ok", {"both": REFUSED}, "readOnlyPort"),
    ("flag-readonly-99999", {}, ["--read-only-port=99999"], "ok", {"both": REFUSED}, "readOnlyPort"),
    ("flag-readonly-not-a-number", {}, ["--read-only-port=abc"], "ok", {"both": REFUSED}, "--read-only-port"),
    ("healthz-0-disables", {"healthzPort": 0}, [], "ok", {"both": ACCEPTED}, None),
    ("healthz-70000", {"healthzPort": 70000}, [], "ok", {"both": REFUSED}, "healthzPort"),
    ("healthz-negative", {"healthzPort": -5}, [], "ok", {"both": REFUSED}, "healthzPort"),
    # client CA, serving pair
    ("client-ca-missing", {"authentication": {"x509": {"clientCAFile": "{d}/none.crt"}}}, [], "ok",
     {"both": REFUSED}, "client CA file"),
    ("client-ca-not-pem", {"authentication": {"x509": {"clientCAFile": "{d}/garbage"}}}, [], "ok",
     {"both": REFUSED}, "client CA file"),
    ("client-ca-empty-string", {"authentication": {"x509": {"clientCAFile": ""}}}, [], "ok", {"both": ACCEPTED}, None),
    ("flag-client-ca-missing", {}, ["--client-ca-file={d}/none.crt"], "ok", {"both": REFUSED}, "client CA file"),
    ("serving-pair", {"tlsCertFile": "{d}/serving.crt", "tlsPrivateKeyFile": "{d}/serving.key"}, [], "ok",
     {"both": ACCEPTED}, None),
    # loaded only when the HTTPS server starts, after the runtime: see test_after_runtime_checks
    ("serving-cert-missing", {"tlsCertFile": "{d}/none.crt", "tlsPrivateKeyFile": "{d}/serving.key"}, [], "ok",
     {"both": ACCEPTED}, None),
    ("serving-key-missing", {"tlsCertFile": "{d}/serving.crt", "tlsPrivateKeyFile": "{d}/none.key"}, [], "ok",
     {"both": ACCEPTED}, None),
    ("serving-cert-only", {"tlsCertFile": "{d}/serving.crt"}, [], "ok", {"both": ACCEPTED}, None),
    ("serving-cert-not-pem", {"tlsCertFile": "{d}/garbage", "tlsPrivateKeyFile": "{d}/serving.key"}, [], "ok",
     {"both": ACCEPTED}, None),
    # decoding: unknown fields only warn; apiVersion, kind and durations are strict
    ("unknown-field", {"noSuchField": 1, "authentication": {"x509": {"extra": True}}}, [], "ok",
     {"both": ACCEPTED}, None),
    ("apiversion-v1", {"apiVersion": "kubelet.config.k8s.io/v1"}, [], "ok", {"both": REFUSED}, "kubelet.config.k8s.io/v1"),
    ("apiversion-v9", {"apiVersion": "kubelet.config.k8s.io/v9"}, [], "ok", {"both": REFUSED}, "failed to load kubelet config"),
    ("kind-wrong", {"kind": "KubeProxyConfiguration"}, [], "ok", {"both": REFUSED}, "KubeProxyConfiguration"),
    ("duration-5m", {"streamingConnectionIdleTimeout": "5m"}, [], "ok", {"both": ACCEPTED}, None),
    ("duration-words", {"streamingConnectionIdleTimeout": "5 minutes"}, [], "ok", {"both": REFUSED}, "duration"),
    ("config-file-missing", {}, ["--config={d}/none.yaml"], "ok", {"both": REFUSED}, "none.yaml"),
    # authentication / authorization
    ("authz-rbac", {"authorization": {"mode": "RBAC"}}, [], "ok", {"both": REFUSED}, "unknown authorization mode RBAC"),
    ("authz-always-allow", {"authorization": {"mode": "AlwaysAllow"}}, [], "ok", {"both": ACCEPTED}, None),
    ("authz-empty-defaults", {"authorization": {"mode": ""}}, [], "ok", {"both": ACCEPTED}, None),
    ("flag-authz-rbac", {}, ["--authorization-mode=RBAC"], "ok", {"both": REFUSED}, "unknown authorization mode"),
    ("anonymous-on", {"authentication": {"anonymous": {"enabled": True}}}, [], "ok", {"both": ACCEPTED}, None),
    ("flag-anonymous-true", {}, ["--anonymous-auth=true"], "ok", {"both": ACCEPTED}, None),
    ("flag-anonymous-not-bool", {}, ["--anonymous-auth=maybe"], "ok", {"both": REFUSED}, "--anonymous-auth"),
    # event rate limits and others the collection writes
    ("event-qps-negative", {"eventRecordQPS": -1}, [], "ok", {"both": REFUSED}, "eventRecordQPS"),
    ("event-qps-0", {"eventRecordQPS": 0}, [], "ok", {"both": ACCEPTED}, None),
    ("event-burst-negative", {"eventBurst": -1}, [], "ok", {"both": REFUSED}, "eventBurst"),
    ("flag-event-qps-negative", {}, ["--event-qps=-1"], "ok", {"both": REFUSED}, "eventRecordQPS"),
    ("pod-pids-limit-negative", {"podPidsLimit": -5}, [], "ok", {"both": ACCEPTED}, None),
    ("protect-kernel-defaults", {"protectKernelDefaults": True}, [], "ok", {"both": ACCEPTED}, None),
    ("flag-protect-kernel-defaults", {}, ["--protect-kernel-defaults"], "ok", {"both": ACCEPTED}, None),
    ("server-tls-bootstrap", {"serverTLSBootstrap": True}, [], "ok", {"both": ACCEPTED}, None),
    # kubeconfigs
    ("kubeconfig-missing", {}, [], "missing", {"both": REFUSED}, "kubeconfig"),
    ("kubeconfig-missing-no-rotation", {"rotateCertificates": False}, [], "missing", {"both": REFUSED}, "kubeconfig"),
    ("kubeconfig-missing-bootstrap-ok", {}, ["--bootstrap-kubeconfig={d}/kubeconfig"], "missing",
     {"both": ACCEPTED}, None),
    ("kubeconfig-missing-bootstrap-missing", {}, ["--bootstrap-kubeconfig={d}/none.conf"], "missing",
     {"both": REFUSED}, "bootstrap kubeconfig"),
    ("kubeconfig-not-yaml", {}, [], "garbage", {"both": REFUSED}, "kubeconfig"),
    ("kubeconfig-empty", {}, [], "empty", {"both": REFUSED}, "no configuration has been provided"),
    ("kubeconfig-no-current-context", {}, [], "nocurrent", {"both": REFUSED}, "no configuration has been provided"),
    ("kubeconfig-unknown-context", {}, [], "badcurrent", {"both": REFUSED}, "context was not found"),
    ("kubeconfig-client-key-missing", {}, [], "nokey", {"both": REFUSED}, "client-key"),
    ("no-kubeconfig-webhook", {}, [], "none", {"both": REFUSED}, "no client provided"),
    ("no-kubeconfig-standalone", {"authentication": {"webhook": {"enabled": False}},
                                  "authorization": {"mode": "AlwaysAllow"}}, [], "none", {"both": ACCEPTED}, None),
    # flags (kubeadm-flags.env's are on every command line)
    ("flag-unknown", {}, ["--no-such-flag=1"], "ok", {"both": REFUSED}, "unknown flag: --no-such-flag"),
    ("flag-positional", {}, ["stray"], "ok", {"both": REFUSED}, "unknown command stray"),
    ("flag-hostname-override-empty", {}, ["--hostname-override="], "ok", {"both": ACCEPTED}, None),
    ("flag-readonly-10255", {}, ["--read-only-port=10255"], "ok", {"both": ACCEPTED}, None),
    ("flag-keep-terminated-pod-volumes", {}, ["--keep-terminated-pod-volumes"], "ok",
     {"1.28.7": ACCEPTED, "1.33.3": REFUSED}, "keep-terminated-pod-volumes"),
    ("flag-fail-cgroupv1", {}, ["--fail-cgroupv1=false"], "ok", {"1.28.7": REFUSED, "1.33.3": ACCEPTED},
     "fail-cgroupv1"),
    ("flag-value-as-next-argument", {}, ["--read-only-port", "0", "--v", "2"], "ok", {"both": ACCEPTED}, None),
]


def deep_merge(base, over):
    for key, value in over.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def fill(value, d):
    if isinstance(value, str):
        return value.replace("{d}", d)
    if isinstance(value, list):
        return [fill(v, d) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, d) for k, v in value.items()}
    return value


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def kubeconfig_text(kind, d):
    ok = {"apiVersion": "v1", "kind": "Config",
          # port 1 on loopback: nothing listens, connections are refused at once
          "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority": d + "/ca.crt"}}],
          "users": [{"name": "u", "user": {"client-certificate": d + "/client.crt", "client-key": d + "/client.key"}}],
          "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}], "current-context": "c"}
    if kind == "garbage":
        return ": : not yaml ["
    if kind == "empty":
        return "apiVersion: v1\nkind: Config\n"
    if kind == "nocurrent":
        ok.pop("current-context")
    if kind == "badcurrent":
        ok["current-context"] = "zz"
    if kind == "nokey":
        ok["users"][0]["user"]["client-key"] = d + "/none.key"
    return yaml.safe_dump(ok)


def prepare(version, case, tmp, who):
    """The case's own directory for one of the two kubelets: each gets a copy, because the real kubelet
    writes into it (with a bootstrap kubeconfig it writes --kubeconfig, pointing at a client cert that
    never comes), and the two run at the same time."""
    name, over, flags, kubeconfig, dummy, dummy = case
    d = str(tmp / ("%s-%s-%s" % (version, name, who)))
    os.makedirs(d)
    common = tmp / "pki"
    if not common.is_dir():
        common.mkdir()
        for leaf in ("ca", "client", "serving"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "%s/%s.key" % (common, leaf),
                    "-out", "%s/%s.crt" % (common, leaf), "-subj", "/CN=agreement-%s" % leaf, "-days", "2")
        (common / "garbage").write_text("not a certificate\n")
    for item in common.iterdir():
        shutil.copy(str(item), d)
    with open(reference_config(version)) as fh:
        cfg = yaml.safe_load(fh)
    deep_merge(cfg, {"authentication": {"x509": {"clientCAFile": d + "/ca.crt"}}, "staticPodPath": d + "/manifests",
                     # no container runtime here: a socket path that does not exist
                     "containerRuntimeEndpoint": "unix://%s/cri.sock" % d, "address": "127.0.0.1"})
    deep_merge(cfg, fill(over, d))
    with open(d + "/config.yaml", "w") as fh:
        yaml.safe_dump(cfg, fh)
    if kubeconfig not in ("missing", "none"):
        with open(d + "/kubeconfig", "w") as fh:
            fh.write(kubeconfig_text(kubeconfig, d))
    elif "--bootstrap-kubeconfig={d}/kubeconfig" in flags:
        with open(d + "/bootstrap.conf", "w") as fh:
            fh.write(kubeconfig_text("ok", d))
        flags = ["--bootstrap-kubeconfig={d}/bootstrap.conf"]
    # kubeadm-flags.env of that version (the runtime endpoint comes from the config file instead)
    with open(os.path.join(os.path.dirname(reference_config(version)), "kubeadm-flags.env")) as fh:
        env = fh.read().split('"')[1].split()
    argv = ["--config=%s/config.yaml" % d]
    if kubeconfig != "none":
        argv.append("--kubeconfig=%s/kubeconfig" % d)
    argv += [f for f in env if not f.startswith("--container-runtime-endpoint")]
    argv += ["--root-dir=%s/root" % d, "--cert-dir=%s/root/pki" % d]
    argv += fill(list(flags), d)
    return d, argv


def run_real(version, argv):
    try:
        res = subprocess.run([kubelet_bin(version)] + argv, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "timeout", "no verdict within 60s"
    failed = [line for line in (res.stderr + res.stdout).splitlines() if '"command failed"' in line]
    if res.returncode != 0 and failed:
        err = failed[-1].split('err="', 1)[-1]
        return (ACCEPTED if RUNTIME_LINE in err else REFUSED), err
    return "unclear", "rc=%s, no \"command failed\" line:\n%s" % (res.returncode, res.stderr[-2000:])


def run_standin(version, argv, d):
    env = dict(os.environ, LAB_KUBELET_VALIDATE_ONLY="1", LAB_KUBELET_VERSION="v" + version,
               LAB_KUBELET_STATE_DIR=d + "/state", LAB_KUBELET_SPAWN="direct")
    res = subprocess.run([sys.executable, SCRIPT] + argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    if res.returncode == 0 and "configuration accepted" in res.stderr:
        return ACCEPTED, res.stderr
    if res.returncode == 1 and "command failed" in res.stderr:
        return REFUSED, res.stderr
    return "unclear", "rc=%s\n%s" % (res.returncode, res.stderr)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case at both versions, run once (four at a time: each real kubelet takes about a second)."""
    tmp = tmp_path_factory.mktemp("agreement")
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for version in VERSIONS:
            if missing(version):
                continue
            for case in CASES:
                dummy, real_argv = prepare(version, case, tmp, "real")
                d, argv = prepare(version, case, tmp, "standin")
                jobs[(version, case[0])] = (pool.submit(run_real, version, real_argv),
                                            pool.submit(run_standin, version, argv, d))
        return {key: (real.result(), standin.result()) for key, (real, standin) in jobs.items()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_standin_agrees_with_the_real_kubelet(outcomes, version, case):
    why = missing(version)
    if why:
        if os.environ.get("K8S_REQUIRE_REAL") == "1":
            pytest.fail("K8S_REQUIRE_REAL=1 but " + why)
        pytest.skip(why)
    name, dummy, dummy, dummy, expected, phrase = case
    (real, real_err), (standin, standin_err) = outcomes[(version, name)]
    want = expected.get(version, expected.get("both"))
    assert real == want, "the real kubelet v%s: %s (expected %s): %s" % (version, real, want, real_err)
    assert standin == real, "the stand-in says %s, the real kubelet v%s says %s (%s)\nstand-in: %s" % (
        standin, version, real, real_err, standin_err)
    if real == REFUSED and phrase:
        assert phrase in real_err.replace('\\"', '"'), real_err
        assert phrase in standin_err, standin_err


# --------------------------------------------------------------------------- after the runtime
@pytest.mark.parametrize("name, expect", [
    ("serving-cert-missing", "serving certificate"),
    ("serving-key-missing", "serving certificate"),
    ("serving-cert-only", "serving certificate"),
    ("serving-cert-not-pem", "serving certificate"),
    ("protect-kernel-defaults", "invalid kernel flag"),
])
def test_after_runtime_checks(tmp_path, name, expect):
    """Checks the real kubelet makes once the runtime is up (container manager start, HTTPS server
    start); both kubelets pass them at the validation stage above. The stand-in, which has no
    runtime stage, makes them at start-up and exits as the real kubelet would at that later point."""
    case = [c for c in CASES if c[0] == name][0]
    d, argv = prepare("1.33.3", case, tmp_path, "standin")
    proc_sys = tmp_path / "proc_sys"
    for key in ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic"):
        (proc_sys / key).parent.mkdir(parents=True, exist_ok=True)
        (proc_sys / key).write_text("0\n")
    argv = [a for a in argv if not a.startswith("--config=")] + ["--config=%s/config.yaml" % d]
    with open(d + "/config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg.update({"port": free_port(), "healthzPort": free_port()})
    with open(d + "/config.yaml", "w") as fh:
        yaml.safe_dump(cfg, fh)
    env = dict(os.environ, LAB_KUBELET_VERSION="v1.33.3", LAB_KUBELET_STATE_DIR=d + "/state",
               LAB_KUBELET_SPAWN="direct", LAB_KUBELET_PROC_SYS=str(proc_sys))
    res = subprocess.run([sys.executable, SCRIPT] + argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert res.returncode == 1, res.stderr
    assert expect in res.stderr


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
