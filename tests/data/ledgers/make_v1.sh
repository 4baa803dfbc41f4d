#!/bin/sh
# Make v1.db: the ledger that syncer 0.1.0 (ledger schema 1, no version check) writes.
# Usage: sh make_v1.sh CHECKOUT   where CHECKOUT is a checkout of that release, e.g.
#   git worktree add /tmp/ledger-old <commit> && sh tests/data/ledgers/make_v1.sh /tmp/ledger-old
# Two real imports into a local sandbox on port 8799 with the key "fixture-key": the first file,
# then the same file with one row changed (one row is an invalid e-mail in both).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$1" && pwd)
py=${PYTHON:-python}
work=$(mktemp -d)
export PYTHONPATH="$checkout" HOME="$work/home" XDG_DATA_HOME="$work/home/data"
export SYNCER_HOME="$work/home/syncer" SYNCER_LEDGER="$work/v1.db"
export REEVO_API_KEY=fixture-key REEVO_BASE_URL=http://127.0.0.1:8799
cp "$here/contacts.yaml" "$here/contacts-first.csv" "$here/contacts.csv" "$work/"
cd "$work"
"$py" -m syncer sandbox --port 8799 --api-key fixture-key --no-examples >sandbox.log 2>&1 &
sandbox=$!
trap 'kill $sandbox' EXIT
i=0
until "$py" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8799/_sandbox/stats')" \
    2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat sandbox.log; exit 1; }; sleep 0.1
done
"$py" -m syncer run contacts-first.csv --mapping contacts.yaml --quiet || [ $? -eq 1 ]
"$py" -m syncer run contacts.csv --mapping contacts.yaml --quiet || [ $? -eq 1 ]
"$py" -c "import sqlite3; sqlite3.connect('v1.db').execute('PRAGMA wal_checkpoint(TRUNCATE)')"
cp v1.db "$here/v1.db"
echo "wrote $here/v1.db (work files in $work)"
