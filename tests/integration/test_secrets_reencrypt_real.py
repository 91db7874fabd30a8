"""secrets_reencrypt against a REAL kube-apiserver with an EncryptionConfiguration, run by ansible-playbook.

realk8s.ControlPlane runs kube-apiserver with --encryption-provider-config (aescbc, Secrets and ConfigMaps) and an
audit log. Dozens of Secrets and ConfigMaps are stored under key1 (seen in the REAL etcd as
`k8s:enc:aescbc:v1:key1:`); key2 becomes the writer and the apiserver restarts, as a rotation does. The module
then rewrites every object while another client keeps updating the same objects, so the apiserver really answers
409 Conflict: the audit log counts the 409s from the API side, the module retries with the object re-read (no
update of the other client is lost), and afterwards every value in etcd is on key2 and reads back unchanged.
"""
import base64
import json
import os
import threading

import pytest
import yaml

import realk8s
from ansible_local import run_playbook

NAMESPACES = ("team-a", "team-b", "team-c")
SECRETS_PER_NS = 12
CONFIGMAPS_PER_NS = 10
UPDATER_AGENT = "k8s-hardening-test-updater"
MODULE_AGENT = "OpenAPI-Generator/"      # the kubernetes Python client's user agent (the module's requests)


def encryption_config(keys):
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
            "resources": [{"resources": ["secrets", "configmaps"],
                           "providers": [{"aescbc": {"keys": [{"name": n, "secret": s} for n, s in keys]}},
                                         {"identity": {}}]}]}


AUDIT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "configmaps"]}]},
                          {"level": "None"}]}


class EncryptedCluster(object):
    def __init__(self, root, version):
        self.root = root
        self.key1 = ("key1", base64.b64encode(os.urandom(32)).decode())
        self.key2 = ("key2", base64.b64encode(os.urandom(32)).decode())
        self.enc = os.path.join(root, "encryption-config.yaml")
        self.audit = os.path.join(root, "audit.log")
        policy = os.path.join(root, "audit-policy.yaml")
        os.makedirs(root, exist_ok=True)
        with open(policy, "w") as fh:
            yaml.safe_dump(AUDIT_POLICY, fh)
        self.write_config([self.key1])
        self.cp = realk8s.ControlPlane(root, version=version, extra_flags={
            "encryption-provider-config": self.enc, "audit-policy-file": policy, "audit-log-path": self.audit})
        self.values = {}

    def write_config(self, keys):
        with open(self.enc, "w") as fh:
            yaml.safe_dump(encryption_config(keys), fh)
        os.chmod(self.enc, 0o600)

    def start(self):
        self.cp.start()
        items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in NAMESPACES]
        for ns in NAMESPACES:
            for i in range(SECRETS_PER_NS):
                value = base64.b64encode(os.urandom(12)).decode()
                self.values[("secrets", ns, "s%02d" % i)] = value
                items.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "metadata": {"name": "s%02d" % i, "namespace": ns}, "data": {"v": value}})
            for i in range(CONFIGMAPS_PER_NS):
                value = "config-%s-%d" % (ns, i)
                self.values[("configmaps", ns, "c%02d" % i)] = value
                items.append({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "c%02d" % i, "namespace": ns}, "data": {"v": value}})
        path = os.path.join(self.root, "objects.json")
        with open(path, "w") as fh:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, fh)
        self.cp.kubectl("create", "-f", path)
        return self

    def rotate_to_key2(self):
        """The rotation's promote stage: key2 writes, key1 still reads; the apiserver restarts."""
        self.write_config([self.key2, self.key1])
        self.cp.restart_apiserver()

    def etcd_prefixes(self, resource):
        """{(resource, ns, name): the value's key prefix} for every object of that resource in etcd."""
        out = json.loads(self.cp.etcdctl("get", "/registry/%s/" % resource, "--prefix", "-w", "json").stdout)
        prefixes = {}
        for kv in out.get("kvs", []):
            key = base64.b64decode(kv["key"]).decode()
            value = base64.b64decode(kv["value"])
            ns, name = key.split("/")[3:5]
            prefixes[(resource, ns, name)] = value[:len(b"k8s:enc:aescbc:v1:key1:")].decode("latin-1")
        return prefixes

    def audit_events(self):
        with open(self.audit) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def stop(self):
        self.cp.stop()


@pytest.fixture(scope="module", params=["1.33.3", "1.28.7"])
def cluster(request, tmp_path_factory):
    realk8s.skip_or_fail(pytest, request.param)
    c = EncryptedCluster(str(tmp_path_factory.mktemp("reencrypt-" + request.param)), request.param)
    try:
        yield c.start()
    finally:
        c.stop()


def reencrypt(tmp_path, kubeconfig, check=False, **args):
    params = dict(kubeconfig=kubeconfig, resources=["secrets", "configmaps"], page_size=20)
    params.update(args)
    play = [{"hosts": "control_plane", "gather_facts": False,
             "tasks": [{"name": "reencrypt", "k8s_hardening.kubeadm.secrets_reencrypt": params}]}]
    return run_playbook(tmp_path, play, check=check)


class Updater(threading.Thread):
    """Another client updating the test objects in a loop (an annotation counter) while the module runs."""

    def __init__(self, kubeconfig, objects):
        super(Updater, self).__init__(daemon=True)
        from kubernetes import client, config
        cfg = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        api_client = client.ApiClient(cfg)
        api_client.user_agent = UPDATER_AGENT
        self.api = client.CoreV1Api(api_client)
        self.objects = sorted(objects)
        self.last = {}
        self.updates = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        n = 0
        try:
            while not self.stop.is_set():
                for resource, ns, name in self.objects:
                    n += 1
                    body = {"metadata": {"annotations": {"test/touch": str(n)}}}
                    if resource == "secrets":
                        self.api.patch_namespaced_secret(name, ns, body)
                    else:
                        self.api.patch_namespaced_config_map(name, ns, body)
                    self.last[(resource, ns, name)] = str(n)
                    self.updates += 1
                    if self.stop.is_set():
                        break
        except Exception as exc:  # surfaced by the test
            self.error = exc


def test_reencrypt_with_real_conflicts_moves_every_object_to_the_new_key(cluster, tmp_path):
    ours = set(cluster.values)
    for resource in ("secrets", "configmaps"):
        prefixes = cluster.etcd_prefixes(resource)
        assert {prefixes[k] for k in ours if k[0] == resource} == {"k8s:enc:aescbc:v1:key1:"}
    cluster.rotate_to_key2()
    before = {r: cluster.etcd_prefixes(r) for r in ("secrets", "configmaps")}

    # check mode lists every object and writes none
    res = reencrypt(tmp_path, cluster.cp.admin_kubeconfig, check=True)
    result = res.task("reencrypt")
    assert res.rc == 0 and result["changed"] is True, res.out[-3000:]
    assert result["counts"]["secrets"]["listed"] == len(before["secrets"])
    assert result["counts"]["configmaps"]["listed"] == len(before["configmaps"])
    assert result["counts"]["secrets"]["replaced"] == 0
    assert {r: cluster.etcd_prefixes(r) for r in ("secrets", "configmaps")} == before
    assert [e for e in cluster.audit_events() if e["verb"] == "list" and e["userAgent"].startswith(MODULE_AGENT)]
    assert not [e for e in cluster.audit_events() if e["verb"] == "update" and e["userAgent"].startswith(MODULE_AGENT)], \
        "check mode wrote through the API"

    updater = Updater(cluster.cp.kubeconfig, ours)
    updater.start()
    try:
        # max_retries above the default: the other client updates the same objects without pause
        res = reencrypt(tmp_path, cluster.cp.admin_kubeconfig, max_retries=10)
    finally:
        updater.stop.set()
        updater.join(30)
    assert updater.error is None, updater.error
    assert updater.updates > len(ours), "the other client must have been updating during the run"
    result = res.task("reencrypt")
    assert res.rc == 0 and result["changed"] is True, res.out[-3000:]
    counts = result["counts"]

    # the API's own record: every update the module made, and the 409s the apiserver answered
    module_updates = [e for e in cluster.audit_events()
                      if e["verb"] == "update" and e.get("userAgent", "").startswith(MODULE_AGENT)]
    conflicts = [e for e in module_updates if e["responseStatus"]["code"] == 409]
    replaced = [e for e in module_updates if e["responseStatus"]["code"] == 200]
    assert len(conflicts) >= 1, "no 409 happened: the retry was not exercised"
    assert len(conflicts) == counts["secrets"]["conflicts"] + counts["configmaps"]["conflicts"]
    assert len(replaced) == counts["secrets"]["replaced"] + counts["configmaps"]["replaced"]
    assert {e["responseStatus"]["code"] for e in module_updates} <= {200, 409}

    # every object in etcd is on key2 now, and reads back unchanged, with the other client's last update kept
    for resource in ("secrets", "configmaps"):
        prefixes = cluster.etcd_prefixes(resource)
        assert set(prefixes.values()) == {"k8s:enc:aescbc:v1:key2:"}, resource
        assert counts[resource]["replaced"] + counts[resource]["gone"] == len(prefixes)
        for ns in NAMESPACES:
            items = json.loads(cluster.cp.kubectl("-n", ns, "get", resource, "-o", "json").stdout)["items"]
            for item in items:
                ident = (resource, ns, item["metadata"]["name"])
                if ident not in ours:
                    continue
                value = item["data"]["v"]
                assert value == cluster.values[ident], ident
                assert item["metadata"]["annotations"]["test/touch"] == updater.last[ident], \
                    "an update of the other client was lost: %s" % (ident,)
    assert not [v for v in cluster.values.values() if v in res.out], "object content in the output"


def test_api_errors_fail_clearly(cluster, tmp_path):
    # 401: credentials the apiserver does not know
    conf = yaml.safe_load(open(cluster.cp.admin_kubeconfig))
    conf["users"][0]["user"] = {"token": "not-a-valid-token"}
    bad = tmp_path / "bad-user.conf"
    bad.write_text(yaml.safe_dump(conf))
    res = reencrypt(tmp_path, str(bad))
    msg = res.task("reencrypt")["msg"]
    assert res.rc != 0 and "HTTP 401 Unauthorized" in msg and "list secrets in all namespaces" in msg, msg
    # 403: the scheduler's kubeconfig may not list Secrets
    res = reencrypt(tmp_path, os.path.join(cluster.cp.kubeconfig_dir, "scheduler.conf"))
    msg = res.task("reencrypt")["msg"]
    assert res.rc != 0 and "HTTP 403 Forbidden" in msg and "admin.conf" in msg, msg
    # nothing listens: connection refused, named as such
    conf = yaml.safe_load(open(cluster.cp.admin_kubeconfig))
    conf["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % realk8s.free_ports(1)[0]
    down = tmp_path / "down.conf"
    down.write_text(yaml.safe_dump(conf))
    res = reencrypt(tmp_path, str(down))
    msg = res.task("reencrypt")["msg"]
    assert res.rc != 0 and "connection refused" in msg, msg
    # a kubeconfig that is not one
    junk = tmp_path / "junk.conf"
    junk.write_text("just: text\n")
    res = reencrypt(tmp_path, str(junk))
    msg = res.task("reencrypt")["msg"]
    assert res.rc != 0 and "not a usable kubeconfig" in msg and "admin.conf" in msg, msg
    # TLS: a CA that did not sign the apiserver's certificate
    conf = yaml.safe_load(open(cluster.cp.admin_kubeconfig))
    other_ca = open(os.path.join(cluster.cp.pki, "front-proxy-ca.crt"), "rb").read()
    conf["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other_ca).decode()
    tls = tmp_path / "other-ca.conf"
    tls.write_text(yaml.safe_dump(conf))
    res = reencrypt(tmp_path, str(tls))
    msg = res.task("reencrypt")["msg"]
    assert res.rc != 0 and "TLS with the API server failed" in msg, msg
    for out in (res.out,):
        assert "Traceback" not in out and "MODULE FAILURE" not in out


def test_unsupported_resource_fails_before_any_request(cluster, tmp_path):
    start = len(cluster.audit_events())
    res = reencrypt(tmp_path, cluster.cp.admin_kubeconfig, resources=["widgets.example.com"])
    assert res.rc != 0 and "widgets.example.com" in res.task("reencrypt")["msg"]
    assert len(cluster.audit_events()) == start
