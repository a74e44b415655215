// Package report writes acquisitions for people: CSV and JSON files, and
// PNG plots drawn with gonum/plot (time traces; a Bode plot, magnitude in
// dB and phase in degrees, for network-analyzer sweeps; spectra on a log
// frequency axis, with a log or dB power axis).
package report
