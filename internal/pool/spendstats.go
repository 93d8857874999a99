package pool

import (
	"math/big"
)

// plurPerBZZ: 1 BZZ is 10^16 PLUR.
var plurPerBZZ = new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil))

// recordSpendLocked counts stamped bytes injected (for bytes per BZZ). p.mu is held.
func (p *Pool) recordSpendLocked(n int64) {
	if n > 0 {
		p.stampedBytes += n
		if o, ok := p.deps.Observer.(SpendObserver); ok {
			o.Stamped(n)
		}
	}
}

// SpendObserver is an optional Observer extension for spend efficiency: bytes stamped by
// injected uploads, and after each sync the active batches' effective capacity left and the
// block time in use.
type SpendObserver interface {
	Stamped(bytes int64)
	Efficiency(active []ActiveStatus, blockTime BlockTimeStatus)
}

// reportEfficiency hands the active batches' fill to a SpendObserver.
func (p *Pool) reportEfficiency() {
	o, ok := p.deps.Observer.(SpendObserver)
	if !ok {
		return
	}
	st := p.Status()
	o.Efficiency(st.ActiveBatches, st.BlockTime)
}

// addSpent counts PLUR this process spent on purchases, top-ups and dilutions.
func (p *Pool) addSpent(plur *big.Int) {
	if plur == nil || plur.Sign() <= 0 {
		return
	}
	p.mu.Lock()
	p.spentPLUR.Add(p.spentPLUR, plur)
	p.mu.Unlock()
}

// SpendStatus is what the pool spent and what it stamped with it, since this process started.
type SpendStatus struct {
	SpentPLUR    *big.Int
	SpentBZZ     float64
	StampedBytes int64
	// BytesPerBZZ is StampedBytes / SpentBZZ (0 while nothing was spent).
	BytesPerBZZ float64
}

func (p *Pool) spendStatusLocked() SpendStatus {
	bzz, _ := new(big.Float).Quo(new(big.Float).SetInt(p.spentPLUR), plurPerBZZ).Float64()
	st := SpendStatus{SpentPLUR: new(big.Int).Set(p.spentPLUR), SpentBZZ: bzz, StampedBytes: p.stampedBytes}
	if bzz > 0 {
		st.BytesPerBZZ = float64(p.stampedBytes) / bzz
	}
	return st
}

// Spend reports the spend figures (for metrics).
func (p *Pool) Spend() SpendStatus {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.spendStatusLocked()
}
