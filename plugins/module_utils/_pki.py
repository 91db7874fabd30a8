# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, it may
# change without notice. The one X.509/PKI library of the collection (built on
# `cryptography`): keys, CAs and leaf certificates with kubeadm's subjects, SANs
# and usages, certificate inspection, chain checks and kubeconfigs.
# No Ansible import here.

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import traceback

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:   # the modules that use this file fail with missing_required_lib("cryptography")
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

# kubeadm constants (cmd/kubeadm/app/constants/constants.go)
CA_VALIDITY_DAYS = 3650
LEAF_VALIDITY_DAYS = 365
BACKDATE = datetime.timedelta(minutes=5)

CA_KEY_USAGES = ("digital_signature", "key_encipherment", "key_cert_sign")
LEAF_KEY_USAGES = ("digital_signature", "key_encipherment")

_EKU_OIDS = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
} if CRYPTOGRAPHY_IMPORT_ERROR is None else {}
_EKU_NAMES = {v: k for k, v in _EKU_OIDS.items()}
_KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment",
              "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")


class PKIError(Exception):
    """Bad PKI input (unparsable PEM, wrong key, bad profile)."""


# --------------------------------------------------------------------------- time
def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _not_before(cert):
    v = getattr(cert, "not_valid_before_utc", None)
    return v if v is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert):
    v = getattr(cert, "not_valid_after_utc", None)
    return v if v is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


# --------------------------------------------------------------------------- PEM
def _b(data):
    return data.encode("ascii") if isinstance(data, str) else data


def load_cert(pem):
    """First certificate of a PEM text (str or bytes)."""
    if isinstance(pem, x509.Certificate):
        return pem
    try:
        return x509.load_pem_x509_certificate(_b(pem))
    except (ValueError, TypeError) as exc:
        raise PKIError("not a PEM certificate: %s" % exc)


def load_certs(pem):
    """Every certificate of a PEM bundle, in order (other blocks, such as a key, are skipped); [] for none."""
    data = _b(pem or b"")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except (ValueError, TypeError) as exc:
        raise PKIError("not a PEM certificate bundle: %s" % exc)


def load_key(pem):
    if not isinstance(pem, (str, bytes)):
        return pem
    try:
        return serialization.load_pem_private_key(_b(pem), password=None)
    except (ValueError, TypeError) as exc:
        raise PKIError("not an unencrypted PEM private key: %s" % exc)


def cert_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_to_pem(key):
    """Private key PEM as kubeadm writes it (PKCS#1 for RSA, SEC1 for EC)."""
    fmt = serialization.PrivateFormat.TraditionalOpenSSL
    if isinstance(key, ed25519.Ed25519PrivateKey):
        fmt = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             serialization.NoEncryption()).decode("ascii")


def public_key_to_pem(key):
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def bundle(*pems):
    """Concatenate PEM certificates (deduplicated by fingerprint, order kept)."""
    seen, out = set(), []
    for pem in pems:
        for cert in load_certs(pem):
            fp = fingerprint(cert)
            if fp not in seen:
                seen.add(fp)
                out.append(cert_to_pem(cert))
    return "".join(out)


# --------------------------------------------------------------------------- keys
def generate_private_key(kind="rsa", size=2048):
    """kind: rsa (size 2048..8192) or ecdsa (size 256 or 384)."""
    if kind == "rsa":
        if size < 2048:
            raise PKIError("RSA keys shorter than 2048 bits are refused (got %s)" % size)
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    if kind in ("ecdsa", "ec"):
        curves = {256: ec.SECP256R1(), 384: ec.SECP384R1()}
        if size not in curves:
            raise PKIError("ECDSA size must be 256 or 384 (got %s)" % size)
        return ec.generate_private_key(curves[size])
    raise PKIError("unknown key kind %r: use rsa or ecdsa" % kind)


def generate_sa_keypair(kind="rsa", size=2048):
    """Service-account signing key pair as kubeadm writes it: (sa.key PEM, sa.pub PEM)."""
    key = generate_private_key(kind, size)
    return key_to_pem(key), public_key_to_pem(key)


def key_matches_cert(key_pem, cert_pem):
    key = load_key(key_pem)
    cert = load_cert(cert_pem)
    return public_key_to_pem(key) == public_key_to_pem(cert.public_key())


# --------------------------------------------------------------------------- issue
def _name(cn, organizations=()):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _key_usage(names):
    unknown = set(names) - set(_KU_FIELDS)
    if unknown:
        raise PKIError("unknown key usage(s): %s" % ", ".join(sorted(unknown)))
    kw = {f: f in names for f in _KU_FIELDS}
    return x509.KeyUsage(encipher_only=False, decipher_only=False, **kw)


def _sign_hash(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _serial():
    return x509.random_serial_number()


def issue_ca(cn, key, days=CA_VALIDITY_DAYS, organizations=(), now=None):
    """Self-signed CA like kubeadm: SAN DNS:<cn>, CA:TRUE critical, keyCertSign."""
    key = load_key(key)
    now = now or _now()
    name = _name(cn, organizations)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(_key_usage(CA_KEY_USAGES), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    )
    return builder.sign(key, _sign_hash(key))


def _sans(profile):
    out = [x509.DNSName(d) for d in profile.get("dns_names", ())]
    out += [x509.IPAddress(ipaddress.ip_address(i)) for i in profile.get("ip_addresses", ())]
    return out


def issue_leaf(ca_cert, ca_key, profile, key, days=LEAF_VALIDITY_DAYS, now=None):
    """Leaf certificate for `profile` (see kubeadm_profiles) signed by the CA."""
    ca_cert = load_cert(ca_cert)
    ca_key = load_key(ca_key)
    key = load_key(key)
    if not key_matches_cert(ca_key, ca_cert):
        raise PKIError("the CA key does not match the CA certificate %s" % ca_cert.subject.rfc4514_string())
    if not profile.get("cn"):
        raise PKIError("profile without cn: %r" % (profile,))
    ekus = profile.get("ekus", ())
    unknown = [e for e in ekus if e not in _EKU_OIDS]
    if unknown:
        raise PKIError("unknown extended key usage(s): %s" % ", ".join(unknown))
    now = now or _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(profile["cn"], profile.get("organizations", ())))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(_key_usage(profile.get("key_usages", LEAF_KEY_USAGES)), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
                       critical=False)
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage([_EKU_OIDS[e] for e in ekus]), critical=False)
    sans = _sans(profile)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, _sign_hash(ca_key))


# --------------------------------------------------------------------------- kubeadm profiles
def _uniq(seq):
    out = []
    for item in seq:
        if item and item not in out:
            out.append(item)
    return out


def kubeadm_profiles(node_name, node_ips, service_ip="10.96.0.1", dns_domain="cluster.local",
                     cluster_name="kubernetes", kubeadm_minor=28):
    """Every certificate kubeadm v1.<kubeadm_minor> issues, by name, with its CA and file.

    From kubeadm 1.29 on (KEP-4214), admin.conf and apiserver-kubelet-client are in the
    group kubeadm:cluster-admins (bound to cluster-admin by kubeadm), super-admin.conf is
    the one system:masters kubeconfig, and the etcd client certificates carry no group.

    Each profile: {cn, organizations, dns_names, ip_addresses, ekus, key_usages,
    ca: "ca"|"front-proxy-ca"|"etcd-ca", path: relative to the pki dir (certs)
    or kubeconfig: file under /etc/kubernetes (client certs in kubeconfigs)}.
    """
    if isinstance(node_ips, str):
        node_ips = [node_ips]
    node_ips = _uniq(str(ipaddress.ip_address(i)) for i in node_ips)
    leaf = {"key_usages": list(LEAF_KEY_USAGES)}

    def prof(cn, ca, ekus, orgs=(), dns=(), ips=(), **extra):
        p = dict(cn=cn, organizations=list(orgs), dns_names=list(dns), ip_addresses=list(ips),
                 ekus=list(ekus), ca=ca, **leaf)
        p.update(extra)
        return p

    apiserver_dns = [node_name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                     "kubernetes.default.svc." + dns_domain]
    etcd_dns = [node_name, "localhost"]
    etcd_ips = _uniq(node_ips + ["127.0.0.1", "::1"])
    server_client = ["server_auth", "client_auth"]
    masters = ["system:masters"]
    admins = ["kubeadm:cluster-admins"] if kubeadm_minor >= 29 else masters
    etcd_clients = [] if kubeadm_minor >= 29 else masters
    return {
        "apiserver": prof("kube-apiserver", "ca", ["server_auth"], dns=apiserver_dns,
                          ips=_uniq([service_ip] + node_ips), path="apiserver"),
        "apiserver-kubelet-client": prof("kube-apiserver-kubelet-client", "ca", ["client_auth"],
                                         orgs=admins, path="apiserver-kubelet-client"),
        "front-proxy-client": prof("front-proxy-client", "front-proxy-ca", ["client_auth"],
                                   path="front-proxy-client"),
        "etcd/server": prof(node_name, "etcd-ca", server_client, dns=etcd_dns, ips=etcd_ips,
                            path="etcd/server"),
        "etcd/peer": prof(node_name, "etcd-ca", server_client, dns=etcd_dns, ips=etcd_ips,
                          path="etcd/peer"),
        "etcd/healthcheck-client": prof("kube-etcd-healthcheck-client", "etcd-ca", ["client_auth"],
                                        orgs=etcd_clients, path="etcd/healthcheck-client"),
        "apiserver-etcd-client": prof("kube-apiserver-etcd-client", "etcd-ca", ["client_auth"],
                                      orgs=etcd_clients, path="apiserver-etcd-client"),
        "admin": prof("kubernetes-admin", "ca", ["client_auth"], orgs=admins,
                      kubeconfig="admin.conf", user="kubernetes-admin"),
        "super-admin": prof("kubernetes-super-admin", "ca", ["client_auth"], orgs=masters,
                            kubeconfig="super-admin.conf", user="kubernetes-super-admin"),
        "controller-manager": prof("system:kube-controller-manager", "ca", ["client_auth"],
                                   kubeconfig="controller-manager.conf",
                                   user="system:kube-controller-manager"),
        "scheduler": prof("system:kube-scheduler", "ca", ["client_auth"],
                          kubeconfig="scheduler.conf", user="system:kube-scheduler"),
        "kubelet": prof("system:node:" + node_name, "ca", ["client_auth"], orgs=["system:nodes"],
                        kubeconfig="kubelet.conf", user="system:node:" + node_name),
    }


# kubeadm's CA certificates: name -> (CN, files relative to the pki dir)
KUBEADM_CAS = {
    "ca": {"cn": "kubernetes", "path": "ca"},
    "front-proxy-ca": {"cn": "front-proxy-ca", "path": "front-proxy-ca"},
    "etcd-ca": {"cn": "etcd-ca", "path": "etcd/ca"},
}

ETCD_PROFILES = ("etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client")


# --------------------------------------------------------------------------- inspect
def fingerprint(cert_pem):
    cert = load_cert(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _attr(name, oid):
    return [a.value for a in name.get_attributes_for_oid(oid)]


def _ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def cert_info(pem, now=None):
    """A plain dict describing a certificate (no key material)."""
    cert = load_cert(pem)
    now = now or _now()
    nb, na = _not_before(cert), _not_after(cert)
    san = _ext(cert, x509.SubjectAlternativeName)
    bc = _ext(cert, x509.BasicConstraints)
    ku = _ext(cert, x509.KeyUsage)
    eku = _ext(cert, x509.ExtendedKeyUsage)
    key_usages = []
    if ku is not None:
        key_usages = [f for f in _KU_FIELDS if getattr(ku, f)]
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        key_type, key_size = "rsa", pub.key_size
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key_type, key_size = "ecdsa", pub.curve.key_size
    else:
        key_type, key_size = type(pub).__name__, None
    return {
        "subject": cert.subject.rfc4514_string(),
        "subject_cn": (_attr(cert.subject, NameOID.COMMON_NAME) or [None])[0],
        "subject_o": _attr(cert.subject, NameOID.ORGANIZATION_NAME),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_cn": (_attr(cert.issuer, NameOID.COMMON_NAME) or [None])[0],
        "serial": format(cert.serial_number, "x"),
        "not_before": nb.isoformat(),
        "not_after": na.isoformat(),
        "days_left": int((na - now).total_seconds() // 86400),
        "validity_days": round((na - nb).total_seconds() / 86400, 2),
        "expired": na <= now,
        "not_yet_valid": nb > now,
        "sha256": fingerprint(cert),
        "dns_names": list(san.get_values_for_type(x509.DNSName)) if san else [],
        "ip_addresses": [str(i) for i in san.get_values_for_type(x509.IPAddress)] if san else [],
        "sans": ([("DNS:" + d) for d in san.get_values_for_type(x509.DNSName)]
                 + [("IP:" + str(i)) for i in san.get_values_for_type(x509.IPAddress)]) if san else [],
        "is_ca": bool(bc and bc.ca),
        "self_signed": cert.issuer == cert.subject,
        "key_usages": key_usages,
        "ekus": [_EKU_NAMES.get(o, o.dotted_string) for o in eku] if eku else [],
        "key_type": key_type,
        "key_size": key_size,
    }


def _signature_ok(cert, ca_cert):
    """cryptography's own check (issuer name and signature), for every algorithm it supports: RSA PKCS#1 v1.5
    and RSA-PSS, ECDSA, Ed25519, Ed448, DSA."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def chain_problems(leaf_pem, ca_pem, now=None):
    """Why `leaf` does not chain to `ca` (empty list: it does)."""
    leaf, ca = load_cert(leaf_pem), load_cert(ca_pem)
    now = now or _now()
    problems = []
    bc = _ext(ca, x509.BasicConstraints)
    if not (bc and bc.ca):
        problems.append("the issuer certificate is not a CA")
    if leaf.issuer != ca.subject:
        problems.append("issuer %s is not the CA %s" % (leaf.issuer.rfc4514_string(),
                                                        ca.subject.rfc4514_string()))
    elif not _signature_ok(leaf, ca):
        problems.append("signature does not verify with the CA key")
    for label, cert in (("certificate", leaf), ("CA", ca)):
        if _not_after(cert) <= now:
            problems.append("%s expired on %s" % (label, _not_after(cert).isoformat()))
        if _not_before(cert) > now:
            problems.append("%s not valid before %s" % (label, _not_before(cert).isoformat()))
    return problems


def verify_chain(leaf_pem, ca_pem, now=None):
    """True when leaf is signed by ca (issuer match + signature) and both are valid now."""
    return not chain_problems(leaf_pem, ca_pem, now)


def ca_problems(ca_cert_pem, ca_key_pem=None, now=None, min_days_left=0):
    """Why a CA cannot be used to issue (empty list: it can)."""
    try:
        cert = load_cert(ca_cert_pem)
    except PKIError as exc:
        return [str(exc)]
    info = cert_info(cert, now)
    problems = []
    if not info["is_ca"]:
        problems.append("%s is not a CA certificate (basicConstraints CA:TRUE missing)" % info["subject"])
    if "key_cert_sign" not in info["key_usages"]:
        problems.append("%s lacks the keyCertSign usage" % info["subject"])
    if info["expired"]:
        problems.append("%s expired on %s" % (info["subject"], info["not_after"]))
    elif info["days_left"] < min_days_left:
        problems.append("%s expires in %d days (< %d)" % (info["subject"], info["days_left"], min_days_left))
    if ca_key_pem is not None:
        try:
            if not key_matches_cert(ca_key_pem, cert):
                problems.append("the CA key does not match the CA certificate %s" % info["subject"])
        except PKIError as exc:
            problems.append("CA key: %s" % exc)
    return problems


def profile_problems(cert_pem, profile):
    """Differences between a certificate and a kubeadm profile (subject, SANs, EKUs)."""
    info = cert_info(cert_pem)
    problems = []
    if info["subject_cn"] != profile["cn"]:
        problems.append("CN %s, expected %s" % (info["subject_cn"], profile["cn"]))
    if sorted(info["subject_o"]) != sorted(profile.get("organizations", [])):
        problems.append("O %s, expected %s" % (info["subject_o"], profile.get("organizations", [])))
    missing_dns = set(profile.get("dns_names", [])) - set(info["dns_names"])
    want_ips = {str(ipaddress.ip_address(i)) for i in profile.get("ip_addresses", [])}
    missing_ips = want_ips - set(info["ip_addresses"])
    if missing_dns or missing_ips:
        problems.append("SANs missing: %s" % ", ".join(sorted(missing_dns) + sorted(missing_ips)))
    if sorted(info["ekus"]) != sorted(profile.get("ekus", [])):
        problems.append("extended key usages %s, expected %s" % (info["ekus"], profile.get("ekus", [])))
    return problems


def leaf_reasons(cert_pem, key_pem, ca_pem, profile, renew_days, max_validity_days, now=None):
    """Why a leaf certificate must be re-issued (empty: keep it): missing, not chaining to the CA,
    expiring within renew_days, valid longer than max_validity_days, subject/SANs/EKUs not the
    profile's, key missing or not matching."""
    if not cert_pem:
        return ["missing"]
    try:
        info = cert_info(cert_pem, now)
    except PKIError as exc:
        return [str(exc)]
    reasons = list(chain_problems(cert_pem, ca_pem, now))
    if not info["expired"] and info["days_left"] < renew_days:
        reasons.append("expires in %d days (< %d)" % (info["days_left"], renew_days))
    if info["validity_days"] > max_validity_days + 1:
        reasons.append("valid for %d days (> %d)" % (info["validity_days"], max_validity_days))
    reasons += profile_problems(cert_pem, profile)
    if key_pem is None:
        reasons.append("its key is missing")
    else:
        try:
            if not key_matches_cert(key_pem, cert_pem):
                reasons.append("its key does not match")
        except PKIError as exc:
            reasons.append("key: %s" % exc)
    return reasons


def kubelet_serving_profile(node_name, dns_names=(), ip_addresses=()):
    """The kubelet's serving certificate, as the kubelet asks for it with serverTLSBootstrap
    (CN system:node:<node>, O system:nodes, server auth) with the node's names and addresses."""
    if not node_name:
        raise PKIError("kubelet serving certificate: no node name")
    try:
        ips = _uniq(str(ipaddress.ip_address(str(i).strip())) for i in ip_addresses if str(i).strip())
    except ValueError as exc:
        raise PKIError("kubelet serving certificate: %s" % exc)
    return {"cn": "system:node:" + node_name, "organizations": ["system:nodes"],
            "dns_names": _uniq([node_name] + [str(d).strip() for d in dns_names]),
            "ip_addresses": ips, "ekus": ["server_auth"], "key_usages": list(LEAF_KEY_USAGES)}


def plan_leaf(ca_cert_pem, ca_key_pem, cert_pem, key_pem, profile, renew_days, max_validity_days,
              validity_days=LEAF_VALIDITY_DAYS, key_type="rsa", key_size=None, now=None):
    """Keep or re-issue one leaf certificate signed by a CA.

    -> {"issue": bool, "reasons": [...], "cert": PEM, "key": PEM, "info": cert_info of the result}.
    A re-issue gets a new key. PKIError on a CA that cannot sign (no key, expired, not a CA)
    or on validity_days longer than max_validity_days."""
    if validity_days > max_validity_days:
        raise PKIError("validity %d days is longer than the maximum %d" % (validity_days, max_validity_days))
    if renew_days >= validity_days:
        raise PKIError("renewal threshold %d days must be shorter than the validity %d days"
                       % (renew_days, validity_days))
    problems = ca_problems(ca_cert_pem, ca_key_pem, now=now) if ca_key_pem else ["no CA key"]
    if problems:
        raise PKIError("the CA cannot sign: %s" % "; ".join(problems))
    reasons = leaf_reasons(cert_pem, key_pem, ca_cert_pem, profile, renew_days, max_validity_days, now)
    if not reasons:
        return {"issue": False, "reasons": [], "cert": _b(cert_pem).decode(), "key": _b(key_pem).decode(),
                "info": cert_info(cert_pem, now)}
    key = generate_private_key(key_type, key_size or (2048 if key_type == "rsa" else 256))
    cert = cert_to_pem(issue_leaf(ca_cert_pem, ca_key_pem, profile, key, validity_days, now))
    return {"issue": True, "reasons": reasons, "cert": cert, "key": key_to_pem(key), "info": cert_info(cert, now)}


# --------------------------------------------------------------------------- kubeconfig
def _b64(pem):
    return base64.b64encode(_b(pem)).decode("ascii")


def make_kubeconfig(cluster_name, server, ca_pem, client_cert_pem, client_key_pem, user):
    """A kubeconfig laid out like kubeadm's (embedded base64 data)."""
    context = "%s@%s" % (user, cluster_name)
    doc = {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": _b64(ca_pem), "server": server},
                      "name": cluster_name}],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": {"client-certificate-data": _b64(client_cert_pem),
                                          "client-key-data": _b64(client_key_pem)}}],
    }
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def kubeconfig_client_cert(text):
    """PEM of the current user's embedded client certificate (None if not embedded)."""
    doc = yaml.safe_load(text) or {}
    users = {u.get("name"): u.get("user") or {} for u in doc.get("users") or []}
    current = doc.get("current-context")
    user_name = None
    for ctx in doc.get("contexts") or []:
        if ctx.get("name") == current:
            user_name = (ctx.get("context") or {}).get("user")
    user = users.get(user_name) or (next(iter(users.values())) if len(users) == 1 else {})
    data = user.get("client-certificate-data")
    return base64.b64decode(data).decode("ascii") if data else None


__all__ = [
    "CRYPTOGRAPHY_IMPORT_ERROR",
    "BACKDATE", "CA_KEY_USAGES", "CA_VALIDITY_DAYS", "ETCD_PROFILES", "KUBEADM_CAS",
    "LEAF_KEY_USAGES", "LEAF_VALIDITY_DAYS", "PKIError",
    "bundle", "ca_problems", "cert_info", "cert_to_pem", "chain_problems", "fingerprint",
    "generate_private_key", "generate_sa_keypair", "issue_ca", "issue_leaf", "key_matches_cert",
    "key_to_pem", "kubeadm_profiles", "kubeconfig_client_cert", "kubelet_serving_profile", "leaf_reasons",
    "load_cert", "load_certs", "load_key", "make_kubeconfig", "plan_leaf", "profile_problems", "public_key_to_pem", "verify_chain",
]
