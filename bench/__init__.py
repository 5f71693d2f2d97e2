"""The benchmark: the services' hot paths under wrk, against a bare ceiling (never shipped)."""
