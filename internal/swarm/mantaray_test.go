package swarm

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// saveAsBytes stores a manifest node as Bee's loadsave does: a /bytes chunk tree.
func saveAsBytes(data []byte) ([HashSize]byte, error) {
	w := NewTreeWriter(LevelNone, nil)
	_, _ = w.Write(data)
	return w.Sum()
}

func fileRef(t *testing.T, content string) []byte {
	t.Helper()
	r, err := saveAsBytes([]byte(content))
	require.NoError(t, err)
	return r[:]
}

// A directory node "/" with value forks about.html -> aa.., index.html -> bb.., as Bee's
// MarshalBinary writes it (vector from bee-js test/unit/manifest.spec.ts, "reads a
// Bee-produced v0.2 directory node").
func TestManifestNodeMarshalBeeVector(t *testing.T) {
	want := "00000000000000000000000000000000000000000000000000000000000000005768b3b6a7db56d21d1abff40d41cebfc83448fed8d7e9b06ec0d3b073f28f2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000202000000000000000000000000000000000000020a61626f75742e68746d6c0000000000000000000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa020a696e6465782e68746d6c0000000000000000000000000000000000000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	n := newManifestNode()
	n.refBytesSize = 32
	for _, c := range []struct {
		path string
		ref  byte
	}{{"about.html", 0xaa}, {"index.html", 0xbb}} {
		child := newManifestNode()
		child.nodeType = nodeTypeValue
		child.ref = bytes.Repeat([]byte{c.ref}, 32)
		n.forks[c.path[0]] = &manifestFork{[]byte(c.path), child}
	}
	got, err := n.marshal()
	require.NoError(t, err)
	require.Equal(t, want, hex.EncodeToString(got))
}

// Single-file /bzz uploads as Bee's fileUploadHandler builds them: "/" with the index
// document, then the file with Content-Type and Filename. References from Bee v2.8.1
// pkg/api/bzz_test.go (check-content-type-detection, upload-then-download-with-targets).
func TestManifestSingleFileBeeVectors(t *testing.T) {
	for _, c := range []struct{ name, ctype, want string }{
		{"my-pictures.jpeg", "image/jpeg; charset=utf-8", "4f9146b3813ccbd7ce45a18be23763d7e436ab7a3982ef39961c6f3cd4da1dcf"},
		{"simple_file.txt", "text/html; charset=utf-8", "65148cd89b58e91616773f5acea433f7b5a6274f2259e25f4893a332b74a7e28"},
	} {
		m := NewManifest()
		require.NoError(t, m.Add(ManifestRootPath, nil, map[string]string{ManifestIndexDocumentKey: c.name}))
		require.NoError(t, m.Add(c.name, fileRef(t, "this is a simple text"), map[string]string{ManifestEntryContentType: c.ctype, ManifestEntryFilenameKey: c.name}))
		ref, err := m.Save(saveAsBytes)
		require.NoError(t, err)
		require.Equal(t, c.want, hex.EncodeToString(ref[:]), c.name)
	}
}

// A tar collection as Bee's storeDir builds it. Reference from Bee v2.8.1
// pkg/api/dirs_test.go ("non-nested files without extension").
func TestManifestCollectionBeeVector(t *testing.T) {
	m := NewManifest()
	for _, f := range []struct{ name, data string }{{"file1", "first file data"}, {"file2", "second file data"}} {
		require.NoError(t, m.Add(f.name, fileRef(t, f.data), map[string]string{ManifestEntryContentType: "", ManifestEntryFilenameKey: f.name}))
	}
	ref, err := m.Save(saveAsBytes)
	require.NoError(t, err)
	require.Equal(t, "f3312af64715d26b5e1a3dc90f012d2c9cc74a167899dab1d07cdee8c107f939", hex.EncodeToString(ref[:]))
}

// A nested tar entry with an index document (Bee v2.8.1 pkg/api/dirs_test.go, "nested index
// filename"): the root "/" entry is Bee's swarm.ZeroAddress, i.e. empty.
func TestManifestNestedIndexBeeVector(t *testing.T) {
	m := NewManifest()
	require.NoError(t, m.Add("dir/index.html", fileRef(t, "<h1>Swarm"), map[string]string{ManifestEntryContentType: "text/html; charset=utf-8", ManifestEntryFilenameKey: "index.html"}))
	require.NoError(t, m.Add(ManifestRootPath, nil, map[string]string{ManifestIndexDocumentKey: "index.html"}))
	ref, err := m.Save(saveAsBytes)
	require.NoError(t, err)
	require.Equal(t, "3e2f008a578c435efa7a1fce146e21c4ae8c20b80fbb4c4e0c1c87ca08fef414", hex.EncodeToString(ref[:]))
}

// A feed manifest as Bee's feedPostHandler builds it: "/" with a 32-byte zero entry and the
// feed's owner, topic and type. Reference from Bee v2.8.1 pkg/api/feed_test.go.
func TestManifestFeedBeeVector(t *testing.T) {
	m := NewManifest()
	require.NoError(t, m.Add(ManifestRootPath, make([]byte, 32), map[string]string{
		"swarm-feed-owner": "8d3766440f0d7b949a5e32995d09619a7f86e632", "swarm-feed-topic": "aabbcc", "swarm-feed-type": "Sequence",
	}))
	ref, err := m.Save(saveAsBytes)
	require.NoError(t, err)
	require.Equal(t, "891a1d1c8436c792d02fc2e8883fef7ab387eaeaacd25aa9f518be7be7856d54", hex.EncodeToString(ref[:]))
}
