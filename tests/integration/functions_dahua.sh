#!/bin/bash
# The shipped function table against Dahua's hardening guide, Table 2-2 (the
# rows transcribed in tests/data/dahua-table-2-2.tsv): every function of the
# guide exists under its devsec name and netcfgd reports, on a factory device,
# exactly the guide's factory status for it.
source "$(dirname "$0")/../lib/tap.sh"
TSV="$ROOT_DIR/tests/data/dahua-table-2-2.tsv"
netcfgd_stack || { nok "netcfgd starts"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system-info
dc --json function list > "$T_DIR/fl.json" || { nok "function list"; exit 0; }
python3 - "$TSV" "$T_DIR/fl.json" <<'PY'
import json, sys
fl = {f["name"]: f for f in json.load(open(sys.argv[2]))["functions"]}
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")][1:]
for guide, status, name, *note in rows:
    want = {"Enable": True, "Disable": False}[status]
    f = fl.get(name)
    if f is None:
        print(f"not ok - the guide's '{guide}' is the function '{name}' (missing)")
    elif f["factory_default"] != want or f["enabled"] != want:
        print(f"not ok - '{name}' ships {'on' if f['enabled'] else 'off'} (factory_default {f['factory_default']}); the guide: {status}")
    else:
        print(f"ok - '{name}' ships {'on' if want else 'off'} as the guide's '{guide}'")
print(f"{'ok' if len(rows) == 23 else 'not ok'} - the guide's table has {len(rows)} rows, all checked")
PY
