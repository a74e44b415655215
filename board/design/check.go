package design

import (
	"fmt"
	"strings"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// Name is the design rpbus drives.
const Name = "PyRPL"

// What to load, for the messages of a failed check.
const fix = "load PyRPL's FPGA design, red_pitaya.bin from the fpga folder of PyRPL's Python package: " +
	"start the bridge with --bitstream PATH"

// signature lists runs of consecutive registers whose values PyRPL's
// design fixes (see the package doc).
var signature = []struct {
	what string
	addr uint32
	want []uint32
}{
	{"hk id", regmap.HKBase + regmap.HKID, []uint32{regmap.HKIDRelease1}},
	{"pid0 build constants", regmap.Slot(regmap.SlotPID0) + regmap.BuildConstantsBase,
		[]uint32{regmap.PIDPSR, regmap.PIDISR, regmap.PIDDSR, regmap.PIDGainBits}},
	{"pid0 filter constants", regmap.Slot(regmap.SlotPID0) + regmap.InputFilterStages,
		[]uint32{regmap.PIDFilterStages, regmap.PIDFilterShiftBits, regmap.PIDFilterMinBW}},
	{"iq0 build constants", regmap.Slot(regmap.SlotIQ0) + regmap.IQLUTSize,
		[]uint32{11, 17, regmap.IQPhaseBits, regmap.IQAmplitudeBits, 14, regmap.IQLPFBitsValue, 8}},
	{"iq0 filter constants", regmap.Slot(regmap.SlotIQ0) + regmap.InputFilterStages,
		[]uint32{1, regmap.IQFilterShiftBits, regmap.IQInputFilterMinBW, 0,
			2, regmap.IQFilterShiftBits, regmap.IQQuadFilterMinBW}},
	{"iq2 quadrature filter stages", regmap.Slot(regmap.SlotIQ2) + regmap.IQQuadFilterStagesReg, []uint32{4}},
}

// Signature describes, for hw.info, the registers Check reads.
const Signature = "hk id 1; pid0, iq0 and iq2 build constants (PSR 12, ISR 32, LUTSZ 11, ...)"

// Found is what Check read.
type Found struct {
	HKID uint32
	DNA  uint64 // the Zynq's device DNA, 57 bits: unique per chip
	// Mismatches name the signature registers that differ from PyRPL's
	// design; none when it is PyRPL's.
	Mismatches []string
}

// Check reads PyRPL's signature from f. When the FPGA does not run
// PyRPL's design it returns an rperr.EUnavailable error that says what
// differs and what to load; an error of f itself comes back as it is.
func Check(f board.FPGA) (Found, error) {
	var found Found
	zeros := true
	var dna [2]uint32
	if err := f.Read(regmap.HKBase+regmap.HKDNALow, dna[:]); err != nil {
		return found, err
	}
	found.DNA = uint64(dna[1]&(1<<25-1))<<32 | uint64(dna[0])
	for _, s := range signature {
		got := make([]uint32, len(s.want))
		if err := f.Read(s.addr, got); err != nil {
			return found, err
		}
		if s.addr == regmap.HKBase+regmap.HKID {
			found.HKID = got[0]
		}
		for i, w := range s.want {
			zeros = zeros && got[i] == 0
			if got[i] != w {
				found.Mismatches = append(found.Mismatches, fmt.Sprintf("%s: %#08x reads %d, PyRPL's design has %d", s.what, s.addr+4*uint32(i), got[i], w))
			}
		}
	}
	switch {
	case len(found.Mismatches) == 0:
		return found, nil
	case zeros:
		return found, rperr.Errorf(rperr.EUnavailable, "the FPGA does not run PyRPL's design: its %d signature registers all read 0 (another design, or none, answers): %s",
			signatureWords(), fix)
	}
	return found, rperr.Errorf(rperr.EUnavailable, "the FPGA does not run PyRPL's design: %d of its %d signature registers differ (%s): %s",
		len(found.Mismatches), signatureWords(), summary(found.Mismatches), fix)
}

func signatureWords() int {
	n := 0
	for _, s := range signature {
		n += len(s.want)
	}
	return n
}

// Imprint writes PyRPL's signature into f, a register space that is plain
// memory (a --mem-file), so that it reads as the FPGA does once PyRPL's
// design is loaded: a dry run then serves as a board would.
func Imprint(f board.FPGA) error {
	for _, s := range signature {
		if err := f.Write(s.addr, s.want); err != nil {
			return err
		}
	}
	return nil
}

// summary shows the first mismatches: enough to tell an empty or foreign
// design from a different PyRPL build.
func summary(m []string) string {
	const shown = 3
	if len(m) <= shown {
		return strings.Join(m, "; ")
	}
	return strings.Join(m[:shown], "; ") + fmt.Sprintf("; and %d more", len(m)-shown)
}
