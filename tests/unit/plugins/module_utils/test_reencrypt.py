"""_reencrypt.py with an in-memory stand-in for CoreV1Api (the HTTP path is in tests/integration)."""
import json

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _reencrypt as re_


class ApiError(Exception):
    def __init__(self, status):
        super().__init__("HTTP %d" % status)
        self.status = status
        self.reason = "status %d" % status


class Resp:
    def __init__(self, body):
        self.data = json.dumps(body).encode()


class FakeCore:
    """Just the three CoreV1Api methods the module calls, over a dict; named as a fake."""

    def __init__(self, n, conflicts=(), gone=(), expire_after_pages=None, fail=()):
        self.objs = {("ns", "s%02d" % i): {"metadata": {"namespace": "ns", "name": "s%02d" % i, "resourceVersion": "1"},
                                           "data": {"k": "dg=="}} for i in range(n)}
        self.conflicts, self.gone, self.fail = set(conflicts), set(gone), set(fail)
        self.expire_after_pages = expire_after_pages
        self.pages = 0
        self.replaced = []

    def list_secret_for_all_namespaces(self, limit, _preload_content, _continue=None):
        self.pages += 1
        if _continue and self.expire_after_pages and self.pages > self.expire_after_pages:
            self.expire_after_pages = None
            raise ApiError(410)
        keys = sorted(self.objs)
        rest = [k for k in keys if not _continue or k > tuple(_continue.split("/"))]   # key-based, like etcd
        page = rest[:limit]
        meta = {"continue": "/".join(page[-1])} if len(rest) > limit else {}
        return Resp({"items": [self.objs[k] for k in page], "metadata": meta})

    def read_namespaced_secret(self, name, namespace, _preload_content):
        if (namespace, name) not in self.objs:
            raise ApiError(404)
        return Resp(self.objs[(namespace, name)])

    def replace_namespaced_secret(self, name, namespace, body, _preload_content):
        key = (namespace, name)
        if name in self.fail:
            raise ApiError(403)
        if name in self.gone:
            self.objs.pop(key, None)
            raise ApiError(404)
        if name in self.conflicts:
            self.conflicts.discard(name)
            self.objs[key]["metadata"]["resourceVersion"] = "2"
            raise ApiError(409)
        assert body["kind"] == "Secret" and body["apiVersion"] == "v1"
        assert body["metadata"]["resourceVersion"] == self.objs[key]["metadata"]["resourceVersion"]
        self.replaced.append(name)
        return Resp(body)


@pytest.mark.parametrize("n, page", [(0, 10), (1, 10), (10, 10), (11, 10), (25, 3)])
def test_every_object_replaced_once(n, page):
    core = FakeCore(n)
    counts = re_.rewrite(core, "secrets", page_size=page)
    assert counts == {"listed": n, "replaced": n, "conflicts": 0, "gone": 0}
    assert sorted(core.replaced) == sorted(k[1] for k in core.objs)


def test_conflict_rereads_and_retries_and_gone_is_skipped():
    core = FakeCore(6, conflicts={"s01"}, gone={"s02"})
    counts = re_.rewrite(core, "secrets", page_size=4)
    assert counts == {"listed": 6, "replaced": 5, "conflicts": 1, "gone": 1}


def test_expired_continue_restarts_without_duplicates():
    core = FakeCore(9, expire_after_pages=1)
    counts = re_.rewrite(core, "secrets", page_size=4)
    assert counts["replaced"] == 9 and len(core.replaced) == 9


def test_other_errors_stop_naming_the_object():
    core = FakeCore(3, fail={"s01"})
    with pytest.raises(re_.ReencryptError) as err:
        re_.rewrite(core, "secrets")
    assert "ns/s01" in str(err.value) and "403" in str(err.value)


def test_check_mode_replaces_nothing():
    core = FakeCore(5)
    assert re_.rewrite(core, "secrets", check_mode=True)["listed"] == 5 and core.replaced == []


def test_unsupported_resources_refused():
    with pytest.raises(re_.ReencryptError) as err:
        re_.reencrypt(FakeCore(1), ["secrets", "widgets.example.com"])
    assert "widgets.example.com" in str(err.value)
