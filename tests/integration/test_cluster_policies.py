"""The cluster_policies role end to end against a REAL kube-apiserver 1.33.3 (with the controller-manager,
which creates the default service accounts), through real ansible-playbook on localhost.

The chain under test is the one harden.yml runs once per cluster: playbooks/cluster_policies.yml (the
k8s_api preflight's fact is passed in, as the coordinator's preflight will set it) and then the report
role, whose node row comes from a temp kubeadm tree (test_report_role's) and whose cluster row comes from
the role's findings. Admission is the real API server's: Pod Security, LimitRanger.
No kubelet runs: pods are admitted and stored, never started, which is all admission and the report see.
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

import realk8s
from kubeadm_tree import make_tree as _tree

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VERSION = "1.33.3"
BOOK = """\
- name: The cluster policies, as harden.yml runs them
  ansible.builtin.import_playbook: {playbook}

- name: The report, with the node row from a temp kubeadm tree and the cluster row from the API
  hosts: control_plane
  gather_facts: false
  tasks:
    - name: Node facts from the temp tree
      k8s_hardening.kubeadm.kubeadm_facts:
        kubernetes_dir: "{{{{ tree }}}}/etc/kubernetes"
        kubelet_dir: "{{{{ tree }}}}/var/lib/kubelet"
        lab_state_dir: "{{{{ tree }}}}/no-lab"
      when: with_report | default(true) | bool
    - name: The report
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.report
      when: with_report | default(true) | bool
""".format(playbook=os.path.join(ROOT, "playbooks", "cluster_policies.yml"))

PRIVILEGED_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "priv"},
                  "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                           "securityContext": {"privileged": True}}]}}
PLAIN_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
             "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    realk8s.skip_or_fail(pytest, VERSION)
    root = tmp_path_factory.mktemp("cluster-policies")
    # a real audit log: the requests the test makes with super-admin.conf (system:masters) land in it
    policy = root / "audit-policy.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n"
                      "rules:\n- level: Metadata\n")
    cp = realk8s.ControlPlane(str(root / "cp"), version=VERSION, controller_manager=True, extra_flags={
        "audit-policy-file": str(policy), "audit-log-path": str(root / "audit.log")})
    try:
        cp.start()
        yield cp, str(root)
    finally:
        cp.stop()


def kubectl(cp, *args, **kw):
    return cp.kubectl(*args, **kw)


def apply(cp, obj, namespace=None, check=True):
    args = ["create", "-f", "-"] + (["-n", namespace] if namespace else [])
    return cp.kubectl(*args, input=json.dumps(obj), check=check)


def get(cp, *args):
    # admin.conf (not system:masters): reading the state adds no system:masters request to the audit log
    return json.loads(kubectl(cp, "get", "-o", "json", *args, kubeconfig=cp.admin_kubeconfig).stdout)


def play(cp, root, extra=None, args=()):
    book = os.path.join(root, "play.yml")
    with open(book, "w") as handle:
        handle.write(BOOK)
    inv = os.path.join(root, "hosts.yml")
    with open(inv, "w") as handle:
        yaml.safe_dump({"all": {"children": {"control_plane": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}, handle)
    variables = {
        # admin.conf (kubeadm:cluster-admins through RBAC), as the k8s_api preflight picks it on 1.29+
        "k8s_hardening_api": {"host": "localhost", "kubeconfig": cp.admin_kubeconfig, "server_version": VERSION},
        "cluster_policies_control_plane_hosts": ["localhost"],
        "cluster_policies_kubeconfig_dirs": [cp.kubeconfig_dir],
        "cluster_policies_audit_log": os.path.join(root, "audit.log"),
        "cluster_policies_bootstrap_grace": 0,
        "cluster_policies_exclude_namespaces": ["kube-system", "kube-public", "kube-node-lease", "exempt"],
        "cluster_policies_limit_range_enabled": True,
        "tree": os.path.join(root, "tree"),
        "k8s_hardening_report_dir": os.path.join(root, "reports"),
    }
    variables.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="false")
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", inv, book, "-e", json.dumps(variables)]
    proc = subprocess.run(cmd + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    return proc


def flat(text):
    return " ".join(text.split())


def recap_changed(proc):
    tail = proc.stdout.split("PLAY RECAP")[-1]
    return int(tail.split("changed=")[1].split()[0])


def state(cp):
    """resourceVersion of every object the role may write, to prove a run touched nothing."""
    out = {}
    for kind in ("namespaces", "serviceaccounts", "networkpolicies", "limitranges"):
        for item in get(cp, kind, "-A")["items"]:
            meta = item["metadata"]
            out["%s/%s/%s" % (kind, meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return out


def test_cluster_policies_end_to_end(cluster):
    cp, root = cluster
    _tree(os.path.join(root, "tree"))
    for ns in ("team-a", "team-b", "exempt", "strict"):
        kubectl(cp, "create", "namespace", ns)
    kubectl(cp, "label", "namespace", "strict", "pod-security.kubernetes.io/enforce=restricted")
    # what the report must name: a binding to cluster-admin, a wildcard ClusterRole, a Secret as env var,
    # a credential-looking ConfigMap key
    kubectl(cp, "create", "clusterrolebinding", "test-admins", "--clusterrole=cluster-admin", "--user=alice")
    kubectl(cp, "create", "clusterrole", "test-wildcard", "--verb=*", "--resource=*")
    kubectl(cp, "create", "secret", "generic", "db", "-n", "team-a", "--from-literal=password=hunter2")
    kubectl(cp, "create", "configmap", "app-config", "-n", "team-a", "--from-literal=db_password=hunter2")
    env_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "uses-env-secret"},
               "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10", "env": [
                   {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}
    apply(cp, env_pod, "team-a")
    # a pod running as privileged in team-b, before any label: raising enforce there must be refused
    apply(cp, PRIVILEGED_POD, "team-b")

    # 1. refused: nothing changes, the pod is named
    before = state(cp)
    proc = play(cp, root)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "namespace team-b: raising Pod Security enforce to baseline would reject priv" in " ".join(proc.stdout.split()), \
        proc.stdout[-3000:]
    assert state(cp) == before

    # 2. accepted for team-b: the role runs in full
    accept = {"cluster_policies_psa_accept_violations": ["team-b"]}
    proc = play(cp, root, accept)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]

    selected = ("default", "team-a", "team-b", "strict")
    # Pod Security: enforced, stricter label kept, exempt namespace untouched
    labels = dict((n["metadata"]["name"], n["metadata"].get("labels", {})) for n in get(cp, "namespaces")["items"])
    for ns in ("default", "team-a", "team-b"):
        assert labels[ns]["pod-security.kubernetes.io/enforce"] == "baseline", (ns, labels[ns])
        assert labels[ns]["pod-security.kubernetes.io/warn"] == "restricted"
        assert labels[ns]["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["strict"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert not [k for k in labels["exempt"] if k.startswith("pod-security")]
    assert not [k for k in labels["kube-system"] if k.startswith("pod-security")]

    # the REAL admission: a privileged pod is rejected where enforced, accepted where exempt
    rejected = apply(cp, dict(PRIVILEGED_POD, metadata={"name": "priv2"}), "team-a", check=False)
    assert rejected.returncode != 0 and "violates PodSecurity" in rejected.stderr, rejected.stderr
    assert apply(cp, dict(PRIVILEGED_POD, metadata={"name": "priv2"}), "exempt", check=False).returncode == 0

    # default-deny NetworkPolicies in every selected namespace and nowhere else
    pols = {}
    for pol in get(cp, "networkpolicies", "-A")["items"]:
        pols.setdefault(pol["metadata"]["namespace"], {})[pol["metadata"]["name"]] = pol["spec"]
    assert sorted(pols) == sorted(selected)
    for ns in selected:
        deny = pols[ns]["k8s-hardening-default-deny"]
        assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
        dns = pols[ns]["k8s-hardening-allow-dns"]["egress"][0]
        assert {"protocol": "UDP", "port": 53} in dns["ports"] and {"protocol": "TCP", "port": 53} in dns["ports"]
        assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}

    # default service accounts no longer automount (selected), untouched elsewhere
    for ns in selected:
        assert get(cp, "serviceaccount", "default", "-n", ns).get("automountServiceAccountToken") is False
    assert "automountServiceAccountToken" not in get(cp, "serviceaccount", "default", "-n", "exempt")

    # the LimitRange defaults a new pod's memory limit (and request) in a selected namespace only
    apply(cp, PLAIN_POD, "team-a")
    res = get(cp, "pod", "plain", "-n", "team-a")["spec"]["containers"][0]["resources"]
    assert res["limits"]["memory"] == "512Mi" and res["requests"]["memory"] == "512Mi"
    apply(cp, PLAIN_POD, "exempt")
    assert "limits" not in get(cp, "pod", "plain", "-n", "exempt")["spec"]["containers"][0].get("resources", {})

    # the report: cluster row and findings
    with open(os.path.join(root, "reports", "report.json")) as handle:
        report = json.load(handle)
    assert "cluster" in report["nodes"] and "localhost" in report["nodes"]
    rows = dict((r["id"], r) for r in report["nodes"]["cluster"]["results"])
    assert rows["5.1.1"]["status"] == "manual" and "ClusterRoleBinding test-admins" in rows["5.1.1"]["observed"]
    assert rows["5.1.3"]["status"] == "manual" and "ClusterRole test-wildcard" in rows["5.1.3"]["observed"]
    assert rows["5.4.1"]["status"] == "manual" and "Pod team-a/uses-env-secret" in rows["5.4.1"]["observed"]
    assert rows["5.1.5"]["status"] == "pass" and rows["5.3.2"]["status"] in ("pass", "manual")
    assert rows["5.1.7"]["status"] == "manual" and "super-admin.conf" in rows["5.1.7"]["observed"]
    assert rows["1.2.15"]["status"] == "not_applicable"
    local = dict((r["id"], r) for r in report["nodes"]["localhost"]["results"])
    assert local["5.1.1"]["status"] == "not_applicable"
    found = [(f["check"], f["object"]) for f in report["cluster_findings"] if f["counts"]]
    assert ("cluster_admin", "ClusterRoleBinding test-admins") in found
    assert ("wildcards", "ClusterRole test-wildcard") in found
    assert ("env_secrets", "Pod team-a/uses-env-secret") in found
    assert ("configmap_credentials", "ConfigMap team-a/app-config") in found
    assert ("privileged", "Pod team-b/priv") in found
    assert ("cni", "CNI") in found   # no CNI runs here: the policies are inert, and the report says so
    assert ("system_masters", "localhost:%s" % os.path.join(cp.kubeconfig_dir, "super-admin.conf")) in found
    assert not [f for f in found if f[0] == "system_masters" and f[1].endswith("/admin.conf")]   # 1.33: not masters
    audit = [f for f in report["cluster_findings"] if f["object"] == "localhost:" + os.path.join(root, "audit.log")]
    assert audit and "by system:masters users (kubernetes-super-admin)" in audit[0]["detail"], audit
    # the built-in cluster-admin binding is listed, not counted
    assert [f for f in report["cluster_findings"] if f["object"] == "ClusterRoleBinding cluster-admin"
            and not f["counts"]]
    with open(os.path.join(root, "reports", "report.md")) as handle:
        md = handle.read()
    assert "## Cluster findings" in md and "| 5.1.1 | cluster_admin | ClusterRoleBinding test-admins |" in md
    assert "hunter2" not in md and "hunter2" not in json.dumps(report)
    assert "hunter2" not in proc.stdout

    # 3. a second run changes nothing in the cluster (the report gains the pods created above) ...
    before = state(cp)
    proc = play(cp, root, accept)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert state(cp) == before
    changed_tasks = [block.split("]")[0] for block in proc.stdout.split("TASK [")[1:] if "\nchanged:" in block]
    assert changed_tasks == ["k8s_hardening.kubeadm.report : Write the CIS report on the controller"], changed_tasks
    # ... and a third one nothing at all
    proc = play(cp, root, accept)
    assert proc.returncode == 0 and recap_changed(proc) == 0, proc.stdout[-5000:]
    assert state(cp) == before

    # 4. someone loosens team-b: --check --diff shows the change and touches nothing
    kubectl(cp, "label", "namespace", "team-b", "pod-security.kubernetes.io/enforce=privileged", "--overwrite")
    kubectl(cp, "delete", "networkpolicy", "k8s-hardening-default-deny", "-n", "team-b")
    before = state(cp)
    proc = play(cp, root, dict(accept, with_report=False), ["--check", "--diff"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Namespace team-b" in proc.stdout and "pod-security.kubernetes.io/enforce" in proc.stdout
    assert "create NetworkPolicy team-b/k8s-hardening-default-deny" in proc.stdout
    assert "'pod-security.kubernetes.io/enforce': 'baseline'" in proc.stdout
    assert state(cp) == before
    assert get(cp, "namespace", "team-b")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"

    # 5. turned off: the cluster stays as it was
    proc = play(cp, root, dict(accept, cluster_policies_enabled=False, with_report=False))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap_changed(proc) == 0
    assert state(cp) == before


def test_system_masters_decided_by_the_certificate_on_1_28(tmp_path):
    """kubeadm 1.28's admin.conf carries O=system:masters (no super-admin.conf yet): the report says so from the
    certificate itself. Only the reports run here (every enforced area off): nothing is written."""
    realk8s.skip_or_fail(pytest, "1.28.7")
    root = str(tmp_path)
    cp = realk8s.ControlPlane(os.path.join(root, "cp"), version="1.28.7")
    try:
        cp.start()
        _tree(os.path.join(root, "tree"))
        before = state(cp)
        proc = play(cp, root, {"k8s_hardening_api": {"host": "localhost", "kubeconfig": cp.admin_kubeconfig,
                                                     "server_version": "1.28.7"},
                               "cluster_policies_psa_enabled": False, "cluster_policies_network_policy_enabled": False,
                               "cluster_policies_service_accounts_enabled": False,
                               "cluster_policies_limit_range_enabled": False,
                               "k8s_hardening_report_dir": os.path.join(root, "reports")})
        assert proc.returncode == 0, proc.stdout[-5000:]
        assert state(cp) == before
        with open(os.path.join(root, "reports", "report.json")) as handle:
            report = json.load(handle)
        masters = sorted(f["object"] for f in report["cluster_findings"] if f["check"] == "system_masters")
        assert masters == ["localhost:" + os.path.join(cp.kubeconfig_dir, "admin.conf")], masters
        rows = dict((r["id"], r) for r in report["nodes"]["cluster"]["results"])
        assert rows["5.1.7"]["status"] == "manual"
        assert rows["5.3.2"]["status"] == "manual"    # reported even with the NetworkPolicy area off
        assert "not gathered" not in rows["5.1.1"]["reason"]
    finally:
        cp.stop()
