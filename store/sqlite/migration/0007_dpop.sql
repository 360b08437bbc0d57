-- Sender-constrained tokens (package dpop): a credential may require every
-- token request to carry a DPoP proof (RFC 9449), so its tokens are always
-- bound to a key. Trusts keep their own flag (0004).
ALTER TABLE credentials ADD COLUMN require_dpop INTEGER NOT NULL DEFAULT 0;
