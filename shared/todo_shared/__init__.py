"""What both Todo services share: JWT verification against a remote JWKS, and app plumbing."""
