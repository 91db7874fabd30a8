"""The rotation stage machine, driven like the playbook drives it, interrupted at every step.

A small model of a cluster: each control-plane node has a config file on disk, a
state record on disk, and a running apiserver holding the config it loaded at
its last restart. Every apiserver keeps writing objects (encrypted with its
running writer key) at every step; the invariant is that every running
apiserver can read every object stored, at every moment, including after a
crash at any step and a fresh run started from what is on disk.
"""
import base64
import copy

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _encryption as enc
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _rotation as rot


class Crash(Exception):
    pass


def readable(entries):
    if entries is None:
        return {"identity"}
    out = set()
    for e in entries:
        if e["type"] == "identity":
            out.add("identity")
        elif e["type"] == "kms":
            out.add("kms:" + e["config"]["name"])
        else:
            out.update("%s:%s" % (e["type"], k["name"]) for k in e["keys"])
    return out


def writer(entries):
    if entries is None or entries[0]["type"] == "identity":
        return "identity"
    e = entries[0]
    return "kms:" + e["config"]["name"] if e["type"] == "kms" else "%s:%s" % (e["type"], e["keys"][0]["name"])


class Cluster:
    def __init__(self, nodes, doc=None):
        self.nodes = list(nodes)
        self.disk = {n: copy.deepcopy(doc) for n in self.nodes}
        self.states = {n: None for n in self.nodes}
        self.running = {n: self._entries(doc) for n in self.nodes}
        # objects stored in etcd, each remembered by the key that encrypted it
        self.stored = [writer(self.running[n]) for n in self.nodes]
        self.budget = None
        self.steps = 0
        self.configs_seen = []

    @staticmethod
    def _entries(doc):
        return None if doc is None else enc.single_group(doc)[1]

    def tick(self):
        """One observable step: every apiserver writes, then everything stored must be readable everywhere."""
        self.steps += 1
        if self.budget is not None:
            if self.budget <= 0:
                raise Crash()
            self.budget -= 1
        for n in self.nodes:
            self.stored.append(writer(self.running[n]))
        for n in self.nodes:
            missing = set(self.stored) - readable(self.running[n])
            assert not missing, "apiserver on %s cannot read %s (running %s)" % (n, missing, self.running[n])

    def restart(self, node):
        entries = self._entries(self.disk[node])
        if entries != self.running[node]:
            self.tick()
            self.running[node] = entries
            self.configs_seen.append(rot.labels(entries or []))

    def docs(self):
        return copy.deepcopy(self.disk)

    def state_list(self):
        return list(self.states.values())

    # the playbook
    def apply_pass(self, target, rotate):
        for node in self.nodes:              # serial: 1
            p = rot.plan(self.docs(), self.state_list(), target, rotate=rotate)
            if p["state"] is not None:
                for n in self.nodes:
                    self.tick()
                    self.states[n] = copy.deepcopy(p["state"])
            if p["config"] is not None and self.disk[node] != p["config"]:
                self.tick()
                self.disk[node] = copy.deepcopy(p["config"])
            self.restart(node)               # static_pods: the checksum annotation differs -> restart

    def advance_pass(self, target):
        p = rot.plan(self.docs(), self.state_list(), target)
        if p["action"] == "reencrypt":
            via = self.nodes[0]
            for i in range(len(self.stored)):
                self.tick()
                self.stored[i] = writer(self.running[via])
        new = rot.advance(self.docs(), self.state_list())
        if new is not None:
            for n in self.nodes:
                self.tick()
                self.states[n] = copy.deepcopy(new)

    def playbook(self, target, rotate):
        for i in range(len(rot.STAGES)):
            self.apply_pass(target, rotate and i == 0)
            self.advance_pass(target)


K_OLD = base64.b64encode(b"\x07" * 32).decode()
K_AES = base64.b64encode(b"\x08" * 32).decode()


def config(*entries):
    return enc.build_config(["secrets"], list(entries))


SCENARIOS = {
    "enable": (None, {"enabled": True, "provider": "secretbox"}, False),
    "rotate": (config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_OLD}]}, {"type": "identity"}),
               {"enabled": True, "provider": "secretbox"}, True),
    "provider-change": (config({"type": "aescbc", "keys": [{"name": "key1", "secret": K_AES}]},
                               {"type": "identity"}),
                        {"enabled": True, "provider": "secretbox"}, False),
    "disable": (config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_OLD}]}, {"type": "identity"}),
                {"enabled": False, "provider": "secretbox"}, False),
}


def target_of(spec):
    return dict(spec, resources=["secrets"], keep_identity=True)


def assert_final(cluster, target, start):
    docs = set(enc.canonical(d) for d in cluster.disk.values())
    assert len(docs) == 1, "configs differ at the end"
    entries = cluster._entries(next(iter(cluster.disk.values())))
    if target["enabled"]:
        assert entries[0]["type"] == target["provider"]
        assert [e["type"] for e in entries] == [target["provider"], "identity"]
        assert len(entries[0]["keys"]) == 1
        old = cluster._entries(start)
        if old and old[0]["type"] == target["provider"]:
            assert entries[0]["keys"][0]["secret"] != old[0]["keys"][0]["secret"], "the key was not rotated"
        # every object stored before the re-encryption now uses the new key, nothing is plain
        assert set(cluster.stored) == {writer(entries)}
    else:
        assert [e["type"] for e in entries] == ["identity"]
        assert set(cluster.stored) == {"identity"}
    for n in cluster.nodes:
        assert cluster.running[n] == entries, "an apiserver did not load the final config"
    assert rot.is_idle(rot.latest_state(cluster.state_list()))
    # a further run changes nothing
    steps = cluster.steps
    cluster.playbook(target, rotate=False)
    assert cluster.steps == steps


@pytest.mark.parametrize("nodes", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_uninterrupted(name, nodes):
    start, spec, rotate = SCENARIOS[name]
    cluster = Cluster(["cp%d" % i for i in range(1, nodes + 1)], start)
    target = target_of(spec)
    cluster.playbook(target, rotate)
    assert_final(cluster, target, start)


@pytest.mark.parametrize("nodes", [2, 3])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_interrupted_at_every_step(name, nodes):
    start, spec, rotate = SCENARIOS[name]
    target = target_of(spec)
    total = Cluster(["cp%d" % i for i in range(1, nodes + 1)], start)
    total.playbook(target, rotate)
    assert total.steps > 10
    for crash_at in range(total.steps):
        cluster = Cluster(["cp%d" % i for i in range(1, nodes + 1)], start)
        cluster.budget = crash_at
        with pytest.raises(Crash):
            cluster.playbook(target, rotate)
        cluster.budget = None
        cluster.playbook(target, rotate)     # the same command again, from what is on disk
        assert_final(cluster, target, start)


def test_interrupted_twice():
    start, spec, rotate = SCENARIOS["rotate"]
    target = target_of(spec)
    for first in range(0, 40, 3):
        for second in range(0, 20, 4):
            cluster = Cluster(["cp1", "cp2"], start)
            cluster.budget = first
            with pytest.raises(Crash):
                cluster.playbook(target, rotate)
            cluster.budget = second
            try:
                cluster.playbook(target, rotate)
            except Crash:
                pass
            cluster.budget = None
            cluster.playbook(target, rotate)
            assert_final(cluster, target, start)


def test_stage_configs_follow_the_upstream_order():
    start, spec, rotate = SCENARIOS["rotate"]
    cluster = Cluster(["cp1", "cp2"], start)
    cluster.playbook(target_of(spec), rotate)
    seen = []
    for labels in cluster.configs_seen:
        if labels not in seen:
            seen.append(labels)
    assert seen == [["secretbox:key1,key2", "identity"],     # 1. new key second
                    ["secretbox:key2,key1", "identity"],     # 2. new key first
                    ["secretbox:key2", "identity"]]          # 4. old key removed (after re-encryption)


def test_existing_key_is_reused_not_regenerated():
    start = config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_OLD}]}, {"type": "identity"})
    p = rot.plan({"cp1": start, "cp2": None}, [None, None], target_of({"enabled": True, "provider": "secretbox"}))
    assert p["action"] == "none" and p["config"] == start


def test_disagreeing_nodes_stop_naming_them():
    a = config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_OLD}]}, {"type": "identity"})
    b = config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_AES}]}, {"type": "identity"})
    with pytest.raises(rot.RotationError) as err:
        rot.plan({"cp1": a, "cp2": b}, [], target_of({"enabled": True, "provider": "secretbox"}))
    assert "cp1" in str(err.value) and "cp2" in str(err.value)
    assert K_OLD not in str(err.value) and K_AES not in str(err.value)
    c = config({"type": "aescbc", "keys": [{"name": "key9", "secret": K_AES}]}, {"type": "identity"})
    with pytest.raises(rot.RotationError) as err:
        rot.plan({"cp1": a, "cp2": c}, [], target_of({"enabled": True, "provider": "secretbox"}))
    assert "cp1" in str(err.value) and "cp2" in str(err.value) and "disagree" in str(err.value)


def test_unexpected_config_during_rotation_stops():
    start, spec, rotate = SCENARIOS["rotate"]
    cluster = Cluster(["cp1", "cp2"], start)
    cluster.apply_pass(target_of(spec), True)
    cluster.disk["cp2"] = config({"type": "aesgcm", "keys": [{"name": "x", "secret": K_AES}]})
    with pytest.raises(rot.RotationError) as err:
        cluster.apply_pass(target_of(spec), False)
    assert "cp2" in str(err.value)


@pytest.mark.parametrize("key, word", [
    ({"name": "mine", "secret": base64.b64encode(b"s" * 16).decode()}, "16 bytes"),
    ({"name": "mine", "secret": "%%%"}, "base64"),
    ({"name": "key1", "secret": base64.b64encode(b"z" * 32).decode()}, "already used"),
])
def test_bad_user_key_fails_before_anything(key, word):
    start = config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_OLD}]}, {"type": "identity"})
    target = target_of({"enabled": True, "provider": "secretbox", "key": key})
    with pytest.raises(rot.RotationError) as err:
        rot.plan({"cp1": start}, [], target)
    assert word in str(err.value)


def test_user_key_is_used():
    key = {"name": "mine", "secret": base64.b64encode(b"m" * 32).decode()}
    target = target_of({"enabled": True, "provider": "secretbox", "key": key})
    cluster = Cluster(["cp1", "cp2"])
    cluster.playbook(target, False)
    entries = cluster._entries(cluster.disk["cp1"])
    assert entries[0]["keys"] == [key]


def test_removing_an_encrypted_resource_is_refused():
    start = config({"type": "secretbox", "keys": [{"name": "key1", "secret": K_OLD}]})
    start["resources"][0]["resources"] = ["secrets", "configmaps"]
    with pytest.raises(rot.RotationError) as err:
        rot.plan({"cp1": start}, [], target_of({"enabled": True, "provider": "secretbox"}))
    assert "encryption_resources" in str(err.value)


def test_state_record_has_no_key_material():
    start, spec, rotate = SCENARIOS["rotate"]
    p = rot.plan({"cp1": start}, [], target_of(spec), rotate=True)
    text = repr(p["state"])
    assert K_OLD not in text
    new_secret = p["config"]["resources"][0]["providers"][0]["secretbox"]["keys"][1]["secret"]
    assert new_secret not in text
    assert p["state"]["from"] == ["secretbox:key1", "identity"] and p["state"]["new"] == "secretbox:key2"


def test_advance_refuses_while_a_node_is_behind():
    start, spec, rotate = SCENARIOS["rotate"]
    p = rot.plan({"cp1": start, "cp2": start}, [], target_of(spec), rotate=True)
    states = [p["state"], p["state"]]
    with pytest.raises(rot.RotationError) as err:
        rot.advance({"cp1": p["config"], "cp2": start}, states)
    assert "cp2" in str(err.value) and "cp1" not in str(err.value).split(":", maxsplit=1)[0]
    done = rot.advance({"cp1": p["config"], "cp2": p["config"]}, states)
    assert done["stage"] == "add" and done["complete"] is True
