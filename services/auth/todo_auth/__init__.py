"""The auth service: users, password checks, EdDSA access tokens and the JWKS."""
