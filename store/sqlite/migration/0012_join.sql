-- The join of the wings (issue 14): a policy may require DPoP on the token
-- requests of the credentials below it (policy.Policy.RequireDPoP). NULL is
-- not set here (inherited); 0 and 1 are false and true.
ALTER TABLE policies ADD COLUMN require_dpop INTEGER;
