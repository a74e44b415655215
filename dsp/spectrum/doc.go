// Package spectrum turns two-channel Red Pitaya scope traces into averaged
// power spectra normalised exactly as PyRPL's baseband spectrum analyzer
// (pyrpl/software_modules/spectrum_analyzer.py) does.
//
// # Use
//
// Build a Plan once per Settings (or take it from a Cache: NewAnalyzer uses
// DefaultCache), make an Analyzer from it per acquisition, Add each trace,
// read Mean or Result in Vpk^2 and Convert to a display unit. Plans and
// Caches are safe for concurrent use; an Analyzer is not.
//
// # Transform
//
// A trace is x[n], n = 0..N-1, in volts, sampled at fs = 125 MHz / D
// (D the scope decimation). With the raw window w[n] (see Window), the
// normalised window is
//
//	v[n] = 2 w[n] / Σ w        so that Σ v = 2,
//
// and with M = N * Padding (zero padding; PyRPL uses 16, the default here
// is 1) the one-sided transform is
//
//	F[k] = Σ_{n<N} v[n] x[n] exp(-2πi k n / M),   k = 0 .. ⌊M/2⌋,
//	f[k] = k fs / M   (Hz; the last bin is fs/2 when M is even).
//
// A sine A cos(2π f0 t + φ) with f0 on a bin gives F = A exp(iφ) there, so
// |F|^2 = A^2: the internal unit is Vpk^2 and a 1 V amplitude sine peaks at
// 1 Vpk^2. Off a bin the peak drops by the window's scalloping loss (below
// 0.01 dB for flattop, up to 3.9 dB for boxcar).
//
// # FFT
//
// When M is a power of two (a scope trace, with or without PyRPL's
// padding) both channels go through ONE complex FFT of
// z[n] = v[n] (x1[n] + i x2[n]), separated by conjugate symmetry:
//
//	F1[k] = (Z[k] + conj(Z[M-k])) / 2,   F2[k] = (Z[k] - conj(Z[M-k])) / 2i,
//
// with this package's in-place radix-4 FFT (plan shared by a Plan's
// analyzers). gonum's complex FFT is not used for it: for 16384 points it
// costs more than two of gonum's real FFTs, so the trick would lose (see
// BenchmarkGonumCmplxFFT and BenchmarkGonumRealFFT). Other lengths use two
// gonum real FFTs (fourier.FFT, one plan per Analyzer). The two paths
// agree to rounding (about 1e-16 of the peak); in particular the cross
// spectrum of a channel with itself equals its auto spectrum to rounding,
// not bit for bit.
//
// Per trace the analyzer forms, for channels 1 and 2,
//
//	S11 = |F1|^2,   S22 = |F2|^2,   S12 = conj(F1) F2  (Re and Im kept),
//
// so arg S12 = φ2 - φ1: a channel 2 lagging channel 1 by 90° gives a
// negative imaginary part.
//
// # Averaging
//
// Power averaging: the result is the plain mean over the T traces added,
// P = (1/T) Σ_t S_t, for each of S11, S22, Re S12 and Im S12 (PyRPL's
// single mode). Analyzer.SetLimit(n) gives PyRPL's continuous mode: after
// n traces, P ← (P (n-1) + S) / n.
//
// # Decimation filter correction
//
// With the scope's average bit on (PyRPL always sets it) each sample is a
// boxcar mean of D clock samples, approximated as PyRPL does by
//
//	|H(f)|^2 = sinc(D f / 125 MHz)^2,   sinc(x) = sin(πx)/(πx),
//
// (1 for D = 1, about 0.405, i.e. -3.9 dB, at fs/2 for large D) and every
// component is divided by it: P[k] / |H(f[k])|^2. The exact response of a
// D-sample boxcar, sin(π D f/fc)/(D sin(π f/fc)), differs from the sinc by
// less than 0.015 dB up to fs/2 for D ≥ 16 but by 0.9 dB at fs/2 for D = 2;
// PyRPL's sinc is kept so that levels match PyRPL. Settings.NoAverage (bit
// off, plain sample picking) turns the correction off.
//
// # Bandwidth
//
//	ENBW = Σ w^2 / (Σ w)^2     (= Σ v^2 / 4; dimensionless, per sample)
//	rbw  = ENBW * fs           (Hz)
//
// ENBW is N times smaller than the textbook ENBW in bins, and rbw does not
// depend on Padding: padding interpolates the spectrum but the bandwidth
// of each bin stays the window's.
//
// # Units
//
// With P in Vpk^2, rbw in Hz and eps = 2^-52 (PyRPL's
// sys.float_info.epsilon, which keeps dB values finite):
//
//	Vpk^2          |P|
//	dB(Vpk^2)      10 log10(|P| + eps)
//	Vpk            sqrt(|P|)
//	Vrms^2         |P| / 2
//	dB(Vrms^2)     10 log10(|P|/2 + eps)
//	Vrms           sqrt(|P| / 2)
//	Vrms^2/Hz      |P| / 2 / rbw
//	dB(Vrms^2/Hz)  10 log10(|P|/2/rbw + eps)
//	Vrms/sqrt(Hz)  sqrt(|P| / 2 / rbw)
//
// The absolute value is PyRPL's (its data_to_unit starts with abs). PyRPL
// computes Vrms/sqrt(Hz) as sqrt(|P|)/sqrt(2)/rbw, which is not the square
// root of its own Vrms^2/Hz; this package uses sqrt(Vrms^2/Hz).
//
// The cross spectrum is converted as PyRPL displays it: its magnitude
// |S12| = hypot(Re, Im) (Component CrossAbs) goes through the same formula
// as a power. Converting CrossRe or CrossIm directly converts |Re| or |Im|.
//
// White noise of variance σ^2 (V^2) reads E[|F|^2] = σ^2 Σ v^2 = 4 σ^2 ENBW,
// that is σ^2 / (fs/2) in Vrms^2/Hz: the one-sided density.
//
// # Parseval
//
// With bin weights c[0] = 1/2, c[M/2] = 1/2 (M even), c[k] = 1 otherwise,
// the raw (uncorrected) per-trace spectra satisfy exactly
//
//	Σ_k c[k] |F[k]|^2 = (M/2) Σ_n (v[n] x[n])^2,
//
// so the density integrates to the window-weighted mean square:
//
//	Σ_k c[k] (S11[k]/2/rbw) (fs/M) = Σ v^2 x^2 / Σ v^2      (Vrms^2),
//	Σ_k c[k] (Re S12[k]/2/rbw) (fs/M) = Σ v^2 x1 x2 / Σ v^2.
//
// With the decimation correction on, multiply P by |H|^2 first. For a
// stationary signal the right-hand side's expectation is the signal's mean
// square, which is PyRPL's "integral of the noise spectrum gives the
// variance".
//
// # Errors
//
// Invalid settings, window and unit names return an *rperr.Error with code
// invalid whose message names the allowed values. A NaN or infinite sample
// makes Add return such an error and leaves the average untouched; the
// scope never produces one. Programmer errors (wrong trace or destination
// length, Mean before any Add) panic with a "spectrum: " message.
package spectrum
