# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# Re-encryption of stored objects through the Kubernetes API: the upstream
# `kubectl get secrets -A -o json | kubectl replace -f -`, done with the
# kubernetes Python client: list with pagination (limit/continue), replace
# every object unchanged (so the apiserver writes it again with the current
# writer key), re-read and retry on 409 Conflict, skip objects deleted
# meanwhile, restart the listing when the continue token expired (410).
# Objects are kept as raw JSON dicts so no field is lost to the client's models.
"""Rewrite every Secret (and other core resources) through the API so it is stored with the current key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._k8s_api import describe_api_error

# resource -> (list all namespaces, read, replace) method names of CoreV1Api
CORE_RESOURCES = {
    "secrets": ("list_secret_for_all_namespaces", "read_namespaced_secret", "replace_namespaced_secret", "Secret"),
    "configmaps": ("list_config_map_for_all_namespaces", "read_namespaced_config_map",
                   "replace_namespaced_config_map", "ConfigMap"),
}


class ReencryptError(Exception):
    """Re-encryption could not finish; the message says which object and why."""


def _error(exc, action, obj, where):
    """ReencryptError with the one message for an API error (where: {server, kubeconfig})."""
    return ReencryptError(describe_api_error(exc, action, obj, (where or {}).get("server"),
                                             (where or {}).get("kubeconfig")))


def unsupported(resources):
    """Resources this client cannot rewrite (anything outside the core group it knows)."""
    return [r for r in resources if r not in CORE_RESOURCES]


def _status(exc):
    return getattr(exc, "status", None)


def _json(response):
    data = response.data if hasattr(response, "data") else response
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data) if isinstance(data, str) else data


def _pages(core, list_name, page_size, what="objects", where=None):
    """Yield pages of raw objects; restarts from the beginning once if the continue token expired."""
    token = None
    restarted = 0
    while True:
        kwargs = {"limit": page_size, "_preload_content": False}
        if token:
            kwargs["_continue"] = token
        try:
            page = _json(getattr(core, list_name)(**kwargs))
        except Exception as exc:  # ApiException, kept generic so the module needs no import here
            if _status(exc) == 410 and restarted < 3:
                token, restarted = None, restarted + 1
                continue
            raise _error(exc, "list", what + " in all namespaces", where)
        yield page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return


def rewrite(core, resource, page_size=100, max_retries=5, check_mode=False, seen=None, where=None):
    """Replace every object of ``resource``; return counters.

    core: a kubernetes.client.CoreV1Api (or anything with the same methods).
    """
    if resource not in CORE_RESOURCES:
        raise ReencryptError("cannot re-encrypt %r: only %s are supported" % (resource, ", ".join(CORE_RESOURCES)))
    list_name, read_name, replace_name, kind = CORE_RESOURCES[resource]
    counts = {"listed": 0, "replaced": 0, "conflicts": 0, "gone": 0}
    done = set() if seen is None else seen
    for items in _pages(core, list_name, page_size, resource, where):
        for obj in items:
            meta = obj.get("metadata") or {}
            ident = (meta.get("namespace"), meta.get("name"))
            if ident in done:
                continue          # listing restarted after a 410: already rewritten
            counts["listed"] += 1
            if check_mode:
                done.add(ident)
                continue
            _replace_one(core, read_name, replace_name, kind, obj, max_retries, counts, where)
            done.add(ident)
    return counts


def _replace_one(core, read_name, replace_name, kind, obj, max_retries, counts, where=None):
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace"), meta.get("name")
    body = dict(obj)
    body.setdefault("apiVersion", "v1")
    body.setdefault("kind", kind)
    for attempt in range(max_retries + 1):
        try:
            getattr(core, replace_name)(name, namespace, body, _preload_content=False)
            counts["replaced"] += 1
            return
        except Exception as exc:
            status = _status(exc)
            if status == 404:
                counts["gone"] += 1
                return
            if status != 409 or attempt == max_retries:
                error = _error(exc, "replace", "%s %s/%s" % (kind, namespace, name), where)
                if status == 409:
                    error = ReencryptError("%s (still in conflict after %d retries)" % (error, max_retries))
                raise error
            counts["conflicts"] += 1
            try:
                body = _json(getattr(core, read_name)(name, namespace, _preload_content=False))
            except Exception as exc2:
                if _status(exc2) == 404:
                    counts["gone"] += 1
                    return
                raise _error(exc2, "read", "%s %s/%s" % (kind, namespace, name), where)
            body.setdefault("apiVersion", "v1")
            body.setdefault("kind", kind)


def reencrypt(core, resources, page_size=100, max_retries=5, check_mode=False, where=None):
    """Rewrite every object of every resource; {resource: counters}.

    where: {server, kubeconfig} named in error messages.
    """
    bad = unsupported(resources)
    if bad:
        raise ReencryptError("cannot re-encrypt %s: only %s are supported; re-encrypt those by hand "
                             "(kubectl get <resource> -A -o json | kubectl replace -f -)"
                             % (", ".join(bad), ", ".join(CORE_RESOURCES)))
    return {r: rewrite(core, r, page_size, max_retries, check_mode, where=where) for r in resources}


__all__ = ["CORE_RESOURCES", "ReencryptError", "unsupported", "rewrite", "reencrypt"]
