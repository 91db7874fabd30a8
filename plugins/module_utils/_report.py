# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, may change
# without notice. No Ansible import here; unit-tested with pytest.
#
# The CIS compliance report: per node, per control results (from cis_node_facts)
# gathered into one document and rendered as JSON, JUnit XML, Markdown and a
# self-contained HTML grid; and docs/controls.md from the CIS table. Output is
# deterministic (sorted nodes, table order, no timestamps), so an unchanged
# cluster gives byte-identical reports.
"""Build and render the CIS compliance report and the controls documentation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from xml.etree import ElementTree

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._cis import (
    BENCHMARKS,
    CONTROLS,
    DEFAULT_BENCHMARK,
    STATUSES,
    controls,
    describe_test,
)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._version_checks import (
    summary as version_summary, version_notes)

REPORT_SCHEMA_VERSION = 1   # "versions", "benchmark_source" and "upgrade" are optional keys
_SYMBOL = {"pass": "PASS", "fail": "FAIL", "waived": "WAIVED", "not_applicable": "N/A", "manual": "MANUAL",
           "missing": "-"}
_COLOUR = {"pass": "#c8e6c9", "fail": "#ef9a9a", "waived": "#fff59d", "not_applicable": "#eeeeee",
           "manual": "#bbdefb", "missing": "#ffffff"}
_FIELDS = ("id", "title", "section", "scored", "status", "observed", "expected", "reason", "letter", "intent")


class ReportError(Exception):
    """The node results cannot be assembled into a report."""


CLUSTER_ROW = "cluster"


def build_report(nodes, benchmark=DEFAULT_BENCHMARK, not_evaluated=None, cluster=None, versions=None,
                 benchmark_source=None, upgrade=None):
    """nodes: {host: {results: [...], node_roles: [...]} } (cis_node_facts results) -> the report dict.

    not_evaluated: hosts of the play that produced no results (unreachable or failed before the audit);
    they are listed, never silently dropped.
    cluster: the cluster row (cis_cluster_results: results, node_roles [cluster], findings) from the
    cluster_policies role; it becomes the row "cluster" and its findings the report's "cluster_findings".
    versions: {host: Kubernetes version}; each node gets the version table's notes for its version.
    benchmark_source: how the benchmark was chosen ("operator", or the version it was detected from).
    upgrade: {target_version, nodes: {host: [findings]}} from _version_checks.upgrade_findings.
    """
    if cluster:
        nodes = dict(nodes or {})
        nodes[CLUSTER_ROW] = cluster
    if benchmark not in BENCHMARKS:
        raise ReportError("unknown benchmark %r" % (benchmark,))
    if not isinstance(nodes, dict) or not nodes:
        raise ReportError("no node results to report: run cis_node_facts on at least one node (not evaluated: %s)"
                          % (", ".join(sorted(not_evaluated or [])) or "none"))
    table = controls(benchmark)
    out_nodes = {}
    failed = []
    totals = dict((s, 0) for s in STATUSES)
    for host in sorted(nodes):
        data = nodes[host] or {}
        if data.get("failed") or "results" not in data:
            raise ReportError("no CIS results from %s: %s" % (host, data.get("msg", "cis_node_facts did not run")))
        if data.get("benchmark", benchmark) != benchmark:
            raise ReportError("%s was evaluated for %s, the report is for %s" % (host, data["benchmark"], benchmark))
        rows = [dict((k, r.get(k)) for k in _FIELDS) for r in data["results"]]
        summary = dict((s, 0) for s in STATUSES)
        for row in rows:
            summary[row["status"]] += 1
            totals[row["status"]] += 1
            if row["status"] == "fail":
                failed.append({"node": host, "id": row["id"], "title": row["title"], "observed": row["observed"],
                               "expected": row["expected"], "reason": row["reason"]})
        out_nodes[host] = {"node_roles": list(data.get("node_roles") or []), "summary": summary, "results": rows}
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "benchmark": benchmark,
        "controls": [{"id": c["id"], "title": c["title"], "section": c["section"], "scored": c["scored"],
                      "automated": c["automated"], "enforced_by": c["enforced_by"]} for c in table],
        "nodes": out_nodes,
        "totals": totals,
        "failed": failed,
        "not_evaluated": sorted(set(not_evaluated or []) - set(out_nodes)),
        "cluster_findings": [dict((k, f.get(k)) for k in _FINDING_FIELDS) for f in (cluster or {}).get("findings") or []],
    }
    if versions is not None or benchmark_source:
        report["benchmark_source"] = benchmark_source or "operator"
        report["versions"] = dict((host, {"kubernetes_version": (versions or {}).get(host),
                                          "notes": version_notes((versions or {}).get(host))})
                                  for host in sorted(out_nodes) if host != CLUSTER_ROW)
    if upgrade:
        findings = dict((host, list((upgrade.get("nodes") or {}).get(host) or [])) for host in
                        sorted(upgrade.get("nodes") or {}))
        report["upgrade"] = {"target_version": upgrade.get("target_version"), "nodes": findings,
                             "summary": version_summary([f for items in findings.values() for f in items])}
    return report


_FINDING_FIELDS = ("check", "object", "namespace", "detail", "why", "counts", "enforced")
_CHECK_IDS_CACHE = {}


def _check_ids(benchmark):
    """check key -> control id in a benchmark (section 5), for the findings table."""
    if benchmark not in _CHECK_IDS_CACHE:
        _CHECK_IDS_CACHE[benchmark] = dict((c["target"].get("check"), c["id"]) for c in controls(benchmark)
                                           if c["target"]["type"] == "cluster" and c["target"].get("check"))
    return _CHECK_IDS_CACHE[benchmark]


def findings_rows(report):
    """The cluster findings that count, each with its control id in the report's benchmark ('-' for checklist)."""
    ids = _check_ids(report["benchmark"])
    return [dict(f, id=ids.get(f["check"], "-")) for f in report.get("cluster_findings") or [] if f.get("counts")]


def summary_lines(report):
    """One line per node with its counts, then one line per failed control (observed vs expected)."""
    lines = []
    for host, node in report["nodes"].items():
        counts = ", ".join("%s %d" % (s, node["summary"][s]) for s in STATUSES)
        lines.append("%s (%s): %s" % (host, ", ".join(node["node_roles"]), counts))
    for host in report.get("not_evaluated", []):
        lines.append("%s: NOT EVALUATED (unreachable or failed before the audit)" % host)
    for item in report["failed"]:
        lines.append("FAIL %s %s %s: observed %s; expected %s" % (
            item["node"], item["id"], item["title"], item["observed"] or "(nothing)", item["expected"]))
    upgrade = report.get("upgrade")
    if upgrade:
        for host, findings in upgrade["nodes"].items():
            for f in findings:
                if f["severity"] != "note":
                    lines.append("UPGRADE to %s %s %s: %s %s: %s%s" % (
                        upgrade["target_version"], host, f["severity"].upper(), f["item"], f["where"], f["message"],
                        (" Fix: " + f["fix"]) if f["fix"] else ""))
    return lines


def render_json(report):
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def render_junit(report):
    """JUnit XML: one testsuite per node, one testcase per control; fail -> <failure>, waived/n.a./manual -> <skipped>."""
    suites = ElementTree.Element("testsuites", name="CIS Kubernetes Benchmark %s" % report["benchmark"])
    tot = {"tests": 0, "failures": 0, "skipped": 0}
    for host, node in report["nodes"].items():
        counts = {"tests": len(node["results"]), "failures": node["summary"]["fail"],
                  "skipped": len(node["results"]) - node["summary"]["fail"] - node["summary"]["pass"]}
        suite = ElementTree.SubElement(suites, "testsuite", name=host, errors="0",
                                       **dict((k, str(v)) for k, v in counts.items()))
        for key in tot:
            tot[key] += counts[key]
        for row in node["results"]:
            case = ElementTree.SubElement(suite, "testcase", classname="%s.%s" % (report["benchmark"], row["section"]),
                                          name="%s %s" % (row["id"], row["title"]))
            detail = "observed: %s\nexpected: %s\nreason: %s\nkube-bench letter: %s, intent: %s" % (
                row["observed"], row["expected"], row["reason"], row["letter"], row["intent"])
            if row["status"] == "fail":
                failure = ElementTree.SubElement(case, "failure", type="cis",
                                                 message="observed %s; expected %s" % (row["observed"], row["expected"]))
                failure.text = detail
            elif row["status"] != "pass":
                reason = row["reason"] or ""
                message = reason if reason.startswith(row["status"] + ":") else "%s: %s" % (row["status"], reason)
                ElementTree.SubElement(case, "skipped", message=message)
            else:
                ElementTree.SubElement(case, "system-out").text = detail
    for key, value in tot.items():
        suites.set(key, str(value))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def _md(text):
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def _grid(report):
    """[(control, {host: row or None})] in table order."""
    index = dict((host, dict((r["id"], r) for r in node["results"])) for host, node in report["nodes"].items())
    return [(ctl, dict((host, index[host].get(ctl["id"])) for host in report["nodes"])) for ctl in report["controls"]]


def render_markdown(report):
    hosts = list(report["nodes"])
    out = ["# CIS Kubernetes Benchmark report (%s)" % report["benchmark"], ""]
    if report.get("benchmark_source"):
        out += ["Benchmark: %s (%s)." % (report["benchmark"], report["benchmark_source"]), ""]
    out += ["| node | roles | " + " | ".join(STATUSES) + " |", "|---|---|" + "---|" * len(STATUSES)]
    for host, node in report["nodes"].items():
        out.append("| %s | %s | %s |" % (host, ", ".join(node["node_roles"]),
                                         " | ".join(str(node["summary"][s]) for s in STATUSES)))
    out += ["", "## Failed controls", ""]
    if report["failed"]:
        out += ["| node | id | title | observed | expected | reason |", "|---|---|---|---|---|---|"]
        for f in report["failed"]:
            out.append("| %s | %s | %s | %s | %s | %s |" % tuple(
                _md(f[k]) for k in ("node", "id", "title", "observed", "expected", "reason")))
    else:
        out.append("None.")
    if report.get("not_evaluated"):
        out += ["", "**Not evaluated** (unreachable or failed before the audit): " + ", ".join(report["not_evaluated"])]
    rows = findings_rows(report)
    if report.get("cluster_findings") is not None and CLUSTER_ROW in report["nodes"]:
        out += ["", "## Cluster findings", ""]
        if rows:
            out += ["| id | check | object | finding | why it matters |", "|---|---|---|---|---|"]
            out += ["| %s | %s | %s | %s | %s |" % tuple(_md(r[k]) for k in ("id", "check", "object", "detail", "why"))
                    for r in rows]
        else:
            out.append("None.")
        listed = len(report["cluster_findings"]) - len(rows)
        if listed:
            out += ["", "%d more built-in or exempt (listed in report.json, not counted)." % listed]
    out += ["", "## All controls", "", "| id | title | " + " | ".join(hosts) + " |",
            "|---|---|" + "---|" * len(hosts)]
    for ctl, cells in _grid(report):
        out.append("| %s | %s | %s |" % (ctl["id"], _md(ctl["title"]), " | ".join(
            _SYMBOL[c["status"]] if c else "-" for c in cells.values())))
    waived = [(h, r) for h, n in report["nodes"].items() for r in n["results"] if r["status"] == "waived"]
    if waived:
        out += ["", "## Waived", "", "| node | id | reason |", "|---|---|---|"]
        out += ["| %s | %s | %s |" % (h, r["id"], _md(r["reason"])) for h, r in waived]
    out += _markdown_versions(report)
    return "\n".join(out) + "\n"


def _markdown_versions(report):
    out = []
    if report.get("versions"):
        out += ["", "## Kubernetes versions", "", "| node | version | notes (version table, docs/versions.md) |",
                "|---|---|---|"]
        for host, info in report["versions"].items():
            version = _md(info["kubernetes_version"] or "unknown")
            out.append("| %s | %s | %s |" % (host, version, _md("; ".join(info["notes"])) or "-"))
    upgrade = report.get("upgrade")
    if upgrade:
        counts = ", ".join("%s %d" % (k, v) for k, v in upgrade["summary"].items())
        out += ["", "## Upgrade to %s" % upgrade["target_version"], "",
                "What the current hardening would break or see changed after `kubeadm upgrade` to %s (%s)."
                % (upgrade["target_version"], counts), ""]
        rows = [(h, f) for h, items in upgrade["nodes"].items() for f in items]
        if rows:
            out += ["| node | severity | item | where | what happens | fix |", "|---|---|---|---|---|---|"]
            out += ["| %s | %s | %s | %s | %s | %s |" % (h, f["severity"], _md(f["item"]), _md(f["where"]),
                                                         _md(f["message"]), _md(f["fix"]) or "-") for h, f in rows]
        else:
            out.append("Nothing found.")
    return out


def _esc(text):
    return (str("" if text is None else text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def render_html(report):
    """A self-contained page: per-node counts, a control x node grid coloured by status (no JS), failures."""
    hosts = list(report["nodes"])
    css = "".join("td.%s{background:%s}" % (s, c) for s, c in _COLOUR.items())
    parts = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
             "<title>CIS %s report</title>" % _esc(report["benchmark"]),
             "<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}%s</style>"
             "</head><body>" % css,
             "<h1>CIS Kubernetes Benchmark %s</h1>" % _esc(report["benchmark"]),
             '<table class="summary"><tr><th>node</th><th>roles</th>%s</tr>' % "".join(
                 "<th>%s</th>" % s for s in STATUSES)]
    for host, node in report["nodes"].items():
        parts.append("<tr><td>%s</td><td>%s</td>%s</tr>" % (_esc(host), _esc(", ".join(node["node_roles"])), "".join(
            '<td class="%s">%d</td>' % (s, node["summary"][s]) for s in STATUSES)))
    parts.append("</table>")
    if report.get("not_evaluated"):
        parts.append("<p><b>Not evaluated</b> (unreachable or failed before the audit): %s</p>"
                     % _esc(", ".join(report["not_evaluated"])))
    parts.append("<h2>Controls by node</h2>")
    parts.append('<table class="grid"><tr><th>id</th><th>title</th>%s</tr>' % "".join(
        "<th>%s</th>" % _esc(h) for h in hosts))
    for ctl, cells in _grid(report):
        row = ['<tr id="c-%s"><td>%s</td><td>%s</td>' % (_esc(ctl["id"]), _esc(ctl["id"]), _esc(ctl["title"]))]
        for cell in cells.values():
            status = cell["status"] if cell else "missing"
            tip = "" if not cell else "observed: %s&#10;expected: %s&#10;%s" % (
                _esc(cell["observed"]), _esc(cell["expected"]), _esc(cell["reason"]))
            row.append('<td class="%s" title="%s">%s</td>' % (status, tip, _SYMBOL[status]))
        parts.append("".join(row) + "</tr>")
    parts.append("</table>")
    rows = findings_rows(report)
    if report.get("cluster_findings") is not None and CLUSTER_ROW in report["nodes"]:
        parts.append("<h2>Cluster findings</h2>")
        if rows:
            parts.append("<table><tr><th>id</th><th>check</th><th>object</th><th>finding</th><th>why it matters</th></tr>")
            for r in rows:
                parts.append("<tr>%s</tr>" % "".join("<td>%s</td>" % _esc(r[k]) for k in
                                                     ("id", "check", "object", "detail", "why")))
            parts.append("</table>")
        else:
            parts.append("<p>None.</p>")
    parts.append("<h2>Failed controls</h2>")
    if report["failed"]:
        parts.append("<table><tr><th>node</th><th>id</th><th>title</th><th>observed</th><th>expected</th>"
                     "<th>reason</th></tr>")
        for f in report["failed"]:
            parts.append("<tr>%s</tr>" % "".join("<td>%s</td>" % _esc(f[k]) for k in
                                                 ("node", "id", "title", "observed", "expected", "reason")))
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    upgrade = report.get("upgrade")
    if upgrade:
        parts.append("<h2>Upgrade to %s</h2>" % _esc(upgrade["target_version"]))
        parts.append("<table><tr><th>node</th><th>severity</th><th>item</th><th>where</th><th>what happens</th>"
                     "<th>fix</th></tr>")
        for host, items in upgrade["nodes"].items():
            for f in items:
                parts.append("<tr>%s</tr>" % "".join("<td>%s</td>" % _esc(v) for v in (
                    host, f["severity"], f["item"], f["where"], f["message"], f["fix"])))
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


RENDERERS = {"json": ("report.json", render_json), "junit": ("report.junit.xml", render_junit),
             "markdown": ("report.md", render_markdown), "html": ("report.html", render_html)}


# ---------------------------------------------------------------------------
# docs/controls.md
# ---------------------------------------------------------------------------

_ACTION_TEXT = {
    "enforce": "enforces",
    "opt_in": "enforces when opted in",
    "audit": "audits only",
    "manual": "manual review (report shows the value)",
    "not_applicable": "not applicable on kubeadm",
}


def _benchmarks_text(ctl):
    text = ", ".join(b.replace("cis-", "") for b in ctl["benchmarks"])
    if ctl["overrides"]:
        text += " (%s differs)" % ", ".join(b.replace("cis-", "") for b in sorted(ctl["overrides"]))
    return text


def render_controls_markdown():
    """docs/controls.md, generated from the CIS table (docs/gen_controls.py writes it; a unit test checks it)."""
    out = [
        "# CIS controls",
        "",
        "<!-- Generated by docs/gen_controls.py from plugins/module_utils/_cis.py. Do not edit by hand. -->",
        "",
        "Every control of the CIS Kubernetes Benchmark as kube-bench encodes it (cis-1.10, cis-1.11, cis-1.12),",
        "from the one table the harden roles enforce and the report (`playbooks/audit.yml`) checks.",
        "",
        "- **What**: *enforces* (a role writes it by default), *enforces when opted in*, *audits only* (kubeadm's",
        "  default already passes, or changing it would break the cluster: the report checks it), *manual*,",
        "  *not applicable on kubeadm*.",
        "- **Status in the report**: pass, fail, waived, not_applicable (e.g. section 1 on a worker), manual",
        "  (kube-bench's WARN: an unscored control the collection does not enforce by default). A scored control",
        "  that fails, or a control the collection enforces that has drifted, is a fail.",
        "- **Letter and intent**: where kube-bench's test is weak the table also has an *intent* test; the status",
        "  follows the intent and the report shows both.",
        "- **Waive** a control with a reason: `k8s_hardening_waivers: {\"1.1.12\": \"kubeadm runs etcd as root\"}`.",
        "  A waived control is neither enforced by the roles nor failed by the report (it shows as waived, with",
        "  the reason and what it would have been).",
        "",
        "| id | title | benchmarks | scored | test (kube-bench) | what the collection does | role | variables | waive |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ctl in sorted(CONTROLS, key=lambda c: tuple(int(p) for p in c["id"].split("."))):
        test = describe_test(ctl["test"])
        if ctl.get("intent"):
            test += "; intent: " + describe_test(ctl["intent"])
        what = _ACTION_TEXT[ctl["action"]]
        if ctl["note"]:
            what += ". " + ctl["note"]
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | `\"%s\": \"<reason>\"` |" % (
            ctl["id"], _md(ctl["title"]), _benchmarks_text(ctl), "yes" if ctl["scored"] else "no", _md(test),
            _md(what), ctl["enforced_by"] or "-", _md(", ".join("`%s`" % v for v in ctl["variables"])) or "-",
            ctl["id"]))
    out.append("")
    return "\n".join(out)


__all__ = [
    "REPORT_SCHEMA_VERSION", "RENDERERS", "CLUSTER_ROW", "ReportError", "build_report", "findings_rows", "summary_lines", "render_json",
    "render_junit", "render_markdown", "render_html", "render_controls_markdown",
]
