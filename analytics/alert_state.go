package analytics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wasp/internal/files"
)

// alertCheckpoint is what AlertConfig.StatePath keeps: the rules' states
// and the numbers' recent minutes, as of the offsets committed after it
// was written. A restart takes them up where they were and reads the
// events after those offsets, so it neither raises an alert still firing
// again nor resolves one for want of the minutes before the restart.
type alertCheckpoint struct {
	States map[string]savedAlert `json:"states"`
	Series []savedSeries         `json:"series"`
}

type savedAlert struct {
	Firing   bool      `json:"firing"`
	Notified bool      `json:"notified"`
	Since    time.Time `json:"since"`
	LastSent time.Time `json:"last_sent"`
}

type savedSeries struct {
	Tenant  string        `json:"tenant"`
	Number  string        `json:"number"`
	Minutes []savedMinute `json:"minutes"`
}

type savedMinute struct {
	Minute  int64    `json:"minute"`
	Counts  [9]int64 `json:"counts"`
	Account string   `json:"account,omitzero"`
}

// fields are m's counts in a fixed order, for the checkpoint.
func (m *minuteCounts) fields() [9]*int64 {
	return [9]*int64{&m.webhooks, &m.accepted, &m.replies, &m.sendFailed, &m.statusFailed,
		&m.tokenErrors, &m.decisions, &m.llmErrors, &m.adverse}
}

// saveState writes the checkpoint to StatePath, replacing the file whole,
// when an event was counted or a rule changed since the last save: an
// idle loop writes nothing. States that neither fire nor hold a cooldown
// are left out.
func (a *Alerter) saveState(now time.Time) error {
	a.mu.Lock()
	if a.cfg.StatePath == "" || !a.dirty {
		a.mu.Unlock()
		return nil
	}
	cp := alertCheckpoint{States: map[string]savedAlert{}}
	for k, st := range a.state {
		if st.firing || now.Sub(st.lastSent) < a.cfg.Cooldown {
			cp.States[k] = savedAlert{Firing: st.firing, Notified: st.notified, Since: st.since, LastSent: st.lastSent}
		}
	}
	for _, s := range a.series {
		ss := savedSeries{Tenant: s.tenant, Number: s.number}
		for i, m := range s.minutes {
			if m < 0 {
				continue
			}
			sm := savedMinute{Minute: m, Account: s.counts[i].account}
			for j, f := range s.counts[i].fields() {
				sm.Counts[j] = *f
			}
			ss.Minutes = append(ss.Minutes, sm)
		}
		if len(ss.Minutes) > 0 {
			cp.Series = append(cp.Series, ss)
		}
	}
	a.dirty = false // set again by what comes after this copy
	a.mu.Unlock()
	if err := writeAtomically(a.cfg.StatePath, cp); err != nil {
		a.mu.Lock()
		a.dirty = true
		a.mu.Unlock()
		return fmt.Errorf("cannot save the alerts' state: %w", err)
	}
	return nil
}

// writeAtomically writes v as JSON to path through a synced temporary
// file renamed over it, so that path holds the old content or the new.
func writeAtomically(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := files.WriteTemp(filepath.Dir(path), ".alerts-*", b)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// loadState reads the checkpoint a previous run saved, if any. The
// alerts it finds firing count as firing again; a rule this version does
// not know is dropped, and so are minutes outside the windows.
func (a *Alerter) loadState() error {
	if a.cfg.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(a.cfg.StatePath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read the alerts' state: %w", err)
	}
	var cp alertCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return fmt.Errorf("cannot read the alerts' state in %s: %w", a.cfg.StatePath, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range cp.States {
		rule, _, _ := strings.Cut(k, "\x00")
		g := alertsFiring[rule]
		if g == nil {
			continue
		}
		a.state[k] = &alertState{firing: s.Firing, notified: s.Notified, since: s.Since, lastSent: s.LastSent}
		if s.Firing {
			g.n.Add(1)
		}
	}
	now := a.cfg.Now().Unix() / 60
	for _, ss := range cp.Series {
		s := a.seriesOf(ss.Tenant, ss.Number)
		for _, sm := range ss.Minutes {
			if sm.Minute <= now-a.ring() || sm.Minute > now+1 {
				continue
			}
			c := s.at(sm.Minute)
			for j, f := range c.fields() {
				*f = sm.Counts[j]
			}
			c.account = sm.Account
		}
	}
	return nil
}
