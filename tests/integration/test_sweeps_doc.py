"""Every example sweep file of docs/SWEEPS.md passes `marketsim sweep
--dry-run`, and every key of a sweep file has an example there.

Each ```yaml block of docs/SWEEPS.md is written, as the document says, as
if it were in scenarios/sweeps/ of the repository (in a copy of that
layout in a temporary folder, with the repository's scenarios and seeds);
a ```csv block preceded by a line `file: NAME` is written next to it as
NAME. Environment: MARKETSIM, MS_SOURCE_DIR."""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ["MS_SOURCE_DIR"]
MS = os.environ["MARKETSIM"]
KEYS = ["scenario", "seed", "replications", "design", "samples",
        "parameters", "outputs", "every", "set", "description", "table",
        "trajectories", "levels"]


def blocks(text):
    """(language, body, file name or None) of every fenced block."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w+)\s*$", lines[i])
        if not m:
            i += 1
            continue
        name = None
        for back in range(i - 1, max(i - 4, -1), -1):
            f = re.match(r"^file: `?([\w.-]+)`?\s*$", lines[back])
            if f:
                name = f.group(1)
                break
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        out.append((m.group(1), "\n".join(lines[i + 1:j]) + "\n", name))
        i = j + 1
    return out


def main():
    with open(os.path.join(SRC, "docs", "SWEEPS.md")) as f:
        doc = f.read()
    bs = blocks(doc)
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.join(SRC, "seeds"), os.path.join(tmp, "seeds"))
        os.makedirs(os.path.join(tmp, "scenarios", "sweeps"))
        for f in os.listdir(os.path.join(SRC, "scenarios")):
            if f.endswith(".yaml"):
                os.symlink(os.path.join(SRC, "scenarios", f),
                           os.path.join(tmp, "scenarios", f))
        here = os.path.join(tmp, "scenarios", "sweeps")
        for lang, body, name in bs:
            if lang == "csv" and name:
                with open(os.path.join(here, name), "w") as f:
                    f.write(body)
        seen = set()
        n = 0
        for lang, body, _ in bs:
            if lang != "yaml":
                continue
            n += 1
            path = os.path.join(here, f"example{n}.yaml")
            with open(path, "w") as f:
                f.write(body)
            seen.update(re.findall(r"^(\w+):", body, re.M))
            p = subprocess.run([MS, "sweep", path, "--dry-run"],
                               capture_output=True, text=True)
            first = body.strip().split("\n")
            label = f"example {n} ({first[-1].strip()[:50]})"
            if p.returncode != 0:
                fails += 1
                print(f"FAIL {label}: exit {p.returncode}\n{p.stderr}")
            else:
                print(f"ok   {label}")
    if n < 8:
        fails += 1
        print(f"FAIL only {n} yaml examples in docs/SWEEPS.md")
    for k in KEYS:
        if k not in seen:
            fails += 1
            print(f"FAIL no example of the key '{k}'")
        if f"`{k}`" not in doc:
            fails += 1
            print(f"FAIL the key '{k}' is not described")
    # The keys the parser accepts are the ones documented.
    with open(os.path.join(SRC, "sim", "sweep", "spec.c")) as f:
        spec = f.read()
    m = re.search(r"sweep_keys\[\] = \{(.*?)\};", spec, re.S)
    accepted = re.findall(r'"(\w+)"', m.group(1))
    for k in accepted:
        if f"| `{k}` |" not in doc:
            fails += 1
            print(f"FAIL the key '{k}' (accepted by the parser) is not in the table")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
