-- The join of the wings (issue 14): a policy may require DPoP on the token
-- requests of the credentials below it (policy.Policy.RequireDPoP). NULL is
-- not set here (inherited).
ALTER TABLE policies ADD COLUMN require_dpop boolean;
