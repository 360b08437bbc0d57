package baton

import (
	"context"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// Hello tasks. A connector says Hello once at start-up; baton-sdk v0.2.x
// never retries a failed one, so a host can poll for months without the
// server knowing its build, OS or connector name. The protocol's remedy is
// the server-sent hello task: the connector answers it with a Hello that
// carries the task's id, and never with FinishTask (BATON-WIRE §3.5).
//
// conncred sends one when a host has polled for HelloGrace without a Hello
// on record (v0.2.x's first GetTask overtakes its start-up Hello, so a
// first poll from an unknown host is normal), only when the poll has room
// besides the tasks it hands out, and at most once per HeartbeatTimeout per
// host: an unanswered hello task times out like any task and is not
// retried, and a later poll asks again.

// hostKey names one host of one connector.
type hostKey struct{ connector, host string }

// helloState is what a node remembers about its connectors' hosts. The
// store is the truth (Hello may have reached another node); memory only
// spares the poll path a read.
type helloState struct {
	mu sync.Mutex
	// known hosts have a Hello on record.
	known map[hostKey]bool
	// loaded connectors had their hosts read from the store once.
	loaded map[string]bool
	// firstPoll and asked track hosts without a Hello: when they were
	// first seen polling and when they were last sent a hello task.
	firstPoll, asked map[hostKey]time.Time
}

// maxUnknownHosts bounds the hosts without a Hello a node tracks (a host
// id is the connector's to choose, so a buggy one could make many).
const maxUnknownHosts = 100_000

func (h *helloState) init() {
	if h.known == nil {
		h.known, h.loaded = map[hostKey]bool{}, map[string]bool{}
		h.firstPoll, h.asked = map[hostKey]time.Time{}, map[hostKey]time.Time{}
	}
}

// sawHello records that host said Hello.
func (s *Service) sawHello(connectorID, host string) {
	k := hostKey{connectorID, host}
	s.hello.mu.Lock()
	defer s.hello.mu.Unlock()
	s.hello.init()
	s.hello.known[k] = true
	delete(s.hello.firstPoll, k)
	delete(s.hello.asked, k)
}

// loadHosts reads the connector's hosts from the store into known.
func (s *Service) loadHosts(ctx context.Context, connectorID string) error {
	for after := ""; ; {
		hosts, err := s.store.ListHosts(ctx, connectorID, after, 1000)
		if err != nil {
			return err
		}
		s.hello.mu.Lock()
		s.hello.init()
		for _, h := range hosts {
			s.hello.known[hostKey{connectorID, h.HostID}] = true
		}
		s.hello.loaded[connectorID] = true
		s.hello.mu.Unlock()
		if len(hosts) < 1000 {
			return nil
		}
		after = hosts[len(hosts)-1].HostID
	}
}

// helloDue reports whether host should get a hello task now. It reads
// the store only for a connector it has not loaded yet and for a host
// whose grace just ran out (Hello may have reached another node).
func (s *Service) helloDue(ctx context.Context, c *conncred.Principal, host string, now time.Time) (bool, error) {
	k := hostKey{c.ConnectorID, host}
	s.hello.mu.Lock()
	s.hello.init()
	known, loaded := s.hello.known[k], s.hello.loaded[c.ConnectorID]
	s.hello.mu.Unlock()
	if known {
		return false, nil
	}
	if !loaded {
		if err := s.loadHosts(ctx, c.ConnectorID); err != nil {
			return false, err
		}
	}
	s.hello.mu.Lock()
	if s.hello.known[k] {
		s.hello.mu.Unlock()
		return false, nil
	}
	first, seen := s.hello.firstPoll[k]
	if !seen {
		if len(s.hello.firstPoll) >= maxUnknownHosts {
			s.hello.mu.Unlock()
			return false, nil
		}
		s.hello.firstPoll[k], first = now, now
	}
	asked, wasAsked := s.hello.asked[k]
	s.hello.mu.Unlock()
	if now.Sub(first) < s.cfg.HelloGrace || (wasAsked && now.Sub(asked) < s.cfg.HeartbeatTimeout) {
		return false, nil
	}
	if err := s.loadHosts(ctx, c.ConnectorID); err != nil {
		return false, err
	}
	s.hello.mu.Lock()
	defer s.hello.mu.Unlock()
	if s.hello.known[k] {
		return false, nil
	}
	s.hello.asked[k] = now
	return true, nil
}

// helloSettled reports, from memory alone, that helloDue would answer
// false for host now without reading the store or remembering anything
// new, so a quiet poll may skip it.
func (s *Service) helloSettled(connectorID, host string, now time.Time) bool {
	k := hostKey{connectorID, host}
	s.hello.mu.Lock()
	defer s.hello.mu.Unlock()
	s.hello.init()
	if s.hello.known[k] {
		return true
	}
	if !s.hello.loaded[connectorID] {
		return false
	}
	first, seen := s.hello.firstPoll[k]
	if !seen {
		return len(s.hello.firstPoll) >= maxUnknownHosts
	}
	asked, wasAsked := s.hello.asked[k]
	return now.Sub(first) < s.cfg.HelloGrace || (wasAsked && now.Sub(asked) < s.cfg.HeartbeatTimeout)
}

// askHello creates a hello task for the connector and claims it for host
// at once, so the host that lacks a Hello is the one asked.
func (s *Service) askHello(ctx context.Context, p *conncred.Principal, host string, now time.Time) ([]Task, error) {
	t := Task{ID: ksuid.New(now), ConnectorID: p.ConnectorID, AppID: p.AppID, Type: TypeHello, State: StatePending,
		Attempt: 1, Reason: "no hello from host " + truncate(host, 64), CreatedAt: now, NotBefore: now}
	if err := s.store.CreateTask(ctx, t); err != nil {
		return nil, err
	}
	s.changed(p.ConnectorID)
	s.metrics.created.Add(1)
	s.metrics.helloTasks.Add(1)
	s.audit(ctx, conncred.AuditEvent{Kind: AuditTaskCreated, AppID: p.AppID, ConnectorID: p.ConnectorID, Reason: "hello " + t.ID + " (host " + truncate(host, 64) + " polls without a hello)"})
	tasks, _, err := s.store.ClaimTasks(ctx, p.ConnectorID, host, now, 1)
	return tasks, err
}

// answerHello ends a hello task answered by a Hello carrying its id.
func (s *Service) answerHello(ctx context.Context, t Task) error {
	if t.Type != TypeHello || t.Final() {
		return nil
	}
	_, err := s.end(ctx, t, Outcome{State: StateFinished, At: s.now()})
	return err
}
