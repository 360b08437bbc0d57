-- The official personal-client shapes (package personal): the scopedRoles a
-- personal client was created or updated with, kept so that a get answers
-- what was set (Terraform compares them). No row: no roles were given.
-- roles is a JSON array of strings.
CREATE TABLE personal_client_roles (
	credential_id TEXT PRIMARY KEY REFERENCES credentials (id),
	roles         TEXT NOT NULL,
	updated_us    INTEGER NOT NULL
) WITHOUT ROWID;
