package baton

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"

	"github.com/conncred/conncred"
)

// UploadMessage is one message of an UploadAsset stream: exactly one of
// its fields is set (Metadata, Data or EOF).
type UploadMessage struct {
	Metadata *UploadMetadata
	Data     []byte
	EOF      *UploadEOF
}

// UploadMetadata opens the stream.
type UploadMetadata struct{ HostID, TaskID string }

// UploadEOF closes it with the SHA-256 of all the data.
type UploadEOF struct{ SHA256 []byte }

// UploadStream yields the messages of one stream; Next returns io.EOF
// after the last.
type UploadStream interface {
	Next() (UploadMessage, error)
}

// maxChunk is the protocol's bound on one data message (1 MiB).
const maxChunk = 1 << 20

// Artifact kinds.
const (
	KindC1Z      = "c1z"
	KindDebugLog = "debug_log"
)

// Upload receives an artifact for one of the calling connector's running
// sync tasks: metadata first, data chunks, then EOF with the SHA-256, and
// nothing after it. The bytes stream to the ArtifactStore and become
// visible only when all of that checked out; anything else (no metadata,
// a wrong checksum, too many bytes, data after EOF, a broken stream)
// leaves nothing stored. A repeated upload for the same task replaces the
// earlier one (baton-sdk v0.25 retries uploads from the first byte).
func (s *Service) Upload(ctx context.Context, in UploadStream) (Artifact, error) {
	a, err := s.upload(ctx, in)
	if err != nil {
		s.metrics.uploadsRefused.Add(1)
		return Artifact{}, err
	}
	s.metrics.uploads.Add(1)
	s.metrics.uploadBytes.Add(a.Size)
	return a, nil
}

func (s *Service) upload(ctx context.Context, in UploadStream) (Artifact, error) {
	p, err := connector(ctx)
	if err != nil {
		return Artifact{}, err
	}
	first, err := in.Next()
	if err != nil {
		return Artifact{}, streamErr(err, "the upload stream ended before its metadata message")
	}
	if first.Metadata == nil {
		return Artifact{}, conncred.Errorf(conncred.EInvalid, "an upload must start with a metadata message naming host_id and task_id")
	}
	if err := checkHostID(first.Metadata.HostID); err != nil {
		return Artifact{}, err
	}
	t, err := s.ownTask(ctx, p, first.Metadata.TaskID)
	if err != nil {
		return Artifact{}, err
	}
	if t.Type != TypeSyncFull || t.State != StateRunning {
		return Artifact{}, conncred.Errorf(conncred.EInvalid, "task %s is a %s task in state %s; uploads are taken only for running sync tasks", t.ID, t.Type, t.State)
	}
	w, err := s.artifacts.Create(ctx)
	if err != nil {
		return Artifact{}, err
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
		}
	}()
	h := sha256.New()
	var size int64
	var head []byte // the first bytes, to tell a .c1z from a debug.log
	var sum []byte
	for sum == nil {
		m, err := in.Next()
		if err != nil {
			return Artifact{}, streamErr(err, "the upload stream ended without an eof message carrying the SHA-256")
		}
		switch {
		case m.Metadata != nil:
			return Artifact{}, conncred.Errorf(conncred.EInvalid, "a second metadata message in one upload; send metadata once, first")
		case m.EOF != nil:
			if len(m.EOF.SHA256) != sha256.Size {
				return Artifact{}, conncred.Errorf(conncred.EInvalid, "the eof message's sha256_checksum is %d bytes; it must be 32", len(m.EOF.SHA256))
			}
			sum = m.EOF.SHA256
		default:
			if len(m.Data) == 0 || len(m.Data) > maxChunk {
				return Artifact{}, conncred.Errorf(conncred.EInvalid, "a data message carries %d bytes; each must carry 1 byte to 1 MiB", len(m.Data))
			}
			size += int64(len(m.Data))
			if size > s.cfg.MaxUploadBytes {
				return Artifact{}, conncred.Errorf(conncred.EInvalid, "the upload exceeds this server's limit of %d bytes", s.cfg.MaxUploadBytes)
			}
			if len(head) < 5 {
				head = append(head, m.Data[:min(len(m.Data), 5-len(head))]...)
			}
			h.Write(m.Data)
			if _, err := w.Write(m.Data); err != nil {
				return Artifact{}, conncred.WrapError(conncred.EUnavailable, err, "cannot store the upload")
			}
		}
	}
	if _, err := in.Next(); !errors.Is(err, io.EOF) {
		if err != nil {
			return Artifact{}, streamErr(err, "")
		}
		return Artifact{}, conncred.Errorf(conncred.EInvalid, "a message after eof; eof must be the last message of an upload")
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), sum) != 1 {
		return Artifact{}, conncred.Errorf(conncred.EInvalid, "the SHA-256 of the %d bytes received does not match the eof message's sha256_checksum; nothing was stored, upload again", size)
	}
	key, err := w.Commit(ctx)
	if err != nil {
		return Artifact{}, err
	}
	committed = true
	a := Artifact{TaskID: t.ID, Kind: artifactKind(head), Key: key, Size: size, SHA256: sum, CreatedAt: s.now(), ConnectorID: t.ConnectorID}
	replaced, err := s.store.SaveArtifact(ctx, a)
	if err != nil {
		_ = s.artifacts.Delete(context.WithoutCancel(ctx), key)
		return Artifact{}, err
	}
	if replaced != "" && replaced != key {
		if err := s.artifacts.Delete(ctx, replaced); err != nil {
			s.log.Warn("replaced artifact not deleted", "task_id", t.ID, "err", err)
		}
	}
	s.audit(ctx, conncred.AuditEvent{Kind: AuditArtifactStored, AppID: t.AppID, ConnectorID: t.ConnectorID, CredentialID: p.CredentialID,
		Reason: a.Kind + " for " + t.ID})
	return a, nil
}

// artifactKind tells a sync's .c1z (magic "C1ZF\0" for SQLite, "C1Z3\0"
// for pebble) from the optional debug.log upload.
func artifactKind(head []byte) string {
	if len(head) == 5 && bytes.HasPrefix(head, []byte("C1Z")) && head[4] == 0 {
		return KindC1Z
	}
	return KindDebugLog
}

// streamErr turns a stream's read error into the error to answer: a
// protocol error keeps its own code (a malformed message is EInvalid
// already), an early end is EInvalid with msg.
func streamErr(err error, msg string) error {
	if errors.Is(err, io.EOF) {
		if msg == "" {
			msg = "the upload stream ended early"
		}
		return conncred.Errorf(conncred.EInvalid, "%s", msg)
	}
	var ce *conncred.Error
	if errors.As(err, &ce) {
		return err
	}
	return conncred.WrapError(conncred.EInvalid, err, "the upload stream broke off; nothing was stored")
}
