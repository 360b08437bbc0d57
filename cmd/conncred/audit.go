package main

import (
	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
)

// auditLine is the JSON-lines form of an audit event.
func auditLine(e conncred.AuditEvent) apitype.AuditEvent { return apitype.FromAuditEvent(e) }
