package swarm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Manifest builds a mantaray v0.2 manifest as Bee's pkg/manifest/mantaray does for
// unencrypted uploads (all-zero obfuscation key), so the same paths, entries and metadata
// give Bee's manifest reference. It only builds and saves; it never loads.
type Manifest struct{ root *manifestNode }

// Mantaray metadata keys Bee's /bzz uploads set (pkg/manifest).
const (
	ManifestRootPath           = "/"
	ManifestIndexDocumentKey   = "website-index-document"
	ManifestErrorDocumentKey   = "website-error-document"
	ManifestEntryContentType   = "Content-Type"
	ManifestEntryFilenameKey   = "Filename"
	mantarayPrefixMaxSize      = 30 // a fork's prefix field: 32 bytes minus type and length
	mantarayObfuscationKeySize = 32
)

// mantarayVersion02Hash is keccak256("mantaray:0.2"), of which a node header carries 31 bytes.
var mantarayVersion02Hash = Keccak256([]byte("mantaray:0.2"))

const (
	nodeTypeValue             = uint8(2)
	nodeTypeEdge              = uint8(4)
	nodeTypeWithPathSeparator = uint8(8)
	nodeTypeWithMetadata      = uint8(16)
)

type manifestNode struct {
	nodeType     uint8
	refBytesSize int
	entry        []byte
	metadata     map[string]string
	forks        map[byte]*manifestFork
	ref          []byte // set once saved
}

type manifestFork struct {
	prefix []byte
	node   *manifestNode
}

func newManifestNode() *manifestNode { return &manifestNode{forks: map[byte]*manifestFork{}} }

// NewManifest returns an empty manifest.
func NewManifest() *Manifest { return &Manifest{root: newManifestNode()} }

// Add sets path's entry (a reference; nil for Bee's swarm.ZeroAddress, as on the root "/"
// entry of website metadata) and metadata, as mantaray's Node.Add.
func (m *Manifest) Add(path string, entry []byte, metadata map[string]string) error {
	if len(entry) > 256 {
		return fmt.Errorf("manifest entry of %d bytes: at most 256", len(entry))
	}
	return m.root.add([]byte(path), entry, metadata)
}

func (n *manifestNode) setPathSeparator(path []byte) {
	if bytes.IndexByte(path, '/') > 0 {
		n.nodeType |= nodeTypeWithPathSeparator
	} else {
		n.nodeType &^= nodeTypeWithPathSeparator
	}
}

func (n *manifestNode) setValue(entry []byte, metadata map[string]string) {
	n.entry = entry
	n.nodeType |= nodeTypeValue
	if len(metadata) > 0 {
		n.metadata = metadata
		n.nodeType |= nodeTypeWithMetadata
	}
}

func commonPrefix(a, b []byte) []byte {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[:i:i]
}

func (n *manifestNode) add(path, entry []byte, metadata map[string]string) error {
	if n.refBytesSize == 0 && len(entry) > 0 {
		n.refBytesSize = len(entry)
	} else if len(entry) > 0 && n.refBytesSize != len(entry) {
		return fmt.Errorf("manifest entry of %d bytes, want %d", len(entry), n.refBytesSize)
	}
	n.ref = nil
	if len(path) == 0 {
		n.setValue(entry, metadata)
		return nil
	}
	f := n.forks[path[0]]
	if f == nil {
		nn := newManifestNode()
		nn.refBytesSize = n.refBytesSize
		if len(path) > mantarayPrefixMaxSize {
			prefix, rest := path[:mantarayPrefixMaxSize], path[mantarayPrefixMaxSize:]
			if err := nn.add(rest, entry, metadata); err != nil {
				return err
			}
			nn.setPathSeparator(prefix)
			n.forks[path[0]] = &manifestFork{prefix, nn}
			n.nodeType |= nodeTypeEdge
			return nil
		}
		nn.setValue(entry, metadata)
		nn.setPathSeparator(path)
		n.forks[path[0]] = &manifestFork{path, nn}
		n.nodeType |= nodeTypeEdge
		return nil
	}
	c := commonPrefix(f.prefix, path)
	rest := f.prefix[len(c):]
	nn := f.node
	if len(rest) > 0 {
		// Split the fork: a new node at the common prefix holds the old one below it.
		nn = newManifestNode()
		nn.refBytesSize = n.refBytesSize
		f.node.setPathSeparator(rest)
		nn.forks[rest[0]] = &manifestFork{rest, f.node}
		nn.nodeType |= nodeTypeEdge
		if len(path) == len(c) {
			nn.nodeType |= nodeTypeValue
		}
	}
	nn.setPathSeparator(path)
	if err := nn.add(path[len(c):], entry, metadata); err != nil {
		return err
	}
	n.forks[path[0]] = &manifestFork{c, nn}
	n.nodeType |= nodeTypeEdge
	return nil
}

// Save serialises every node, children first, through save (which stores the bytes as Bee
// stores them: a /bytes chunk tree) and returns the root node's reference.
func (m *Manifest) Save(save func([]byte) ([HashSize]byte, error)) ([HashSize]byte, error) {
	if err := m.root.save(save); err != nil {
		return [HashSize]byte{}, err
	}
	return [HashSize]byte(m.root.ref), nil
}

func (n *manifestNode) save(save func([]byte) ([HashSize]byte, error)) error {
	if n.ref != nil {
		return nil
	}
	for _, f := range n.forks {
		if err := f.node.save(save); err != nil {
			return err
		}
	}
	data, err := n.marshal()
	if err != nil {
		return err
	}
	ref, err := save(data)
	if err != nil {
		return err
	}
	n.ref = ref[:]
	return nil
}

// marshal is mantaray v0.2's node layout: obfuscation key (zero), 31 bytes of the version
// hash, the reference size, the entry, a 256-bit fork bitmap, then each fork in byte order.
// With a zero key the XOR obfuscation leaves every byte as it is.
func (n *manifestNode) marshal() ([]byte, error) {
	if n.refBytesSize == 0 {
		if len(n.entry) > 0 {
			n.refBytesSize = len(n.entry)
		} else {
			for _, f := range n.forks {
				if len(f.node.ref) > 0 {
					n.refBytesSize = len(f.node.ref)
					break
				}
			}
		}
	}
	out := make([]byte, mantarayObfuscationKeySize, 256)
	out = append(out, mantarayVersion02Hash[:31]...)
	out = append(out, byte(n.refBytesSize))
	entry := make([]byte, n.refBytesSize)
	copy(entry, n.entry)
	out = append(out, entry...)
	var bitmap [32]byte
	for b := range n.forks {
		bitmap[b/8] |= 1 << (b % 8)
	}
	out = append(out, bitmap[:]...)
	for i := 0; i < 256; i++ {
		f := n.forks[byte(i)]
		if f == nil {
			continue
		}
		out = append(out, f.node.nodeType, byte(len(f.prefix)))
		var prefix [mantarayPrefixMaxSize]byte
		copy(prefix[:], f.prefix)
		out = append(out, prefix[:]...)
		out = append(out, f.node.ref...)
		if f.node.nodeType&nodeTypeWithMetadata != 0 {
			meta, err := json.Marshal(f.node.metadata)
			if err != nil {
				return nil, err
			}
			// Pad with newlines so size field + JSON fill whole 32-byte segments (Bee adds a
			// full segment when they already do).
			withSize := len(meta) + 2
			pad := 0
			switch {
			case withSize < mantarayObfuscationKeySize:
				pad = mantarayObfuscationKeySize - withSize
			case withSize > mantarayObfuscationKeySize:
				pad = mantarayObfuscationKeySize - withSize%mantarayObfuscationKeySize
			}
			meta = append(meta, bytes.Repeat([]byte{'\n'}, pad)...)
			if len(meta) > 0xffff {
				return nil, fmt.Errorf("manifest metadata of %d bytes: at most 65535", len(meta))
			}
			out = binary.BigEndian.AppendUint16(out, uint16(len(meta)))
			out = append(out, meta...)
		}
	}
	return out, nil
}
