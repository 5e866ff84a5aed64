#!/usr/bin/python3
"""Validate the seed figure catalogue and the scenario citations of it.

Usage: check_seeds.py SEEDS_DIR SCENARIOS_DIR

SEEDS_DIR must contain figures.yaml.  Every *.yaml file under SCENARIOS_DIR
(recursively) is scanned for `seed:<id>` tokens and `figure: <id>` keys; each
cited id must exist in the catalogue.

Each entry of a scenario's top-level `targets` list must name its figure,
and its `expected` must be the figure's value in the simulator's base units
(people, USD/year, fractions): `value` times the scale the unit names
(thousand 1e3, million 1e6, billion 1e9, trillion 1e12; percent 1/100), so
171 billion USD is 1.71e11 and 10 percent 0.10.  A target that transforms
the figure on purpose (a multiple into a growth, a quarter into a year, a
bound into a range, another currency) says so with a `description`
containing "derived:"; those are not compared.  A unit that has no base-unit
reading (a currency other than USD) needs "derived:".  Target entries are
read line by line (block mappings, or one flow mapping per item), with no
YAML library.

figures.yaml is read with a small parser for the restricted subset it uses
(a top-level `figures:` list of flat mappings with scalar values), so that
problems can be reported as FILE:LINE.  When PyYAML is importable the file is
also loaded with it and both results must agree.

Exit status: 0 when everything is valid (a one-line summary is printed),
1 when problems were found (one `FILE:LINE: error: ...` line each),
2 on usage errors.
"""

import math
import os
import re
import sys

SOURCES = (
    "000_fd7b96bfc9406928.txt",
    "001_f396cf7d46e7acfb.txt",
    "002_c2a0c17c66c372e6.txt",
    "003_ca5c749f3438541f.txt",
)

REQUIRED = ("id", "value", "unit", "period", "market", "firm", "about", "source")
OPTIONAL = ("low", "high", "approx", "bound")
BOUNDS = ("lower", "upper", "approx")

ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
INT_RE = re.compile(r"^[-+]?[0-9]+$")
FLOAT_RE = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$")
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Citations in scenario files.  `seed:<id>` must be glued together (so that a
# plain `seed: 42` RNG parameter is not mistaken for one) and the id must start
# with a letter or underscore.  `figure:` is recognised as a mapping key: at
# the start of a line (optionally after a list dash) or inside a flow mapping.
SEED_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_])seed:([A-Za-z_][A-Za-z0-9_]*)")
FIGURE_KEY_RE = re.compile(r"(?:^\s*(?:-\s+)?|[{,]\s*)figure:(?=\s|$)(.*)$")
FIGURE_VAL_RE = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([^\s,}#]+))""")


class Problems:
    def __init__(self):
        self.items = []

    def add(self, path, line, msg):
        self.items.append((path, line, msg))

    def report(self):
        for path, line, msg in sorted(self.items, key=lambda t: (t[0], t[1])):
            print("%s:%d: error: %s" % (path, line, msg))


def split_comment(text):
    """Strip a trailing ' # comment' from an unquoted scalar."""
    m = re.search(r"(^|\s)#", text)
    return text[: m.start()] if m else text


def parse_scalar(raw, path, lineno, problems):
    """Parse one scalar of the restricted subset; returns (ok, value)."""
    raw = raw.strip()
    if raw.startswith('"'):
        out, i = [], 1
        while i < len(raw):
            c = raw[i]
            if c == "\\":
                if i + 1 >= len(raw):
                    break
                nxt = raw[i + 1]
                esc = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "/": "/"}
                if nxt not in esc:
                    problems.add(path, lineno, "unsupported escape \\%s in string" % nxt)
                    return False, None
                out.append(esc[nxt])
                i += 2
                continue
            if c == '"':
                rest = raw[i + 1:].strip()
                if rest and not rest.startswith("#"):
                    problems.add(path, lineno, "unexpected text after quoted string: %r" % rest)
                    return False, None
                return True, "".join(out)
            out.append(c)
            i += 1
        problems.add(path, lineno, "unterminated double-quoted string")
        return False, None
    if raw.startswith("'"):
        out, i = [], 1
        while i < len(raw):
            c = raw[i]
            if c == "'":
                if raw[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                rest = raw[i + 1:].strip()
                if rest and not rest.startswith("#"):
                    problems.add(path, lineno, "unexpected text after quoted string: %r" % rest)
                    return False, None
                return True, "".join(out)
            out.append(c)
            i += 1
        problems.add(path, lineno, "unterminated single-quoted string")
        return False, None
    text = split_comment(raw).strip()
    if text in ("", "~", "null", "Null", "NULL"):
        return True, None
    if text in ("true", "True", "TRUE"):
        return True, True
    if text in ("false", "False", "FALSE"):
        return True, False
    if INT_RE.match(text):
        return True, int(text)
    if FLOAT_RE.match(text):
        return True, float(text)
    if text[0] in "[]{}&*!|>%@`,?:-" or ": " in text or text.endswith(":"):
        problems.add(path, lineno, "unsupported or ambiguous plain scalar %r (quote it)" % text)
        return False, None
    if text.lower() in ("yes", "no", "on", "off", "y", "n"):
        problems.add(path, lineno, "plain scalar %r is a boolean in some YAML readers (quote it)" % text)
        return False, None
    return True, text


def parse_catalogue(path, problems):
    """Return a list of (start_line, {key: (value, line)}) entries."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except OSError as exc:
        problems.add(path, 0, "cannot read catalogue: %s" % exc)
        return None
    entries = []
    seen_top = False
    dash_indent = None
    current = None
    for lineno, line in enumerate(lines, 1):
        if "\t" in line[: len(line) - len(line.lstrip())]:
            problems.add(path, lineno, "tab used for indentation")
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not seen_top:
            if split_comment(line).rstrip() == "figures:":
                seen_top = True
            else:
                problems.add(path, lineno, "expected top-level 'figures:' before any data")
                return None
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line[indent:]
        if indent == 0:
            problems.add(path, lineno, "unexpected top-level content %r (only 'figures:' is allowed)" % stripped)
            current = None
            continue
        if body.startswith("- ") or body == "-":
            if dash_indent is None:
                dash_indent = indent
            elif indent != dash_indent:
                problems.add(path, lineno, "list item indented %d, expected %d" % (indent, dash_indent))
            current = {}
            entries.append((lineno, current))
            body = body[2:].lstrip()
            if not body:
                continue
        elif current is None:
            problems.add(path, lineno, "mapping content outside a list item")
            continue
        elif indent != dash_indent + 2:
            problems.add(path, lineno, "key indented %d, expected %d" % (indent, dash_indent + 2))
            continue
        if ":" not in body:
            problems.add(path, lineno, "expected 'key: value', got %r" % body)
            continue
        key, _, raw = body.partition(":")
        key = key.strip()
        if not KEY_RE.match(key) or (raw and not raw.startswith(" ")):
            problems.add(path, lineno, "malformed key in %r" % body)
            continue
        ok, value = parse_scalar(raw, path, lineno, problems)
        if not ok:
            continue
        if key in current:
            problems.add(path, lineno, "duplicate key '%s' in entry (first at line %d)" % (key, current[key][1]))
            continue
        current[key] = (value, lineno)
    if not seen_top:
        problems.add(path, 1, "missing top-level 'figures:' list")
        return None
    return entries


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_entries(path, entries, problems):
    ids = {}
    for start, entry in entries:
        keys = list(entry)
        def line_of(k):
            return entry[k][1] if k in entry else start
        for k in keys:
            if k not in REQUIRED and k not in OPTIONAL:
                problems.add(path, line_of(k), "unknown key '%s'" % k)
        missing = [k for k in REQUIRED if k not in entry]
        for k in missing:
            problems.add(path, start, "missing required key '%s'" % k)
        present = [k for k in keys if k in REQUIRED]
        expected = [k for k in REQUIRED if k in entry]
        if present != expected:
            problems.add(path, start, "required keys out of order: %s (expected %s)"
                         % (", ".join(present), ", ".join(expected)))
        val = lambda k: entry[k][0]

        if "id" in entry:
            fid = val("id")
            if not isinstance(fid, str) or not ID_RE.match(fid):
                problems.add(path, line_of("id"), "id %r is not lowercase snake_case" % (fid,))
            elif fid in ids:
                problems.add(path, line_of("id"), "duplicate id '%s' (first at line %d)" % (fid, ids[fid]))
            else:
                ids[fid] = line_of("id")
        if "value" in entry and not is_number(val("value")):
            problems.add(path, line_of("value"), "value must be a number, got %r" % (val("value"),))
        for k in ("unit", "period", "market", "firm", "about", "source"):
            if k in entry and (not isinstance(val(k), str) or not val(k).strip()):
                problems.add(path, line_of(k), "%s must be a non-empty string, got %r (quote it)" % (k, val(k)))
        if "source" in entry and isinstance(val("source"), str) and val("source") not in SOURCES:
            problems.add(path, line_of("source"), "unknown source %r (expected one of %s)"
                         % (val("source"), ", ".join(SOURCES)))

        for k in ("low", "high"):
            if k in entry and not is_number(val(k)):
                problems.add(path, line_of(k), "%s must be a number, got %r" % (k, val(k)))
        if ("low" in entry) != ("high" in entry):
            k = "low" if "low" in entry else "high"
            problems.add(path, line_of(k), "'low' and 'high' must be given together")
        v = val("value") if "value" in entry else None
        lo = val("low") if "low" in entry else None
        hi = val("high") if "high" in entry else None
        if is_number(v):
            if is_number(lo) and lo > v:
                problems.add(path, line_of("low"), "low %r is greater than value %r" % (lo, v))
            if is_number(hi) and v > hi:
                problems.add(path, line_of("high"), "high %r is less than value %r" % (hi, v))
            if is_number(lo) and is_number(hi) and lo <= v <= hi \
                    and not math.isclose(v, (lo + hi) / 2.0, rel_tol=1e-9, abs_tol=1e-9):
                problems.add(path, line_of("value"), "value %r is not the midpoint of low %r and high %r"
                             % (v, lo, hi))

        if "approx" in entry and val("approx") is not True:
            problems.add(path, line_of("approx"), "approx must be true when present, got %r" % (val("approx"),))
        if "bound" in entry:
            if val("bound") not in BOUNDS:
                problems.add(path, line_of("bound"), "bound must be one of %s, got %r"
                             % ("|".join(BOUNDS), val("bound")))
            if "approx" not in entry:
                problems.add(path, line_of("bound"), "bound given without 'approx: true'")
        elif "approx" in entry:
            problems.add(path, line_of("approx"), "approx given without 'bound: lower|upper|approx'")
    return ids


def cross_check_pyyaml(path, entries, problems):
    try:
        import yaml  # noqa: F401  (optional)
    except ImportError:
        return
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except Exception as exc:  # pragma: no cover - depends on input
        mark = getattr(exc, "problem_mark", None)
        problems.add(path, (mark.line + 1) if mark else 0, "PyYAML cannot load the file: %s" % exc)
        return
    if not isinstance(doc, dict) or set(doc) != {"figures"} or not isinstance(doc["figures"], list):
        problems.add(path, 1, "PyYAML sees a different top-level structure than 'figures: [list]'")
        return
    if len(doc["figures"]) != len(entries):
        problems.add(path, 1, "PyYAML sees %d entries, the restricted parser %d"
                     % (len(doc["figures"]), len(entries)))
        return
    for (start, entry), other in zip(entries, doc["figures"]):
        mine = {k: v for k, (v, _) in entry.items()}
        if mine != other or [type(x) for x in mine.values()] != [type(other.get(k)) for k in mine]:
            problems.add(path, start, "entry is read differently by PyYAML (%r vs %r)" % (other, mine))


def scan_scenarios(root, known, problems, figures=None):
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".yaml"):
                files.append(os.path.join(dirpath, name))
    citations = 0
    citing_files = 0
    for fpath in files:
        try:
            with open(fpath, encoding="utf-8") as fh:
                lines = fh.read().split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(fpath, 0, "cannot read scenario file: %s" % exc)
            continue
        found = 0
        for lineno, line in enumerate(lines, 1):
            for m in SEED_TOKEN_RE.finditer(line):
                found += 1
                if m.group(1) not in known:
                    problems.add(fpath, lineno, "seed:%s cites an id that is not in the figure catalogue"
                                 % m.group(1))
            code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            for m in FIGURE_KEY_RE.finditer(code):
                vm = FIGURE_VAL_RE.match(m.group(1))
                fid = None
                if vm:
                    fid = next(g for g in vm.groups() if g is not None)
                found += 1
                if not fid:
                    problems.add(fpath, lineno, "'figure:' without an id")
                elif fid not in known:
                    problems.add(fpath, lineno, "figure: %s names an id that is not in the figure catalogue"
                                 % fid)
        citations += found
        if found:
            citing_files += 1
        if figures is not None:
            check_targets(fpath, lines, figures, problems)
    return len(files), citations, citing_files


# --------------------------------------------------------------------------
# Targets: `expected` against the figure's value and unit.

#: scale words a unit may start with, and the base-unit factor they mean
SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
#: currencies the simulator does not use (it counts money in USD)
OTHER_CURRENCIES = ("CNY", "RMB", "yuan", "EUR", "JPY", "KRW", "GBP")
DERIVED = "derived:"


def unit_factor(unit):
    """Base-unit factor of a figure's unit, or None if it has none.

    'percent' -> 0.01; 'billion USD' -> 1e9; 'million buyers' -> 1e6;
    'count', 'years', 'multiple' -> 1; 'billion CNY' -> None (a currency
    the simulator does not count in).
    """
    words = unit.split()
    if any(w in OTHER_CURRENCIES for w in words):
        return None
    if words and words[0] == "percent":
        return 0.01
    if words and words[0] in SCALES:
        return SCALES[words[0]]
    return 1.0


def split_flow(body):
    """Top-level `key: value` pairs of a one-line flow mapping `{...}`."""
    body = body.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    inner, parts, depth, cur, quote = body[1:-1], [], 0, [], None
    for c in inner:
        if quote:
            cur.append(c)
            if c == quote:
                quote = None
            continue
        if c in "\"'":
            quote = c
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    parts.append("".join(cur))
    out = {}
    for p in parts:
        k, sep, v = p.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return split_comment(v).strip()


def read_targets(lines):
    """Top-level keys of each item of a top-level `targets:` list.

    Returns [(item_line, {key: (raw_value, line)})]. Only scalar values are
    kept as text; nested mappings (of, numerator, ...) are skipped.
    """
    items, in_targets, dash, cur = [], False, None, None
    for lineno, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            in_targets = split_comment(line).rstrip() == "targets:"
            cur = None
            continue
        if not in_targets:
            continue
        body = line[indent:]
        if body.startswith("- ") and (dash is None or indent == dash):
            dash = indent
            cur = {}
            items.append((lineno, cur))
            rest = body[2:].strip()
            flow = split_flow(split_comment(rest)) if rest.startswith("{") else None
            if flow is not None:
                for k, v in flow.items():
                    cur[k] = (v, lineno)
                continue
            body, indent = rest, indent + 2
        if cur is None or dash is None or indent != dash + 2:
            continue
        k, sep, v = body.partition(":")
        if sep and KEY_RE.match(k.strip()) and k.strip() not in cur:
            cur[k.strip()] = (v.strip(), lineno)
    return items


def check_targets(fpath, lines, figures, problems):
    """Every target names a figure and expects its value in base units."""
    n = 0
    for start, item in read_targets(lines):
        n += 1
        if "figure" not in item:
            problems.add(fpath, start, "target without a figure (an id from figures.yaml)")
            continue
        fid, fline = unquote(item["figure"][0]), item["figure"][1]
        fig = figures.get(fid)
        if fig is None:
            continue  # reported by the citation scan
        desc = unquote(item["description"][0]) if "description" in item else ""
        if DERIVED in desc:
            continue
        bound = fig.get("bound")
        if "max" in item or "min" in item:
            # A bound target: the figure must be stated as that bound.
            key = "max" if "max" in item else "min"
            if bound != {"max": "upper", "min": "lower"}[key]:
                problems.add(fpath, item[key][1], "target %s is a %s: bound, but the "
                             "figure is not stated as an %s bound in figures.yaml"
                             % (fid, key, {"max": "upper", "min": "lower"}[key]))
                continue
        elif "expected" not in item:
            problems.add(fpath, start, "target for %s has no expected value" % fid)
            continue
        elif bound in ("upper", "lower"):
            problems.add(fpath, item["expected"][1], "target %s: the figure is an %s "
                         "bound; check it as one (%s:), not as a range around a guessed "
                         "value" % (fid, bound, "max" if bound == "upper" else "min"))
            continue
        key = "expected" if "expected" in item else "max" if "max" in item else "min"
        raw, eline = unquote(item[key][0]), item[key][1]
        try:
            expected = float(raw)
        except ValueError:
            problems.add(fpath, eline, "expected %r of target %s is not a number" % (raw, fid))
            continue
        value, unit = fig.get("value"), fig.get("unit")
        if not is_number(value) or not isinstance(unit, str):
            continue  # a broken catalogue entry is reported on its own
        factor = unit_factor(unit)
        if factor is None:
            problems.add(fpath, eline, "target %s: the figure's unit '%s' has no base-unit "
                         "reading; convert it and say how in a description with '%s'"
                         % (fid, unit, DERIVED))
            continue
        want = value * factor
        if not math.isclose(expected, want, rel_tol=1e-9, abs_tol=1e-12):
            problems.add(fpath, eline, "target %s expects %s, but the figure is %s %s = %s in "
                         "base units; fix expected, or explain the transformation in a "
                         "description containing '%s'" % (fid, raw, value, unit, "%.10g" % want, DERIVED))
    return n


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: %s SEEDS_DIR SCENARIOS_DIR\n" % os.path.basename(argv[0]))
        return 2
    seeds_dir, scen_dir = argv[1], argv[2]
    if not os.path.isdir(seeds_dir):
        sys.stderr.write("error: %s is not a directory\n" % seeds_dir)
        return 2
    if not os.path.isdir(scen_dir):
        sys.stderr.write("error: %s is not a directory\n" % scen_dir)
        return 2
    problems = Problems()
    cat = os.path.join(seeds_dir, "figures.yaml")
    entries = parse_catalogue(cat, problems)
    known = {}
    if entries is not None:
        if not entries:
            problems.add(cat, 1, "catalogue has no figures")
        parse_ok = not problems.items
        known = check_entries(cat, entries, problems)
        if parse_ok:
            # Only meaningful when the restricted parser read every line.
            cross_check_pyyaml(cat, entries, problems)
    figures = {}
    for _, entry in entries or []:
        if "id" in entry and isinstance(entry["id"][0], str):
            figures.setdefault(entry["id"][0], {k: v for k, (v, _) in entry.items()})
    nfiles, ncit, nciting = scan_scenarios(scen_dir, known, problems, figures)
    if problems.items:
        problems.report()
        print("check_seeds: FAILED with %d problem(s)" % len(problems.items), file=sys.stderr)
        return 1
    print("check_seeds: OK: %d figures, %d citations in %d files (%d scenario files scanned)"
          % (len(entries), ncit, nciting, nfiles))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
