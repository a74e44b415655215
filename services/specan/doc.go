// Package specan is the spectrum analyzer service: averaged power spectra
// of two scope channels, normalised as PyRPL's baseband spectrum analyzer.
//
// It never touches registers. One Service serves every board on the
// wildcard subjects rp.*.specan.single, .cancel and .stop and gets its
// traces the way any client would, by requesting rp.<board>.scope.single
// through the Go client (client.Scope.Single: trigger immediately, boxcar
// averaging on, decimation as asked, msgpack). It keeps Config.InFlight
// (default 4) scope requests in flight per spectrum, so that moving and
// transforming one trace overlaps acquiring the next; the scope queues
// them per board in FIFO order. Each trace is fed, in arrival order, to a
// dsp/spectrum Analyzer (no allocation per trace). Cancelling a spectrum
// (specan.cancel, specan.stop, its timeout, the service stopping) ends the
// contexts of its scope requests, youngest first and each after the one
// before has answered, and the client sends scope.cancel for each: the
// scope drops the queued traces before the running one ends, so it never
// starts one that is about to be cancelled. The requester gets 499 (408
// for the timeout) once they have all ended.
//
// # Settings (api.SpecanSettings)
//
//	span           Hz, 0 < span <= 125e6; the sample rate fs = 125 MHz / D is
//	               the smallest 125e6/2^k at least span (smaller spans: D = 65536)
//	decimation     D, a power of two 1..65536 (default 8); at most one of the two
//	input1/input2  in1, in2 (defaults), out1, out2, asg0, asg1, iq0..iq2, iq2_2, pid0..pid2
//	window         blackman, flattop (default), boxcar, hamming, gaussian
//	trace_average  T, 1..1e6 traces power-averaged (default 1)
//	unit           Vpk^2 (default), dB(Vpk^2), Vpk, Vrms^2, dB(Vrms^2), Vrms,
//	               Vrms^2/Hz, dB(Vrms^2/Hz), Vrms/sqrt(Hz)
//	cross          also return the cross spectrum
//	timeout        s, 0 < timeout <= 86400; default 5 s + 2 T 16384 D / 125 MHz
//
// Each bad value is a 400 naming the field and the allowed values.
//
// # Reply (api.Spectrum) and normalisation
//
// The FFT length is the trace length N = 16384 without zero padding
// (PyRPL pads 16-fold; padding only interpolates), so there are N/2+1 =
// 8193 bins at f[k] = k fs / N, 0 .. fs/2 (Hz). With the window w
// normalised to v = 2 w / Σw, F[k] = Σ v[n] x[n] exp(-2πi kn/N), so a
// sine of amplitude A on a bin reads A^2 Vpk^2. Per trace
//
//	S11 = |F1|^2,  S22 = |F2|^2,  S12 = conj(F1) F2,
//
// averaged over the T traces (P = mean S) and divided by the decimation
// filter's |H(f)|^2 = sinc(D f / 125 MHz)^2, as PyRPL does. Then
//
//	ENBW = Σ w^2 / (Σ w)^2      (a fraction of fs)
//	rbw  = ENBW fs              (Hz)
//
// and ch1, ch2 are P11, P22 in the unit: |P|, 10 log10(|P| + 2^-52),
// sqrt|P|, |P|/2, ..., |P|/2/rbw (Vrms^2/Hz), sqrt(|P|/2/rbw)
// (Vrms/sqrt(Hz)); see package dsp/spectrum. cross_re and cross_im are
// Re P12 and Im P12, signed, in the power form of the unit (cross_unit):
// Vpk^2 for Vpk^2, dB(Vpk^2) and Vpk; Vrms^2 (P/2) for the Vrms units;
// Vrms^2/Hz (P/2/rbw) for the density units; so arg = phase(ch2) -
// phase(ch1) and |cross| is comparable with ch1 and ch2 in that power
// unit. Timing: requested when the request arrived, started and ended the
// first trace's start and the last one's end (Unix seconds).
//
// # Events
//
// rp.<board>.specan.progress carries api.Progress {id, done, total}
// (traces) every 100 ms while a spectrum runs and when its last trace is
// in; rp.<board>.specan.done carries the reply of each spectrum that
// completed. Both are msgpack with a Content-Type header.
package specan
