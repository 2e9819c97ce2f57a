#!/bin/bash
# The audit covers the whole of the guide's Table 2-1: each row has an item at
# (or below) its level in the mapping (devctl audit --mapping), each mapped
# device item is in an installed item table (NAME --audit-items), every
# installed item has a mapping entry, and docs/audit.md lists them all.
source "$(dirname "$0")/../lib/tap.sh"
have python3 || { skip "audit coverage" "python3 missing"; exit 0; }
TSV="$ROOT_DIR/tests/data/dahua-table-2-1.tsv"
"$B/devctl" --json audit --mapping > "${TMPDIR:-/tmp}/audit-map.$$" || nok "devctl audit --mapping"
python3 - "$TSV" "${TMPDIR:-/tmp}/audit-map.$$" "$B/share/audit" "$ROOT_DIR/docs/audit.md" <<'PY'
import glob, json, os, sys
tsv, mapf, tabdir, doc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
mapping = json.load(open(mapf))
by_row = {}
for m in mapping:
    if m["dahua_item"]:
        by_row.setdefault(m["dahua_item"], []).append(m)
tables = {}
for f in sorted(glob.glob(os.path.join(tabdir, "*.json"))):
    t = json.load(open(f))
    for it in t["items"]:
        tables[it["id"]] = (t["service"], it["level"])
def res(ok, what, note=""):
    print(("ok - " if ok else "not ok - ") + what + (" # " + note if note else ""))
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip() and not l.startswith("#")][1:]
res(len(rows) == 27, "Table 2-1 has its 27 rows (got %d)" % len(rows))
for level, item, section, kind in rows:
    ms = [m for m in by_row.get(item, []) if m["dahua_level"] == int(level)]
    if not ms:
        res(False, "level %s '%s': no item in the mapping" % (level, item))
        continue
    m = ms[0]
    if kind == "operator":
        res(m["kind"] == "operator" and m.get("advice"), "level %s '%s': operator item %s with the guide's advice" % (level, item, m["id"]))
        continue
    if m["kind"] != "device":
        res(False, "level %s '%s': %s should be a device item" % (level, item, m["id"]))
    elif m["id"] in tables:
        svc, lv = tables[m["id"]]
        res(lv <= int(level), "level %s '%s': %s of %s, checked from level %d" % (level, item, m["id"], svc, lv))
    else:
        res(False, "level %s '%s': %s is in no installed item table" % (level, item, m["id"]))
ids = {m["id"] for m in mapping}
unmapped = sorted(set(tables) - ids)
res(not unmapped, "every installed item has a mapping entry" + (" (missing: %s)" % ", ".join(unmapped) if unmapped else ""))
stale = sorted(i for i in ids - set(tables) if not [m for m in mapping if m["id"] == i and m["kind"] == "operator"])
res(not stale, "every mapped device item is installed" + (" (not: %s)" % ", ".join(stale) if stale else ""))
text = open(doc).read() if os.path.exists(doc) else ""
missing = sorted(i for i in ids if "`%s`" % i not in text)
res(not missing, "docs/audit.md lists every mapped item" + (" (missing: %s)" % ", ".join(missing) if missing else ""))
PY
rm -f "${TMPDIR:-/tmp}/audit-map.$$"
