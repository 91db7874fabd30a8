#!/usr/bin/env python
"""Generate docs/variables.md and roles/<role>/README.md from meta/argument_specs.yml.

The argument specs are the truth; the docs are generated from them.
`--check` exits 1 when a generated file is stale (the unit tests call it).
"""
import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def _default(spec):
    if "default" not in spec:
        return ""
    value = spec["default"]
    text = yaml.safe_dump(value, default_flow_style=True, width=10000).strip()
    if text.endswith("\n...") or text.endswith("..."):
        text = text.rsplit("...", 1)[0].strip()
    return "`%s`" % text.replace("|", "\\|")


def _desc(spec):
    desc = spec.get("description", "")
    if isinstance(desc, list):
        desc = " ".join(desc)
    if spec.get("choices"):
        desc += " Choices: %s." % ", ".join("`%s`" % c for c in spec["choices"])
    return desc.replace("|", "\\|").replace("\n", " ")


def role_table(role, specs):
    lines = []
    for entry, spec in sorted(specs.get("argument_specs", {}).items()):
        lines.append("### `%s` (entry point `%s`)" % (role, entry))
        lines.append("")
        desc = spec.get("description") or spec.get("short_description", "")
        if isinstance(desc, list):
            desc = " ".join(desc)
        lines.append(desc)
        lines.append("")
        lines.append("| Variable | Type | Default | Description |")
        lines.append("|---|---|---|---|")
        for name, opt in sorted((spec.get("options") or {}).items()):
            typ = opt.get("type", "str")
            if typ == "list" and opt.get("elements"):
                typ = "list of %s" % opt["elements"]
            lines.append("| `%s` | %s | %s | %s |" % (name, typ, _default(opt), _desc(opt)))
        lines.append("")
    return lines


def roles():
    base = os.path.join(ROOT, "roles")
    for role in sorted(os.listdir(base)):
        path = os.path.join(base, role, "meta", "argument_specs.yml")
        if os.path.isfile(path):
            with open(path) as handle:
                yield role, yaml.safe_load(handle) or {}


def render():
    out = {}
    all_lines = ["# Variables", "",
                 "Generated from each role's `meta/argument_specs.yml` by `scripts/gen_role_docs.py`; do not edit by hand.",
                 "",
                 "Cross-cutting variables (all roles and the report): `k8s_hardening_waivers` (CIS id -> reason),",
                 "`k8s_hardening_defer_rollout`, `k8s_hardening_backup_dir`, `k8s_hardening_backup_keep`,",
                 "`k8s_hardening_report_dir`, `k8s_hardening_report_fail_on_failed` — see [design.md](design.md).",
                 "`playbooks/harden.yml` also reads `k8s_hardening_noop_fast_path` and `k8s_hardening_noop_max_age`",
                 "— see [noop.md](noop.md). `k8s_hardening_allow_untested_version` (default false) lets a run proceed",
                 "on a Kubernetes version outside the version table, and `playbooks/audit.yml` reads",
                 "`k8s_hardening_target_version` (report what would break at that version) — see [versions.md](versions.md)",
                 "— and `k8s_hardening_report_cluster` (default true: CIS section 5 through the API, read-only; false",
                 "for a report of the nodes alone) — see [report.md](report.md).",
                 ""]
    for role, specs in roles():
        table = role_table(role, specs)
        all_lines.append("## Role `%s`" % role)
        all_lines.append("")
        all_lines.extend(table)
        readme = ["# Role `k8s_hardening.kubeadm.%s`" % role, "",
                  "Generated from `meta/argument_specs.yml` by `scripts/gen_role_docs.py`; do not edit by hand.", ""]
        readme.extend(table)
        out[os.path.join(ROOT, "roles", role, "README.md")] = "\n".join(readme).rstrip() + "\n"
    out[os.path.join(ROOT, "docs", "variables.md")] = "\n".join(all_lines).rstrip() + "\n"
    return out


def main(argv):
    check = "--check" in argv
    stale = []
    for path, text in render().items():
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                with open(path, "w") as handle:
                    handle.write(text)
    if check and stale:
        print("stale generated docs (run scripts/gen_role_docs.py): %s" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
