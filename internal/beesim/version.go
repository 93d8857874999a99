package beesim

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// Bee versions the simulator can answer as. Where v2.8.1 changed an answer, the older one
// is kept behind Options.BeeVersion.
const (
	Version281 = "2.8.1"
	Version280 = "2.8.0"
)

// profile is what differs between the simulated Bee versions.
type profile struct {
	version, apiVersion string
	// defaultLevel is the redundancy level of uploads without Swarm-Redundancy-Level:
	// NONE up to v2.8.0, MEDIUM from v2.8.1.
	defaultLevel swarm.Level
	// v281 gates v2.8.1's additions: utilizationRatio, minimumValidityBlocks, PATCH
	// /stamps/{id}, GET /batches/{id}, a pre-signed stamp without a batch on /soc and
	// /chunks/stream.
	v281 bool
}

func profileFor(version string) (profile, error) {
	switch version {
	case "", Version281:
		return profile{version: Version281, apiVersion: "8.1.0", defaultLevel: swarm.LevelMedium, v281: true}, nil
	case Version280:
		return profile{version: Version280, apiVersion: "7.4.1", defaultLevel: swarm.LevelNone}, nil
	}
	//lint:ignore ST1005 "Bee" is a proper noun, not a capitalised sentence.
	return profile{}, fmt.Errorf("Bee version %q: want %s or %s", version, Version281, Version280)
}

// redundancyLevel reads Swarm-Redundancy-Level; it writes Bee's 400 and returns false when
// the value is not a level.
func (s *Sim) redundancyLevel(w http.ResponseWriter, r *http.Request) (swarm.Level, bool) {
	v := r.Header.Get("Swarm-Redundancy-Level")
	if v == "" {
		return s.profile.defaultLevel, true
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"Swarm-Redundancy-Level", err.(*strconv.NumError).Err.Error()})
		return 0, false
	}
	if !swarm.Level(n).Valid() {
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"swarm-redundancy-level", "want redundancy level to be between 0 and 4"})
		return 0, false
	}
	return swarm.Level(n), true
}

// CheckVersion reports whether New accepts v as Options.BeeVersion.
func CheckVersion(v string) error {
	_, err := profileFor(v)
	return err
}
