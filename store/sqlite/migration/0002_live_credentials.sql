-- The live (not revoked) credentials of each connector. It serves the two
-- queries that would otherwise read every credential a connector ever had,
-- revoked ones included (a connector rotated daily for years has thousands):
-- the active-credential cap's count, which runs holding the write lock and
-- reads only this index (expires_us is in it), and the default credential
-- list, which hides revoked credentials and pages in id order.
CREATE INDEX credentials_live_by_connector ON credentials (connector_id, id, expires_us) WHERE deleted_us IS NULL;
