"""Issuers' public keys: looked up in memory, then in Redis (shared by replicas), then fetched.

- `keys`: which JWKS entries may verify which algorithm, and the key set as fetched;
- `fetch`: one bounded HTTP download of a JWKS;
- `store`: the key set and the refetch cooldown shared by replicas through Redis;
- `cache`: `JwksCache`, which puts them together for one issuer (the lookup rules).

Nothing is imported here, so `todo_shared.settings` can use `keys` without importing the rest.
"""
