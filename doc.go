// Package conncred holds the domain of conncred: the records it keeps (App,
// Connector, Credential, SigningKey, AuditEvent), the Store interface every
// storage backend implements, the principal that travels with a request, and
// the one error type shared by every layer.
//
// The package does no I/O. Rules live in package authority; HTTP lives in
// package server; SQL lives under store/.
package conncred
