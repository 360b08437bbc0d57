-- The official personal-client shapes (package personal): the scopedRoles a
-- personal client was created or updated with, kept so that a get answers
-- what was set (Terraform compares them). No row: no roles were given.
CREATE TABLE personal_client_roles (
	credential_id text PRIMARY KEY REFERENCES credentials (id),
	roles         text[] NOT NULL,
	updated_at    timestamptz NOT NULL
);
