package testkit

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MemStorage is an in-memory pool storage (internal/pool's Storage: the part of Caddy's
// certmagic.Storage the ledger needs) whose locks never expire: a holder that dies keeps
// its lock for good, the strictest lock semantics a storage module may have.
type MemStorage struct {
	// BeforeStore, when set (before first use), runs before each Store outside the mutex.
	BeforeStore func()

	mu     sync.Mutex
	data   map[string][]byte
	locks  map[string]bool
	stores int
	waits  atomic.Int64
}

// NewMemStorage returns an empty storage.
func NewMemStorage() *MemStorage {
	return &MemStorage{data: map[string][]byte{}, locks: map[string]bool{}}
}

// Lock waits until name is free, or ctx ends.
func (m *MemStorage) Lock(ctx context.Context, name string) error {
	for first := true; ; first = false {
		m.mu.Lock()
		if !m.locks[name] {
			m.locks[name] = true
			m.mu.Unlock()
			return nil
		}
		m.mu.Unlock()
		if first {
			m.waits.Add(1)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond): // certmagic's storages poll too
		}
	}
}

// Unlock frees name; unlocking a lock not held is an error.
func (m *MemStorage) Unlock(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.locks[name] {
		return fmt.Errorf("lock %s not held", name)
	}
	delete(m.locks, name)
	return nil
}

// Waits counts the Lock calls that found their lock held and began to wait.
func (m *MemStorage) Waits() int64 { return m.waits.Load() }

// Locked reports whether name is held.
func (m *MemStorage) Locked(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.locks[name]
}

// Store keeps a copy of value under key.
func (m *MemStorage) Store(_ context.Context, key string, value []byte) error {
	if m.BeforeStore != nil {
		m.BeforeStore()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = append([]byte(nil), value...)
	m.stores++
	return nil
}

// Load returns a copy of key's value, or fs.ErrNotExist.
func (m *MemStorage) Load(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return append([]byte(nil), v...), nil
}

// Stores counts the Store calls so far.
func (m *MemStorage) Stores() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stores
}

// Delete removes key, as certmagic.Storage's Delete does; a missing key is fs.ErrNotExist.
func (m *MemStorage) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data[key]; !ok {
		return fs.ErrNotExist
	}
	delete(m.data, key)
	return nil
}

// Keys lists the stored keys under prefix, sorted.
func (m *MemStorage) Keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
