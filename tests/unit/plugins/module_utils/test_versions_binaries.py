"""The version table against the REAL Kubernetes binaries v1.28.7 and v1.33.3 (.cache/k8s, unpacked by
scripts/setup.sh): every flag the collection knows is in `--help` exactly where the table allows it, the
admission plugins and feature gate defaults match, and the components refuse or accept what the table says.
Skipped when the binaries are not there."""
import os
import re
import subprocess

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _k8s_flags
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions as v

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
VERSIONS = list(v.PROVEN_VERSIONS)
FIXTURE_KUBELET = {"1.28.7": os.path.join(ROOT, "tests", "unit", "fixtures", "kubelet", "config.yaml"),
                   "1.33.3": os.path.join(ROOT, "tests", "unit", "fixtures", "kubeadm-v1.33.3", "kubelet", "config.yaml")}


def _binary(version, name):
    path = os.path.join(ROOT, ".cache", "k8s", "v" + version, name)
    if not os.access(path, os.X_OK):
        pytest.skip("%s not unpacked (scripts/setup.sh puts the real binaries in .cache/k8s)" % path)
    return path


_HELP = {}


def _help(version, name):
    key = (version, name)
    if key not in _HELP:
        proc = subprocess.run([_binary(version, name), "--help"], capture_output=True, text=True, timeout=60,
                              check=False)
        _HELP[key] = proc.stdout + proc.stderr
    return _HELP[key]


def _flags(text):
    return set(re.findall(r"^\s+(?:-[a-z], )?--([a-z0-9][a-z0-9-]*)", text, re.M))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("component", ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
def test_every_flag_the_collection_knows_is_in_help_exactly_where_the_table_allows_it(version, component):
    present = _flags(_help(version, component))
    assert len(present) > 50
    for name in sorted(_k8s_flags.FLAGS[component]):
        assert (name in present) is v.flag_allowed(component, name, version), (component, name, version)
    for row in v.rows(v.FLAG, component):
        assert (row["name"] in present) is v.flag_allowed(component, row["name"], version), (row["name"], version)


@pytest.mark.parametrize("version", VERSIONS)
def test_kubelet_flag_rows_against_help(version):
    present = _flags(_help(version, "kubelet"))
    for row in v.rows(v.FLAG, "kubelet"):
        assert (row["name"] in present) is v.flag_allowed("kubelet", row["name"], version), (row["name"], version)


@pytest.mark.parametrize("version", VERSIONS)
def test_admission_plugins_match_the_binary(version):
    text = _help(version, "kube-apiserver")
    match = re.search(r"--enable-admission-plugins strings.*?Comma-delimited list of admission plugins: ([^.]+)\.",
                      text, re.S)
    listed = sorted(p.strip() for p in match.group(1).replace("\n", " ").split(",") if p.strip())
    assert listed == v.admission_plugins(version)


@pytest.mark.parametrize("version", VERSIONS)
def test_feature_gate_defaults_match_the_binary(version):
    gates = dict(re.findall(r"(?:kube:)?([A-Za-z0-9]+)=true\|false \((?:ALPHA|BETA) - default=(true|false)\)",
                            _help(version, "kube-apiserver")))
    for row in v.rows(v.GATE, "kube-apiserver"):
        expected = v.gate_default(row["name"], version)
        if expected is None:
            assert row["name"] not in gates, (row["name"], version)
        elif row["name"] in gates:   # GA and deprecated gates are not listed
            assert (gates[row["name"]] == "true") is expected, (row["name"], version)


def _run(cmd, timeout=60):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("version", VERSIONS)
def test_kube_apiserver_refuses_a_removed_flag_and_takes_an_allowed_one(version):
    binary = _binary(version, "kube-apiserver")
    proc = _run([binary, "--cloud-provider=external", "--version"])
    if v.flag_allowed("kube-apiserver", "cloud-provider", version):
        assert proc.returncode == 0 and "v" + version in proc.stdout
    else:
        assert proc.returncode != 0 and "unknown flag: --cloud-provider" in proc.stderr
    proc = _run([binary, "--authentication-config=/nonexistent", "--version"])
    assert (proc.returncode == 0) is v.flag_allowed("kube-apiserver", "authentication-config", version)


@pytest.mark.parametrize("version", VERSIONS)
def test_kubelet_takes_or_refuses_flags_and_fields_as_the_table_says(version, tmp_path):
    """The real kubelet parses its flags and config, then stops at the missing client CA (no container runtime
    here): 'unknown flag' and strict-decoding messages come before that."""
    binary = _binary(version, "kubelet")
    with open(FIXTURE_KUBELET[version]) as handle:
        config = yaml.safe_load(handle)
    config["failCgroupV1"] = False
    config["authentication"]["x509"]["clientCAFile"] = str(tmp_path / "missing-ca.crt")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    base = [binary, "--config", str(path), "--kubeconfig", str(tmp_path / "none.conf"),
            "--root-dir", str(tmp_path / "root"), "--cert-dir", str(tmp_path / "pki")]
    proc = _run(base + ["--pod-infra-container-image=registry.k8s.io/pause:3.10"])
    output = proc.stdout + proc.stderr
    assert "unknown flag" not in output  # both versions still take it (removed in 1.35)
    assert "missing-ca.crt" in output, output[-2000:]
    found = v.field_problem("kubelet", "failCgroupV1", version)
    assert ('strict decoding error: unknown field \\"failCgroupV1\\"' in output) is (found is not None), output[-2000:]
    if found:
        assert found[0] == v.IGNORED   # the kubelet goes on (lenient decoding), as the table says
    proc = _run(base + ["--no-such-flag-in-any-version=1"])
    assert proc.returncode != 0 and "unknown flag: --no-such-flag-in-any-version" in proc.stdout + proc.stderr
