#!/usr/bin/env python3
"""Compare golive's reading of Ansible inventories with Ansible's own, on generated ones.

    python3 -m pip install ansible-core        # in a virtualenv: this script imports it
    cargo build --example inventory_dump
    python3 scripts/compare-inventory-with-ansible.py [COUNT] [SEED]

Writes COUNT (default 200) random INI and YAML inventories with groups, children, group and
host variables (ansible_host/port/user, their ansible_ssh_ forms, None/null,
ansible_group_priority), ranges, `NAME:PORT` and quoted values. It reads each one with
Ansible's Python API (InventoryManager, the group vars merged with the precedence Ansible
applies, the ssh connection's choice between ansible_X and ansible_ssh_X) and with
target/debug/examples/inventory_dump, and compares the hosts' names, addresses, ports,
users and groups. It prints each difference, then "N passed, N failed"; it exits non-zero
when any differs. The generated names avoid the two places where golive deliberately reads
differently (docs/inventory.md, "Where golive differs from Ansible").
"""

import os
import random
import subprocess
import sys
import tempfile
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUMP = os.path.join(ROOT, "target", "debug", "examples", "inventory_dump")
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def pattern(r):
    """A host pattern with up to two ranges and maybe a port."""
    parts = [r.choice(["web", "db", "n", "x.y"])]
    for _ in range(r.randint(0, 2)):
        if r.random() < 0.5:
            a = r.randint(0, 12)
            b = a + r.randint(0, 5)
            width = r.choice([0, 2])
            begin, end = str(a).zfill(width), str(b).zfill(width)
            if len(begin) != len(end):
                begin, end = str(a), str(b)
            rng = "%s:%s" % (begin, end)
        else:
            i = r.randint(0, 25)
            rng = "%s:%s" % (LETTERS[i], LETTERS[i + r.randint(0, 6)])
        if r.random() < 0.3:
            rng += ":%d" % r.randint(1, 3)
        parts.append("[%s]" % rng)
        parts.append(r.choice(["", ".ex", "-a"]))
    if r.random() < 0.3:
        parts.append(":%d" % r.randint(1, 65535))
    return "".join(parts)


def variables(r, group):
    choices = [
        ("ansible_host", ["10.0.0.%d" % r.randint(1, 9), "a.example", None]),
        ("ansible_ssh_host", ["10.9.9.%d" % r.randint(1, 9)]),
        ("ansible_port", [r.randint(1, 65535), None]),
        ("ansible_ssh_port", [r.randint(1, 99)]),
        ("ansible_user", ["u%d" % r.randint(1, 9), None]),
        ("ansible_ssh_user", ["s%d" % r.randint(1, 9)]),
        ("other", ["x"]),
    ]
    out = {k: r.choice(values) for k, values in choices if r.random() < 0.25}
    if group and r.random() < 0.2:
        out["ansible_group_priority"] = r.randint(0, 3)
    return out


def ini_value(r, value):
    if value is None:
        return "None"
    return r.choice(["%s", '"%s"', "'%s'", "\"'%s'\""]) % value


def generate(r):
    """One inventory as (INI text, YAML text): the same groups, hosts and variables."""
    groups = ["g%d" % i for i in range(r.randint(1, 6))]
    edges = sorted({(a, b) for i, a in enumerate(groups) for b in groups[i + 1:] if r.random() < 0.3})
    group_vars = {g: variables(r, True) for g in groups + ["all"]}
    declarations = []  # (pattern, group or None, vars), in file order
    seen = set()  # a pattern once per group: YAML refuses a key written twice
    for _ in range(r.randint(1, 7)):
        name = pattern(r) if r.random() < 0.4 else "h%d" % r.randint(0, 6)
        for group in [None] if r.random() < 0.2 else r.sample(groups, r.randint(1, len(groups))):
            if (name, group) not in seen:
                seen.add((name, group))
                declarations.append((name, group, variables(r, False)))
    r.shuffle(declarations)

    def ini_host(name, v):
        return name + "".join(" %s=%s" % (k, ini_value(r, x)) for k, x in v.items())

    ini = [ini_host(n, v) for n, g, v in declarations if g is None]
    for g in groups:
        ini.append("[%s]" % g)
        ini += [ini_host(n, v) for n, gg, v in declarations if gg == g]
    for g in groups + ["all"]:
        if group_vars[g]:
            ini.append("[%s:vars]" % g)
            ini += ["%s=%s" % (k, "None" if x is None else x) for k, x in group_vars[g].items()]
    for a, b in edges:
        ini += ["[%s:children]" % a, b]

    def yaml_vars(v, indent):
        return [" " * indent + '%s: %s' % (k, "~" if x is None else x) for k, x in v.items()]

    def yaml_hosts(hosts, indent):
        out = [" " * indent + "hosts:"]
        for n, v in hosts:
            out.append(" " * (indent + 2) + '"%s":' % n)
            out += yaml_vars(v, indent + 4)
        return out

    yaml = ["all:"]
    ungrouped = [(n, v) for n, g, v in declarations if g is None]
    if ungrouped:
        yaml += yaml_hosts(ungrouped, 2)
    if group_vars["all"]:
        yaml += ["  vars:"] + yaml_vars(group_vars["all"], 4)
    for g in groups:
        yaml.append("%s:" % g)
        hosts = [(n, v) for n, gg, v in declarations if gg == g]
        if hosts:
            yaml += yaml_hosts(hosts, 2)
        if group_vars[g]:
            yaml += ["  vars:"] + yaml_vars(group_vars[g], 4)
        children = [b for a, b in edges if a == g]
        if children:
            yaml += ["  children:"] + ["    %s:" % b for b in children]
    return "\n".join(ini) + "\n", "\n".join(yaml) + "\n"


def ansible_reading(path):
    """The hosts as Ansible reads them, in inventory_dump's format."""
    from ansible.inventory.helpers import get_group_vars
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.vars import combine_vars

    inventory = InventoryManager(loader=DataLoader(), sources=[path])
    lines = []
    for host in sorted(inventory.hosts.values(), key=lambda h: h.name):
        merged = combine_vars(get_group_vars(host.get_groups()), host.get_vars())

        def pick(name):
            # The ssh connection reads ansible_X, then ansible_ssh_X; the last one set wins.
            value = merged.get("ansible_ssh_" + name)
            if value is None:
                value = merged.get("ansible_" + name)
            return "-" if value is None else str(int(value) if name == "port" else value)

        groups = sorted(g.name for g in host.get_groups() if g.name not in ("all", "ungrouped"))
        lines.append("%s host=%s port=%s user=%s groups=%s" % (
            host.name, pick("host"), pick("port"), pick("user"), ",".join(groups)))
    return lines


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if not os.access(DUMP, os.X_OK):
        sys.exit("build the example first: cargo build --example inventory_dump")
    warnings.filterwarnings("ignore")
    os.environ.setdefault("ANSIBLE_LOCALHOST_WARNING", "False")
    r = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(count):
            ini, yaml = generate(r)
            for name, text in (("inv%d.ini" % i, ini), ("inv%d.yml" % i, yaml)):
                path = os.path.join(tmp, name)
                with open(path, "w") as f:
                    f.write(text)
                paths.append(path)
        out = subprocess.run([DUMP] + paths, check=True, capture_output=True, text=True).stdout
        golive = {}
        for line in out.splitlines():
            if line.startswith("== "):
                current = golive.setdefault(line[3:], [])
            else:
                current.append(line)
        passed = failed = 0
        for path in paths:
            theirs, ours = ansible_reading(path), golive[path]
            if theirs == ours:
                passed += 1
                continue
            failed += 1
            with open(path) as f:
                print("--- %s\n%s" % (os.path.basename(path), f.read()))
            print("ansible:\n  " + "\n  ".join(theirs))
            print("golive:\n  " + "\n  ".join(ours))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
