package swarm

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is an erasure-coding redundancy level (header Swarm-Redundancy-Level, 0..4).
type Level uint8

// Redundancy levels, as in Bee's pkg/file/redundancy.
const (
	LevelNone Level = iota
	LevelMedium
	LevelStrong
	LevelInsane
	LevelParanoid
)

// erasureTable maps a number of data shards to its parity count: the parities of the
// first row whose shard count the shards reach (Bee's pkg/file/redundancy/level.go).
type erasureTable struct{ shards, parities []int }

var erasureTables = [...]erasureTable{
	LevelMedium: {
		[]int{95, 69, 47, 29, 15, 6, 2, 1},
		[]int{9, 8, 7, 6, 5, 4, 3, 2},
	},
	LevelStrong: {
		[]int{105, 96, 87, 78, 70, 62, 54, 47, 40, 33, 27, 21, 16, 11, 7, 4, 2, 1},
		[]int{21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4},
	},
	LevelInsane: {
		[]int{93, 88, 83, 78, 74, 69, 64, 60, 55, 51, 46, 42, 38, 34, 30, 27, 23, 20, 17, 14, 11, 9, 6, 4, 3, 2, 1},
		[]int{31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5},
	},
	LevelParanoid: {
		[]int{37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
			17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1},
		[]int{89, 87, 86, 84, 83, 81, 80, 78, 76, 75, 73, 71, 70, 68, 66, 65, 63, 61, 59, 58,
			56, 54, 52, 50, 48, 47, 45, 43, 40, 38, 36, 34, 31, 29, 26, 23, 19},
	},
}

// replicaCounts: dispersed copies of the root chunk Bee stores per level.
var replicaCounts = [...]int{0, 2, 4, 8, 16}

// Valid reports whether l is one of the five levels.
func (l Level) Valid() bool { return l <= LevelParanoid }

// Parities is the number of parity chunks added to a group of shards sibling chunks.
func (l Level) Parities(shards int) int {
	if l == LevelNone || !l.Valid() {
		return 0
	}
	t := erasureTables[l]
	for i, s := range t.shards {
		if shards >= s {
			return t.parities[i]
		}
	}
	return 0
}

// MaxShards is how many data references one intermediate chunk holds at this level (the
// rest of its 128 slots are parity references).
func (l Level) MaxShards() int { return Branches - l.Parities(Branches) }

// ReplicaCount is how many dispersed replicas of the root chunk an upload adds.
func (l Level) ReplicaCount() int {
	if !l.Valid() {
		return 0
	}
	return replicaCounts[l]
}

// ParseLevel parses a Swarm-Redundancy-Level value: a number 0..4 or a level name.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return LevelNone, nil
	case "medium":
		return LevelMedium, nil
	case "strong":
		return LevelStrong, nil
	case "insane":
		return LevelInsane, nil
	case "paranoid":
		return LevelParanoid, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 8)
	if err != nil || !Level(n).Valid() {
		return 0, fmt.Errorf("redundancy level %q: want 0..4 (none, medium, strong, insane, paranoid)", s)
	}
	return Level(n), nil
}

// ChunkCount is the number of chunks an upload of size bytes stamps at level l: data
// chunks, intermediate chunks, parity chunks and root replicas, by the same tree shape
// TreeWriter builds. Use it to judge whether a batch can take an upload.
func ChunkCount(size int64, l Level) int64 {
	if size < 0 {
		size = 0
	}
	maxChildren := int64(Branches)
	if l != LevelNone {
		maxChildren = int64(l.MaxShards())
	}
	n := (size + ChunkSize - 1) / ChunkSize // refs at the current level
	if n == 0 {
		n = 1 // an empty upload is one empty chunk
	}
	total := n
	for n > 1 {
		full, rest := n/maxChildren, n%maxChildren
		total += full * (1 + int64(l.Parities(int(maxChildren))))
		up := full
		if rest > 1 { // a lone remaining ref is carried up unwrapped
			total += 1 + int64(l.Parities(int(rest)))
		}
		if rest > 0 {
			up++
		}
		n = up
	}
	return total + int64(l.ReplicaCount())
}
