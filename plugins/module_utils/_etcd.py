# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, it may
# change without notice. Pure logic for etcd hardening: the etcd version and
# the flags it knows, the etcd flag set, cipher suites etcd accepts, the choice
# of the etcd CA, the safe CA-rotation step of one member, and the certificate
# lifecycle. No Ansible import.

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki, _versions
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    STRONG_SUITES, TLSConfigError, cipher_suites_for, tls_min_version,
)


class EtcdConfigError(Exception):
    """Bad input for etcd hardening; the message names the variable and the fix."""


# HTTP/2 (etcd's gRPC) needs an AES-128-GCM ECDHE suite for the certificate's key
# type; etcd 3.4 dies with "http2: TLSConfig.CipherSuites is missing an
# HTTP/2-required AES_128_GCM_SHA256 cipher" otherwise.
HTTP2_REQUIRED = {
    "rsa": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ecdsa": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
}

DEFAULT_CIPHER_SUITES = (
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
)

MAX_LEAF_VALIDITY_DAYS = 3 * 365
ETCD_LEAVES = ("etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client")
CA_FILE = "etcd/ca"                 # pki-relative, without .crt/.key
BUNDLE_FILE = "etcd/ca-bundle.crt"  # trust bundle during a CA replacement


# --------------------------------------------------------------------------- version
# Versions and the flags each etcd takes: the version table (_versions.py).
parse_version = _versions.parse_etcd_version
version_str = _versions.etcd_version_str


def supports(flag, version):
    """True when etcd `version` takes `flag` (unknown version: only flags every etcd has)."""
    return _versions.flag_allowed("etcd", flag, version)


# --------------------------------------------------------------------------- TLS
def etcd_cipher_suites(names, key_type="rsa", varname="etcd_cipher_suites"):
    """Validated --cipher-suites list: Go names (OpenSSL spellings mapped), ECDHE+AEAD only,
    no TLS 1.3 names, CHACHA in the legacy spelling etcd 3.4 and 3.5 both accept, and the
    HTTP/2-required AES-128-GCM suite for the certificate key type present."""
    try:
        suites = cipher_suites_for(names, varname, "etcd")
    except TLSConfigError as exc:
        raise EtcdConfigError(str(exc))
    if not suites:
        raise EtcdConfigError("%s: give at least one cipher suite, e.g. %s"
                              % (varname, ", ".join(DEFAULT_CIPHER_SUITES)))
    weak = [s for s in suites if s not in STRONG_SUITES]
    if weak:
        raise EtcdConfigError(
            "%s: %s is not an ECDHE+AEAD suite; use only %s"
            % (varname, weak[0], ", ".join(STRONG_SUITES)))
    need = HTTP2_REQUIRED.get(key_type)
    if need and need not in suites:
        raise EtcdConfigError(
            "%s: add %s: etcd serves gRPC over HTTP/2, which requires it for %s certificates, "
            "and refuses to start without it" % (varname, need, key_type.upper()))
    return suites


def etcd_tls_min_version(value, varname="etcd_tls_min_version"):
    try:
        return tls_min_version(value, varname, "etcd")
    except TLSConfigError as exc:
        raise EtcdConfigError(str(exc))


# --------------------------------------------------------------------------- flags
def loopback_metrics_urls(current):
    """--listen-metrics-urls limited to loopback: loopback URLs are kept, others are
    moved to 127.0.0.1 on the same port; default http://127.0.0.1:2381 (kubeadm's)."""
    out = []
    for url in [u.strip() for u in (current or "").split(",") if u.strip()]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host in ("127.0.0.1", "localhost", "::1"):
            new = url
        else:
            port = parts.port or 2381
            new = urlunsplit((parts.scheme or "http", "127.0.0.1:%d" % port, parts.path, "", ""))
        if new not in out:
            out.append(new)
    return ",".join(out) or "http://127.0.0.1:2381"


def etcd_flags(version, pki_dir, trusted_ca_file, cipher_suites=None, tls_min=None,
               current_flags=None, key_type="rsa"):
    """The flags the role sets on etcd: {"flags": {...}, "absent_flags": [...], "skipped": [...]}.

    Flags the detected version does not know are left out (listed in "skipped");
    on an unknown version only flags every supported etcd knows are written."""
    current_flags = current_flags or {}
    pki = pki_dir.rstrip("/")
    flags = {
        "cert-file": "%s/etcd/server.crt" % pki,
        "key-file": "%s/etcd/server.key" % pki,
        "peer-cert-file": "%s/etcd/peer.crt" % pki,
        "peer-key-file": "%s/etcd/peer.key" % pki,
        "trusted-ca-file": trusted_ca_file,
        "peer-trusted-ca-file": trusted_ca_file,
        "client-cert-auth": "true",
        "peer-client-cert-auth": "true",
        "auto-tls": "false",
        "peer-auto-tls": "false",
        "listen-metrics-urls": loopback_metrics_urls(current_flags.get("listen-metrics-urls")),
    }
    if cipher_suites:
        flags["cipher-suites"] = ",".join(etcd_cipher_suites(cipher_suites, key_type))
    skipped = []
    if tls_min:
        value = etcd_tls_min_version(tls_min)
        if value == "TLS1.3" and cipher_suites:
            raise EtcdConfigError("etcd_tls_min_version: TLS1.3 cannot be combined with "
                                  "etcd_cipher_suites (etcd refuses it); use TLS1.2 or set "
                                  "etcd_cipher_suites: []")
        if supports("tls-min-version", version):
            flags["tls-min-version"] = value
        else:
            problem = _versions.flag_problem("etcd", "tls-min-version", version or "")
            skipped.append("tls-min-version (%s)" % problem)
    absent = []
    # etcd 3.6+: no --experimental-* flag is carried forward; kubeadm 1.34 writes the new names too
    for name in sorted(current_flags):
        if version is None or supports(name, version):
            continue
        replacement = _versions.etcd_replacement(name)
        if replacement is None:
            raise EtcdConfigError("the etcd manifest sets --%s: %s; remove it from the manifest (and the "
                                  "kubeadm-config etcd.local.extraArgs) first"
                                  % (name, _versions.flag_problem("etcd", name, version)))
        absent.append(name)
        new_name, new_value = replacement
        if new_name == "feature-gates":
            gates = [g for g in (flags.get("feature-gates") or current_flags.get("feature-gates") or "").split(",")
                     if g and not g.startswith(new_value.split("=")[0] + "=")]
            flags["feature-gates"] = ",".join(gates + [new_value])
        else:
            flags[new_name] = current_flags[name] if new_value is None else new_value
    return {"flags": flags, "absent_flags": absent, "skipped": skipped}


def apiserver_etcd_flags(pki_dir, trusted_ca_file):
    pki = pki_dir.rstrip("/")
    return {
        "etcd-cafile": trusted_ca_file,
        "etcd-certfile": "%s/apiserver-etcd-client.crt" % pki,
        "etcd-keyfile": "%s/apiserver-etcd-client.key" % pki,
    }


# --------------------------------------------------------------------------- options
def validate_options(opts):
    """Errors (strings naming the variable and the fix) for the role's options."""
    errors = []

    def num(name, lo, hi):
        value = opts.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append("%s: expected an integer, got %r" % (name, value))
            return None
        if not lo <= value <= hi:
            errors.append("%s: %d is out of range; use %d..%d" % (name, value, lo, hi))
            return None
        return value

    max_days = num("etcd_cert_max_validity_days", 1, MAX_LEAF_VALIDITY_DAYS)
    days = num("etcd_cert_validity_days", 1, MAX_LEAF_VALIDITY_DAYS)
    renew = num("etcd_cert_renew_days", 0, MAX_LEAF_VALIDITY_DAYS)
    num("etcd_ca_validity_days", 30, 36500)
    if max_days is not None and days is not None and days > max_days:
        errors.append("etcd_cert_validity_days: %d is longer than etcd_cert_max_validity_days (%d); "
                      "lower it" % (days, max_days))
    if renew is not None and days is not None and renew >= days:
        errors.append("etcd_cert_renew_days: %d must be shorter than etcd_cert_validity_days (%d), "
                      "or every run would re-issue" % (renew, days))
    if opts.get("etcd_key_type", "rsa") not in ("rsa", "ecdsa"):
        errors.append("etcd_key_type: use rsa or ecdsa, got %r" % opts.get("etcd_key_type"))
    try:
        if opts.get("etcd_cipher_suites"):
            etcd_cipher_suites(opts["etcd_cipher_suites"], opts.get("etcd_key_type", "rsa"))
        if opts.get("etcd_tls_min_version"):
            etcd_tls_min_version(opts["etcd_tls_min_version"])
    except EtcdConfigError as exc:
        errors.append(str(exc))
    return errors


# --------------------------------------------------------------------------- the etcd CA
def choose_ca(nodes, controller=None, now=None):
    """Pick the etcd CA every control-plane node must trust.

    nodes: [{name, etcd_ca_cert, etcd_ca_key, cluster_ca_cert, front_proxy_ca_cert}] (PEM or None)
    controller: {cert, key} kept by the operator, or None.
    Returns {"cert", "key", "source", "create": bool, "findings": [str]}: the newest valid
    dedicated CA whose key is available (controller first), else create=True."""
    findings = []
    shared = set()
    for node in nodes:
        for label in ("cluster_ca_cert", "front_proxy_ca_cert"):
            if node.get(label):
                shared.add(_pki.fingerprint(node[label]))
    keys = [k for k in [(controller or {}).get("key")] + [n.get("etcd_ca_key") for n in nodes] if k]

    def key_for(cert_pem):
        for key in keys:
            try:
                if _pki.key_matches_cert(key, cert_pem):
                    return key
            except _pki.PKIError:
                continue
        return None

    candidates = []
    sources = []
    if controller and controller.get("cert"):
        sources.append(("controller", controller["cert"]))
    sources += [(n["name"], n.get("etcd_ca_cert")) for n in nodes]
    for source, pem in sources:
        if not pem:
            findings.append("%s: no etcd CA certificate" % source)
            continue
        problems = _pki.ca_problems(pem, now=now)
        fp = _pki.fingerprint(pem) if not problems or "not a PEM" not in problems[0] else None
        if fp in shared:
            problems.append("the etcd CA is the cluster CA or the front-proxy CA (not a unique CA)")
        key = key_for(pem) if not problems else None
        if not problems and key is None:
            problems.append("its private key is on no node and not in the controller directory")
        if problems:
            findings.append("%s: etcd CA rejected: %s" % (source, "; ".join(problems)))
            continue
        nb = _pki.cert_info(pem, now)["not_before"]
        candidates.append((source == "controller", nb, source, pem, key))
    if not candidates:
        return {"cert": None, "key": None, "source": "new", "create": True, "findings": findings}
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    best = candidates[0]
    best_fp = _pki.fingerprint(best[3])
    for node in nodes:
        pem = node.get("etcd_ca_cert")
        if pem and _pki.load_certs(pem) and _pki.fingerprint(pem) != best_fp:
            findings.append("%s: holds another etcd CA than %s's; it will be replaced" % (node["name"], best[2]))
    return {"cert": best[3], "key": best[4], "source": best[2], "create": False, "findings": findings}


def trust_fingerprints(*pems):
    """Fingerprints trusted by etcd: those present in every given trust file (client and peer)."""
    sets = []
    for pem in pems:
        try:
            sets.append([_pki.fingerprint(c) for c in _pki.load_certs(pem or "")])
        except _pki.PKIError:
            sets.append([])
    if not sets:
        return []
    return [fp for fp in sets[0] if all(fp in s for s in sets[1:])]


def leaves_chain_to(leaves, ca_pem, now=None):
    """True when every etcd leaf certificate (dict profile -> PEM) chains to ca_pem."""
    for name in ETCD_LEAVES:
        pem = leaves.get(name)
        if not pem or _pki.chain_problems(pem, ca_pem, now):
            return False
    return True


def rotation_step(this, states, ca_fp):
    """The one safe step for member `this` while the others keep running.

    states: {node: {"trust": [fingerprints etcd trusts now], "leaves_ok": bool (leaves chain
    to the desired CA)}}. A member may present certificates of the new CA only once every
    other member trusts it, and may stop trusting the old CA only once every other member
    presents certificates of the new CA. Returns {"phase", "trust": "ca"|"bundle", "reissue"}.
    """
    me = states[this]
    others = [s for name, s in states.items() if name != this]
    if me["trust"] == [ca_fp] and me["leaves_ok"]:
        return {"phase": "done", "trust": "ca", "reissue": False}
    if not all(ca_fp in s["trust"] for s in others):
        return {"phase": "trust", "trust": "bundle", "reissue": False}
    reissue = not me["leaves_ok"]
    if all(s["leaves_ok"] for s in others):
        return {"phase": "finalize", "trust": "ca", "reissue": reissue}
    return {"phase": "reissue", "trust": "bundle", "reissue": reissue}


def trust_bundle(ca_pem, current_trust_pems):
    """The transition bundle: the new CA first, then what the member trusts now."""
    return _pki.bundle(ca_pem, *[p for p in current_trust_pems if p])


# Why a leaf must be re-issued: the one implementation is _pki's (the kubelet role uses it too).
leaf_reasons = _pki.leaf_reasons


# --------------------------------------------------------------------------- one node's plan
def check_controller_ca(controller, now=None):
    """The operator's CA (controller directory) is input: a bad one fails, it is never replaced."""
    if not controller or not (controller.get("cert") or controller.get("key")):
        return None
    where = controller.get("where", "etcd_ca_controller_dir")
    if not controller.get("cert") or not controller.get("key"):
        raise EtcdConfigError("%s: holds only one of ca.crt and ca.key; put both there (0600) or remove both"
                              % where)
    problems = _pki.ca_problems(controller["cert"], controller["key"], now=now)
    if problems:
        raise EtcdConfigError("%s: the etcd CA there cannot be used: %s; fix it or remove ca.crt and "
                              "ca.key to let the role create a new CA" % (where, "; ".join(problems)))
    return controller


def _key_fits(key_pem, cert_pem):
    try:
        return bool(key_pem) and _pki.key_matches_cert(key_pem, cert_pem)
    except _pki.PKIError:
        return False


def plan_node(node, node_ips, nodes, pki_dir, options, controller=None, now=None):
    """Everything the etcd role does on `node`, decided before anything is touched.

    nodes: every control-plane node as {name, etcd_ca_cert, etcd_ca_key, cluster_ca_cert,
    front_proxy_ca_cert, trusted_ca, peer_trusted_ca, leaves: {profile: PEM}, keys: {profile:
    PEM}} (keys needed for `node` only). options: the role's etcd_* options plus etcd_version
    and current_flags. Raises EtcdConfigError on bad input.
    Returns {ca, step, files: [{path, content, mode, secret}], remove, trust_file,
    etcd_flags, apiserver_flags, skipped_flags, leaves, controller_write}."""
    errors = validate_options(options)
    if errors:
        raise EtcdConfigError("; ".join(errors))
    me = next((n for n in nodes if n["name"] == node), None)
    if me is None:
        raise EtcdConfigError("node %s is not in the list of control-plane nodes given" % node)
    controller = check_controller_ca(controller, now)
    choice = choose_ca(nodes, controller, now)
    key_type = options.get("etcd_key_type", "rsa")
    key_size = options.get("etcd_key_size") or (2048 if key_type == "rsa" else 256)
    if choice["create"]:
        key = _pki.generate_private_key(key_type, key_size)
        choice["cert"] = _pki.cert_to_pem(_pki.issue_ca("etcd-ca", key, options["etcd_ca_validity_days"], now=now))
        choice["key"] = _pki.key_to_pem(key)
    ca_pem, ca_key = choice["cert"], choice["key"]
    ca_fp = _pki.fingerprint(ca_pem)
    states = {}
    for n in nodes:
        states[n["name"]] = {
            "trust": trust_fingerprints(n.get("trusted_ca"), n.get("peer_trusted_ca")),
            "leaves_ok": leaves_chain_to(n.get("leaves") or {}, ca_pem, now),
        }
    step = rotation_step(node, states, ca_fp)
    pki = pki_dir.rstrip("/")
    files, remove = [], []

    def put(rel, content, secret=False):
        files.append({"path": "%s/%s" % (pki, rel), "content": content,
                      "mode": "0600" if secret else "0644", "secret": secret})

    if not me.get("etcd_ca_cert") or _pki.fingerprint(me["etcd_ca_cert"]) != ca_fp:
        put(CA_FILE + ".crt", ca_pem)
    key_on_nodes = options.get("etcd_ca_key_on_nodes", True)
    if key_on_nodes:
        if not _key_fits(me.get("etcd_ca_key"), ca_pem):
            put(CA_FILE + ".key", ca_key, secret=True)
    elif me.get("etcd_ca_key") is not None:
        remove.append("%s/%s.key" % (pki, CA_FILE))
    controller_write = None
    if not key_on_nodes and choice["source"] != "controller":
        controller_write = {"cert": ca_pem, "key": ca_key}
    if step["trust"] == "bundle":
        trust_file = "%s/%s" % (pki, BUNDLE_FILE)
        current = [me.get("trusted_ca")] if me.get("trusted_ca") else []
        put(BUNDLE_FILE, trust_bundle(ca_pem, current))
    else:
        # the bundle file is left in place: the running manifest (or a rollback) may still use it
        trust_file = "%s/%s.crt" % (pki, CA_FILE)
    profiles = _pki.kubeadm_profiles(node, node_ips)
    leaves = {}
    for name in ETCD_LEAVES:
        reasons = leaf_reasons((me.get("leaves") or {}).get(name), (me.get("keys") or {}).get(name), ca_pem,
                               profiles[name], options["etcd_cert_renew_days"],
                               options["etcd_cert_max_validity_days"], now)
        action = "keep"
        if reasons and step["phase"] == "trust":
            action = "wait"   # other members do not trust the new CA yet
        elif reasons:
            action = "reissue"
            key = _pki.generate_private_key(key_type, key_size)
            cert = _pki.issue_leaf(ca_pem, ca_key, profiles[name], key, options["etcd_cert_validity_days"], now=now)
            put(name + ".crt", _pki.cert_to_pem(cert))
            put(name + ".key", _pki.key_to_pem(key), secret=True)
        leaves[name] = {"action": action, "reasons": reasons}
    version = parse_version(options.get("etcd_version"))
    built = etcd_flags(version, pki_dir, trust_file, options.get("etcd_cipher_suites"),
                       options.get("etcd_tls_min_version"), options.get("current_flags"), key_type)
    return {
        "ca": {"source": choice["source"], "created": choice["create"], "fingerprint": ca_fp,
               "findings": choice["findings"], "not_after": _pki.cert_info(ca_pem, now)["not_after"]},
        "step": step,
        "files": files,
        "remove": remove,
        "trust_file": trust_file,
        "etcd_version": version_str(version),
        "etcd_flags": built["flags"],
        "etcd_absent_flags": built["absent_flags"],
        "skipped_flags": built["skipped"],
        "apiserver_flags": apiserver_etcd_flags(pki_dir, trust_file),
        "leaves": leaves,
        "controller_write": controller_write,
    }


__all__ = [
    "BUNDLE_FILE", "CA_FILE", "DEFAULT_CIPHER_SUITES", "ETCD_LEAVES", "EtcdConfigError",
    "HTTP2_REQUIRED", "MAX_LEAF_VALIDITY_DAYS",
    "apiserver_etcd_flags", "check_controller_ca", "choose_ca", "etcd_cipher_suites", "etcd_flags",
    "etcd_tls_min_version", "leaf_reasons", "leaves_chain_to", "loopback_metrics_urls",
    "parse_version", "plan_node", "rotation_step", "supports", "trust_bundle", "trust_fingerprints",
    "validate_options", "version_str",
]
