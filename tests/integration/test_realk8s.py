"""The host-side real control plane (realk8s.py) works at both versions: kubeadm's PKI,
real etcd and kube-apiserver, the controller-manager creating service accounts.
Other tests build on it, so this one says plainly when it cannot run."""

import pytest

import realk8s


@pytest.mark.parametrize("version", ["1.33.3", "1.28.7"])
def test_real_control_plane(tmp_path, version):
    realk8s.skip_or_fail(pytest, version)
    cp = realk8s.ControlPlane(str(tmp_path), version=version, controller_manager=True)
    try:
        cp.start()
        assert cp.get("/readyz", client=True)[0] == 200
        # kubeadm's defaults: anonymous /livez is allowed, anonymous /api is forbidden (403 for system:anonymous)
        assert cp.get("/livez")[0] == 200
        assert cp.get("/api/v1/namespaces")[0] in (401, 403)
        out = cp.kubectl("version", "-o", "json").stdout
        assert '"gitVersion": "v%s"' % version in out
        # admin.conf (kubeadm:cluster-admins from 1.29) works through the binding kubeadm creates
        cp.kubectl("get", "ns", "kube-system", kubeconfig=cp.admin_kubeconfig)
        # the controller-manager runs: the default service account exists
        assert cp.kubectl("get", "sa", "default", "-n", "default").returncode == 0
        # etcd holds the data, through kubeadm's etcd client certificates
        keys = cp.etcdctl("get", "/registry/namespaces/kube-system", "--keys-only").stdout
        assert b"/registry/namespaces/kube-system" in keys
    finally:
        cp.stop()
