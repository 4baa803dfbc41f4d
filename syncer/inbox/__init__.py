"""``syncer inbox``: nightly drop folders (scan, readiness, archive, alerts); no Reevo here."""
