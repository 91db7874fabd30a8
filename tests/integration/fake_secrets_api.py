"""A FAKE of the Kubernetes Secrets/ConfigMaps API, for testing the re-encryption client.

The lab has no kube-apiserver, so the real kubernetes Python client is pointed
(through a kubeconfig) at this small HTTP server on 127.0.0.1. It speaks only
what the re-encryption needs, the way the apiserver does:

- GET  /api/v1/{secrets,configmaps}?limit=N&continue=T   list across namespaces, pagination,
  an expired/unknown continue token answers 410 Gone
- GET  /api/v1/namespaces/NS/{secrets,configmaps}/NAME   read
- PUT  /api/v1/namespaces/NS/{secrets,configmaps}/NAME   replace; 409 Conflict when
  metadata.resourceVersion is not the stored one, 404 when the object is gone
- a bearer token is required (401 otherwise)

It records, for every object, which "key" stored it (``writer``, set by the
test to model the apiserver's current encryption key), so a test can prove that
every object was written again. Hooks let a test inject concurrent updates
(conflicts), deletions and an expired continue token.
"""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KINDS = {"secrets": "Secret", "configmaps": "ConfigMap"}


class FakeStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.rv = 100
        self.objects = {}       # (resource, ns, name) -> object
        self.stored_with = {}   # (resource, ns, name) -> writer label
        self.writer = "identity"
        self.writer_from = None      # a callable returning the writer label (e.g. read from an encryption config)
        self.conflict_once = set()   # names whose next PUT meets a concurrent update first
        self.delete_before_put = set()
        self.expire_token_once = False
        self.puts = 0
        self.fail_puts = 0           # answer this many PUTs with 500 (an apiserver in trouble)
        self.lists = 0

    def current_writer(self):
        return self.writer_from() if self.writer_from else self.writer

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def add(self, resource, ns, name, data):
        with self.lock:
            obj = {"metadata": {"name": name, "namespace": ns, "resourceVersion": self.next_rv(),
                                "uid": "uid-%s-%s" % (ns, name)}, "data": data}
            if resource == "secrets":
                obj["type"] = "Opaque"
            self.objects[(resource, ns, name)] = obj
            self.stored_with[(resource, ns, name)] = self.current_writer()


class Handler(BaseHTTPRequestHandler):
    store = None
    token = None

    def log_message(self, *args):
        pass

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code, reason, message):
        self._send(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                          "message": message, "code": code})

    def _auth(self):
        if self.headers.get("Authorization") != "Bearer %s" % self.token:
            self._status(401, "Unauthorized", "Unauthorized")
            return False
        return True

    def _route(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if parts[:2] != ["api", "v1"]:
            return None
        rest = parts[2:]
        if len(rest) == 1 and rest[0] in KINDS:
            return ("list", rest[0], None, None, query)
        if len(rest) == 4 and rest[0] == "namespaces" and rest[2] in KINDS:
            return ("one", rest[2], rest[1], rest[3], query)
        return None

    def do_GET(self):
        if not self._auth():
            return
        route = self._route()
        if route is None:
            return self._status(404, "NotFound", "no such path in the fake")
        what, resource, ns, name, query = route
        st = self.store
        with st.lock:
            if what == "one":
                obj = st.objects.get((resource, ns, name))
                if obj is None:
                    return self._status(404, "NotFound", "%s %s not found" % (resource, name))
                return self._send(200, dict(obj, kind=KINDS[resource], apiVersion="v1"))
            st.lists += 1
            keys = sorted(k for k in st.objects if k[0] == resource)
            start = 0
            token = query.get("continue")
            if token:
                if st.expire_token_once:
                    st.expire_token_once = False
                    return self._status(410, "Expired", "The provided continue parameter is too old")
                try:
                    last = tuple(json.loads(base64.b64decode(token)))
                except ValueError:
                    return self._status(400, "BadRequest", "bad continue token")
                start = len([k for k in keys if k <= last])
            limit = int(query.get("limit") or 0) or len(keys)
            page = keys[start:start + limit]
            meta = {"resourceVersion": str(st.rv)}
            if start + limit < len(keys):
                meta["continue"] = base64.b64encode(json.dumps(list(page[-1])).encode()).decode()
            items = [st.objects[k] for k in page]
            return self._send(200, {"kind": KINDS[resource] + "List", "apiVersion": "v1", "metadata": meta,
                                    "items": items})

    def do_PUT(self):
        if not self._auth():
            return
        route = self._route()
        if route is None or route[0] != "one":
            return self._status(405, "MethodNotAllowed", "not supported by the fake")
        _what, resource, ns, name, _query = route
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        st = self.store
        with st.lock:
            key = (resource, ns, name)
            if name in st.delete_before_put:
                st.delete_before_put.discard(name)
                st.objects.pop(key, None)
            if name in st.conflict_once and key in st.objects:
                st.conflict_once.discard(name)
                st.objects[key]["metadata"]["resourceVersion"] = st.next_rv()   # someone else wrote it
                st.stored_with[key] = st.current_writer()
            current = st.objects.get(key)
            if st.fail_puts > 0:
                st.fail_puts -= 1
                return self._status(500, "InternalError", "the fake was told to fail")
            if current is None:
                return self._status(404, "NotFound", "%s %s not found" % (resource, name))
            if body.get("metadata", {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return self._status(409, "Conflict", "the object has been modified; please apply your changes "
                                                     "to the latest version and try again")
            if body.get("data") != current.get("data"):
                return self._status(422, "Invalid", "the fake only accepts unchanged data (a re-encryption)")
            st.puts += 1
            new = dict(body)
            new.pop("kind", None)
            new.pop("apiVersion", None)
            new["metadata"] = dict(body["metadata"], resourceVersion=st.next_rv())
            st.objects[key] = new
            st.stored_with[key] = st.current_writer()
            return self._send(200, dict(new, kind=KINDS[resource], apiVersion="v1"))


class FakeSecretsAPI:
    """Start with ``with FakeSecretsAPI() as api:``; api.kubeconfig(path) writes a kubeconfig for it."""

    def __init__(self, token="fake-admin-token"):
        self.store = FakeStore()
        handler = type("BoundHandler", (Handler,), {"store": self.store, "token": token})
        self.token = token
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, path):
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "admin"}}],
        }))
        return str(path)
