"""Firm demography on the generated world of docs/FIRM-DYNAMICS.md.

Runs scripts/firm_dynamics.py on its default world (8 markets, 40 firms,
start-up entry, 30 years) with 2 replications and checks the acceptance
bounds of the version 2 firm economics (MODEL.md sections 2 and 5):

- fewer than a quarter of start-ups are bought within a year of birth
  (before version 2 every start-up was bought the step it was born);
- the share of start-ups alive five years after birth lies between 0.2
  and 0.8 (about half, in the published data; before version 2 it was 1);
- some firms exit (before, none ever did).

The bounds are wide on purpose: they separate a working demography from
the broken one, they are not a calibration.

Environment: MARKETSIM (the binary), MS_SOURCE_DIR (the repository root).
"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ["MS_SOURCE_DIR"]


def value(page, label):
    """The model's mean in the measures row whose first cell starts with label."""
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith(label):
            m = re.match(r"^(-?[0-9.]+(?:e[-+]?[0-9]+)?)", cells[1])
            if m:
                return float(m.group(1))
    raise AssertionError(f"no row {label!r} in the page")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fd.md")
        r = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "firm_dynamics.py"),
                            "--reps", "2", "--jobs", "2", "-o", out],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        page = open(out, encoding="utf-8").read()
    bought = value(page, "start-ups acquired within a year of birth")
    alive5 = value(page, "start-up survival at 5 years")
    exits = value(page, "exits per year")
    print(f"bought within a year {bought:.3f}, five-year survival {alive5:.3f}, "
          f"exits per year {exits:.2f}")
    assert bought < 0.25, f"{bought:.3f} of start-ups bought within a year (bound 0.25)"
    assert 0.2 <= alive5 <= 0.8, f"five-year survival {alive5:.3f} outside [0.2, 0.8]"
    assert exits > 0, "no firm ever exits"


if __name__ == "__main__":
    main()
