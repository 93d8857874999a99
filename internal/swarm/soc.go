package swarm

import (
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

const (
	// AddressSize is the length of an Ethereum address (a SOC owner).
	AddressSize = 20
	// SignatureSize is the length of a SOC signature: r || s || v, v being 27 or 28.
	SignatureSize = 65
	// SOCMinSize is the shortest SOC: id, signature and a span.
	SOCMinSize = HashSize + SignatureSize + SpanSize
	// SOCMaxSize is the longest SOC: id, signature and a full chunk.
	SOCMaxSize = HashSize + SignatureSize + ChunkWithSpanSize
)

// SOCAddress is the address of a single-owner chunk: keccak256(id || owner).
func SOCAddress(id [HashSize]byte, owner [AddressSize]byte) [HashSize]byte {
	return Keccak256(id[:], owner[:])
}

// socDigest is what a SOC owner signs: keccak256(id || wrapped chunk address), signed as an
// Ethereum message ("\x19Ethereum Signed Message:\n32" prefix, keccak256 again), as Bee's
// pkg/soc and pkg/crypto do.
func socDigest(id, chunkAddr [HashSize]byte) [HashSize]byte {
	inner := Keccak256(id[:], chunkAddr[:])
	return Keccak256([]byte(fmt.Sprintf("\x19Ethereum Signed Message:\n%d", len(inner))), inner[:])
}

// EthereumAddress is the address of a public key: the last 20 bytes of keccak256 of its
// uncompressed form without the 0x04 prefix.
func EthereumAddress(pub *secp256k1.PublicKey) [AddressSize]byte {
	h := Keccak256(pub.SerializeUncompressed()[1:])
	return [AddressSize]byte(h[HashSize-AddressSize:])
}

// ErrBadSignature means a SOC signature is malformed or recovers no key.
var ErrBadSignature = errors.New("swarm: invalid SOC signature")

// RecoverSOCOwner returns the owner whose key signed a SOC with this id over the wrapped
// chunk address.
func RecoverSOCOwner(sig []byte, id, chunkAddr [HashSize]byte) ([AddressSize]byte, error) {
	if len(sig) != SignatureSize {
		return [AddressSize]byte{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadSignature, len(sig), SignatureSize)
	}
	// decred wants the recovery byte first: [27+recid] || r || s.
	compact := make([]byte, SignatureSize)
	compact[0] = sig[64]
	copy(compact[1:], sig[:64])
	digest := socDigest(id, chunkAddr)
	pub, _, err := ecdsa.RecoverCompact(compact, digest[:])
	if err != nil {
		return [AddressSize]byte{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return EthereumAddress(pub), nil
}

// SignSOC signs a SOC with id over the wrapped chunk address and returns the 65-byte
// signature and the owner address.
func SignSOC(key *secp256k1.PrivateKey, id, chunkAddr [HashSize]byte) ([]byte, [AddressSize]byte) {
	digest := socDigest(id, chunkAddr)
	compact := ecdsa.SignCompact(key, digest[:], false) // [27+recid] || r || s
	sig := make([]byte, SignatureSize)
	copy(sig, compact[1:])
	sig[64] = compact[0]
	return sig, EthereumAddress(key.PubKey())
}

// SOC is a parsed single-owner chunk.
type SOC struct {
	ID        [HashSize]byte
	Signature []byte
	Owner     [AddressSize]byte // recovered from the signature
	Wrapped   []byte            // the wrapped content-addressed chunk: span + payload
	Address   [HashSize]byte    // keccak256(id || owner)
}

// ParseSOC reads id || signature || span || payload and recovers its owner.
func ParseSOC(data []byte) (*SOC, error) {
	if len(data) < SOCMinSize || len(data) > SOCMaxSize {
		return nil, fmt.Errorf("swarm: SOC of %d bytes, want %d..%d", len(data), SOCMinSize, SOCMaxSize)
	}
	s := &SOC{ID: [HashSize]byte(data[:HashSize]), Signature: data[HashSize : HashSize+SignatureSize],
		Wrapped: data[HashSize+SignatureSize:]}
	wrappedAddr, _ := ChunkAddress(s.Wrapped)
	owner, err := RecoverSOCOwner(s.Signature, s.ID, wrappedAddr)
	if err != nil {
		return nil, err
	}
	s.Owner = owner
	s.Address = SOCAddress(s.ID, owner)
	return s, nil
}

// FeedUpdateID is the SOC id of a sequential feed's update: keccak256(topic || index as 8
// bytes big-endian).
func FeedUpdateID(topic [HashSize]byte, index uint64) [HashSize]byte {
	var i [8]byte
	for k := 7; k >= 0; k-- {
		i[k] = byte(index)
		index >>= 8
	}
	return Keccak256(topic[:], i[:])
}
