"""The kubelet_config and kubelet_flags module shells, run for real on temp files."""
import os
import shutil
import stat

import yaml

from .modrun import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kubelet")

CIS = {
    "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True}},
    "authorization": {"mode": "Webhook"},
    "readOnlyPort": 0,
    "streamingConnectionIdleTimeout": "5m",
    "eventRecordQPS": 5,
    "tlsMinVersion": "VersionTLS12",
    "tlsCipherSuites": ["ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
}


def _copy(tmp_path, name):
    """The reference file, its clientCAFile pointed at a real file in tmp_path (the module checks it exists)."""
    dest = tmp_path / name
    shutil.copy(os.path.join(FIXTURES, name), dest)
    if name == "config.yaml":
        (tmp_path / "ca.crt").write_text("not parsed\n")
        dest.write_text(dest.read_text().replace("/etc/kubernetes/pki/ca.crt", str(tmp_path / "ca.crt")))
    os.chmod(dest, 0o644)
    return dest


def test_check_apply_idempotent(tmp_path):
    conf = _copy(tmp_path, "config.yaml")
    original = conf.read_bytes()
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": CIS}, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is True
    assert conf.read_bytes() == original and stat.S_IMODE(conf.stat().st_mode) == 0o644, "check mode wrote"
    paths = [c["path"] for c in res["changes"]]
    assert paths == ["eventRecordQPS", "readOnlyPort", "streamingConnectionIdleTimeout", "tlsCipherSuites",
                     "tlsMinVersion"]
    assert 'streamingConnectionIdleTimeout: "0s" -> "5m"' in res["diff"]["before_header"]
    assert "streamingConnectionIdleTimeout: 5m" in res["diff"]["after"]
    assert "streamingConnectionIdleTimeout: 0s" in res["diff"]["before"]

    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": CIS, "backup_dir": str(tmp_path / "bk")},
                         tmp_path)
    assert rc == 0 and res["changed"] is True and res["content_changed"] is True
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600, "CIS 4.1.9"
    assert open(res["backup_file"], "rb").read() == original
    doc = yaml.safe_load(conf.read_text())
    base = yaml.safe_load(original)
    assert list(doc)[:len(base)] == list(base), "unmanaged keys keep their order"
    assert doc["tlsCipherSuites"] == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"], \
        "OpenSSL names mapped, CHACHA in the spelling kube-bench 4.2.12 accepts"
    assert doc["clusterDNS"] == ["10.96.0.10"] and doc["staticPodPath"] == "/etc/kubernetes/manifests"

    written = conf.read_bytes()
    mtime = conf.stat().st_mtime_ns
    for check in (True, False):
        rc, res = run_module("kubelet_config", {"path": str(conf), "settings": CIS}, tmp_path, check_mode=check)
        assert rc == 0 and res["changed"] is False and res["changes"] == []
    assert conf.read_bytes() == written and conf.stat().st_mtime_ns == mtime, "unchanged file rewritten"


def test_comments_and_formatting_do_not_cause_rewrite(tmp_path):
    conf = tmp_path / "config.yaml"
    conf.write_text("# managed by hand\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                    "readOnlyPort:   0\n")
    os.chmod(conf, 0o600)
    before = conf.read_bytes()
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": {"readOnlyPort": 0}}, tmp_path)
    assert rc == 0 and res["changed"] is False and conf.read_bytes() == before


def test_mode_fix_alone_is_changed_but_not_content(tmp_path):
    conf = _copy(tmp_path, "config.yaml")
    rc, res = run_module("kubelet_config", {"path": str(conf)}, tmp_path)
    assert rc == 0 and res["changed"] is True and res["content_changed"] is False
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


def _assert_fails_untouched(tmp_path, settings, needle):
    conf = _copy(tmp_path, "config.yaml")
    before = conf.read_bytes()
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": settings}, tmp_path)
    assert rc != 0 and res.get("failed") and needle in res["msg"], res
    assert conf.read_bytes() == before and stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["ca.crt", "config.yaml", "kubelet_config-args.json"], "no backup, no temp file"


def test_bad_cipher_fails_byte_identical(tmp_path):
    _assert_fails_untouched(tmp_path, dict(CIS, tlsCipherSuites=["TLS_RSA_WITH_AES_128_GCM_SHA256"]),
                            "TLS_RSA_WITH_AES_128_GCM_SHA256")


def test_negative_port_fails_byte_identical(tmp_path):
    _assert_fails_untouched(tmp_path, dict(CIS, readOnlyPort=-1), "readOnlyPort")


def test_zero_idle_timeout_and_typo_fail(tmp_path):
    _assert_fails_untouched(tmp_path, {"streamingConnectionIdleTimeout": "0s"}, "non-zero")


def test_typo_key_fails(tmp_path):
    _assert_fails_untouched(tmp_path, {"readonlyport": 0}, "readonlyport is not a KubeletConfiguration field")


def test_missing_file_fails_unless_create(tmp_path):
    conf = tmp_path / "new.yaml"
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": {"readOnlyPort": 0}}, tmp_path)
    assert rc != 0 and "does not exist" in res["msg"] and not conf.exists()
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": {"readOnlyPort": 0}, "create": True},
                         tmp_path)
    assert rc == 0 and res["changed"]
    assert yaml.safe_load(conf.read_text()) == {"apiVersion": "kubelet.config.k8s.io/v1beta1",
                                                "kind": "KubeletConfiguration", "readOnlyPort": 0}


def test_flags_env_check_apply_idempotent(tmp_path):
    env = _copy(tmp_path, "kubeadm-flags.env")
    env.write_text(env.read_text().replace('"\n', ' --read-only-port=10255 --anonymous-auth=true"\n'))
    dropin = tmp_path / "10-kubeadm.conf"
    dropin.write_text("[Service]\nExecStart=/usr/bin/kubelet --authorization-mode=AlwaysAllow\n")
    before = env.read_bytes()
    args = {"path": str(env), "scan_files": [str(dropin), str(tmp_path / "absent.conf")]}
    rc, res = run_module("kubelet_flags", args, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] and env.read_bytes() == before
    assert [f["flag"] for f in res["removed"]] == ["read-only-port", "anonymous-auth"]
    assert [(f["flag"], f["file"]) for f in res["reported"]] == [("hostname-override", str(env)),
                                                                 ("authorization-mode", str(dropin))]
    rc, res = run_module("kubelet_flags", args, tmp_path)
    assert rc == 0 and res["changed"] and open(res["backup_file"], "rb").read() == before
    assert env.read_text() == ('KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/'
                               'containerd.sock --hostname-override=cp1 --pod-infra-container-image='
                               'registry.k8s.io/pause:3.9"\n')
    assert stat.S_IMODE(env.stat().st_mode) == 0o644, "the env file keeps its mode"
    rc, res = run_module("kubelet_flags", args, tmp_path)
    assert rc == 0 and res["changed"] is False and res["removed"] == []


def test_flags_env_missing_file_is_not_an_error(tmp_path):
    rc, res = run_module("kubelet_flags", {"path": str(tmp_path / "none.env")}, tmp_path)
    assert rc == 0 and res["changed"] is False


def test_missing_client_ca_fails_untouched(tmp_path):
    _assert_fails_untouched(tmp_path, {"authentication": {"x509": {"clientCAFile": str(tmp_path / "nope.crt")}}},
                            "nope.crt does not exist on this node")


def test_flags_in_the_admins_env_file_are_removed_too(tmp_path):
    # kubeadm's drop-in reads KUBELET_EXTRA_ARGS from /etc/default/kubelet: a weak flag there wins over the
    # config file just as one in kubeadm-flags.env does.
    env = _copy(tmp_path, "kubeadm-flags.env")
    kubeadm_before = env.read_bytes()
    extra = tmp_path / "default-kubelet"
    extra.write_text('# mine\nKUBELET_EXTRA_ARGS="--node-labels=tier=db --anonymous-auth=true"\nOTHER=1\n')
    os.chmod(extra, 0o640)
    extra_before = extra.read_bytes()
    args = {"path": str(env), "backup_dir": str(tmp_path / "backups"), "backup_keep": 3,
            "extra_env_files": [{"path": str(extra)}, {"path": str(tmp_path / "sysconfig-kubelet")}]}
    rc, res = run_module("kubelet_flags", args, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] and res["changed_files"] == [str(extra)]
    assert extra.read_bytes() == extra_before and env.read_bytes() == kubeadm_before
    assert [(f["flag"], f["file"]) for f in res["removed"]] == [("anonymous-auth", str(extra))]
    assert "--anonymous-auth=true" in res["diff"]["before"] and "--anonymous-auth" not in res["diff"]["after"]
    rc, res = run_module("kubelet_flags", args, tmp_path)
    assert rc == 0 and res["changed"] and len(res["backup_files"]) == 1
    assert open(res["backup_files"][0], "rb").read() == extra_before
    assert extra.read_text() == '# mine\nKUBELET_EXTRA_ARGS="--node-labels=tier=db"\nOTHER=1\n'
    assert stat.S_IMODE(extra.stat().st_mode) == 0o640, "the admin's file keeps its mode"
    assert env.read_bytes() == kubeadm_before
    rc, res = run_module("kubelet_flags", args, tmp_path)
    assert rc == 0 and res["changed"] is False


def test_a_bad_env_file_fails_before_any_file_is_written(tmp_path):
    env = _copy(tmp_path, "kubeadm-flags.env")
    env.write_text(env.read_text().replace('"\n', ' --read-only-port=10255"\n'))
    before = env.read_bytes()
    extra = tmp_path / "default-kubelet"
    extra.write_text('KUBELET_EXTRA_ARGS="--anonymous-auth=true\n')   # unbalanced quote
    rc, res = run_module("kubelet_flags", {"path": str(env), "extra_env_files": [{"path": str(extra)}]}, tmp_path)
    assert rc != 0 and str(extra) in res["msg"] and "nothing written" in res["msg"]
    assert env.read_bytes() == before, "the first file is not written when a later one cannot be parsed"


def test_serving_pair_written_in_the_same_run_counts_as_present(tmp_path):
    """tlsCertFile/tlsPrivateKeyFile that do not exist yet refuse the change, unless the role says it writes
    them before the restart (provided_files: the kubelet role's serving certificate)."""
    conf = _copy(tmp_path, "config.yaml")
    pair = {"tlsCertFile": str(tmp_path / "serving.crt"), "tlsPrivateKeyFile": str(tmp_path / "serving.key")}
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": pair}, tmp_path, check_mode=True)
    assert rc == 1 and "serving.crt does not exist on this node" in res["msg"]
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": pair,
                                            "provided_files": list(pair.values())}, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is True
    rc, res = run_module("kubelet_config", {"path": str(conf), "settings": pair,
                                            "provided_files": [pair["tlsCertFile"]]}, tmp_path, check_mode=True)
    assert rc == 1 and "serving.key does not exist" in res["msg"]
