package api

import "github.com/rpbus/rpbus/wire"

// SpecanSettings is the body of rp.<board>.specan.single, with PyRPL's
// names and units. Zero values take the defaults given.
type SpecanSettings struct {
	// ID optionally names the acquisition (unique while it runs), so the
	// requester can cancel it before the reply arrives; empty: the
	// service picks one.
	ID string `json:"id,omitempty"`
	// Span (Hz) is the sample rate 125 MHz / decimation, rounded to the
	// next allowed value up; Decimation sets it directly. Give at most
	// one; neither means decimation 8 (span 15.625 MHz).
	Span         float64 `json:"span,omitempty"`
	Decimation   int     `json:"decimation,omitempty"`
	Input1       string  `json:"input1,omitempty"`        // as for the scope (default in1)
	Input2       string  `json:"input2,omitempty"`        // default in2
	Window       string  `json:"window,omitempty"`        // blackman, flattop (default), boxcar, hamming, gaussian
	TraceAverage int     `json:"trace_average,omitempty"` // traces power-averaged (default 1)
	Unit         string  `json:"unit,omitempty"`          // Vpk^2 (default), dB(Vpk^2), Vpk, Vrms^2, dB(Vrms^2), Vrms, Vrms^2/Hz, dB(Vrms^2/Hz), Vrms/sqrt(Hz)
	Cross        bool    `json:"cross,omitempty"`         // compute the cross spectrum
	Timeout      float64 `json:"timeout,omitempty"`       // s; default 5 s + 2 x the acquisitions' and readouts' time
	// Save stores the spectrum in the curve store before the reply,
	// which then carries its curve id; Name and Tags label it there.
	Save bool     `json:"save,omitempty"`
	Name string   `json:"name,omitempty"`
	Tags []string `json:"tags,omitempty"`

	// PyRPL's names. RBW (Hz) picks the decimation, as PyRPL's rbw does:
	// the one whose rbw (ENBW x 125 MHz / decimation) is nearest; give at
	// most one of span, decimation, rbw. The reply's RBW is the one
	// applied. DisplayUnit is unit, Input1Baseband and Input2Baseband are
	// input1 and input2 (give either name), and Baseband must be true:
	// only baseband spectra are made.
	RBW            float64 `json:"rbw,omitempty"`
	DisplayUnit    string  `json:"display_unit,omitempty"`
	Input1Baseband string  `json:"input1_baseband,omitempty"`
	Input2Baseband string  `json:"input2_baseband,omitempty"`
	Baseband       *bool   `json:"baseband,omitempty"`
}

// Spectrum answers specan.single and is published on specan.done.
type Spectrum struct {
	ID          string         `json:"id"`
	Board       string         `json:"board"`
	Settings    SpecanSettings `json:"settings"`
	Frequencies wire.F64       `json:"frequencies"` // Hz, 0 .. span/2
	Ch1         wire.F64       `json:"ch1"`         // in Settings.Unit
	Ch2         wire.F64       `json:"ch2"`
	CrossRe     wire.F64       `json:"cross_re,omitempty"` // cross spectrum conj(F1)*F2, in the unit's power form
	CrossIm     wire.F64       `json:"cross_im,omitempty"`
	RBW         float64        `json:"rbw"`  // Hz: ENBW x sample rate
	ENBW        float64        `json:"enbw"` // the window's equivalent noise bandwidth sum(w^2)/sum(w)^2, a fraction of the sample rate (ENBW in bins / 16384)
	Traces      int            `json:"traces"`
	// CrossUnit is the unit of CrossRe and CrossIm when cross is on: the
	// power form of Settings.Unit (Vpk^2, Vrms^2 or Vrms^2/Hz), signed, so
	// that arg(cross) = phase(ch2) - phase(ch1).
	CrossUnit string `json:"cross_unit,omitempty"`
	Curve     string `json:"curve,omitempty"` // the stored curve's id, when saved
	Timing
}
