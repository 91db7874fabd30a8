"""k8s_inputs_digest: variables, the collection's own files and controller-side files all count."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.filter import fingerprint as ff


def test_registered_and_stable():
    assert set(ff.FilterModule().filters()) == {"k8s_inputs_digest"}
    values = {"kubelet_read_only_port": 0, "encryption_keys": [{"name": "k1", "secret": "c2VjcmV0"}]}
    assert ff.k8s_inputs_digest(values) == ff.k8s_inputs_digest(dict(reversed(list(values.items()))))
    assert ff.k8s_inputs_digest(values) != ff.k8s_inputs_digest(dict(values, kubelet_read_only_port=10255))
    assert "c2VjcmV0" not in ff.k8s_inputs_digest(values)


def test_collection_files_count():
    with_collection = ff.k8s_inputs_digest({"a": 1})
    assert with_collection != ff.k8s_inputs_digest({"a": 1}, collection=False)
    assert len(ff.collection_digest()) == 64


def test_controller_paths_count(tmp_path):
    ca_dir = tmp_path / "etcd-ca"
    missing = ff.k8s_inputs_digest({"a": 1}, controller_paths=[str(ca_dir)])
    ca_dir.mkdir()
    (ca_dir / "ca.crt").write_text("one")
    first = ff.k8s_inputs_digest({"a": 1}, controller_paths=[str(ca_dir)])
    assert first != missing
    (ca_dir / "ca.crt").write_text("two")
    assert ff.k8s_inputs_digest({"a": 1}, controller_paths=[str(ca_dir)]) != first


def test_not_a_dict_fails():
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        ff.k8s_inputs_digest(["a"])
