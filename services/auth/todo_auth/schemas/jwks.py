"""The published key set, as RFC 7517 JWKs (Ed25519 public keys only)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Jwk(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url without padding.")
    kid: str = Field(description="RFC 7638 thumbprint; a token's header names it.")
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class Jwks(BaseModel):
    keys: list[Jwk] = Field(description="The key signing now and every key a live token used.")
