// Package na is the network analyzer service: swept complex transfer
// functions measured with the PyRPL bitstream's IQ modules, at the speed
// of the FPGA's own averaging.
//
// One instance serves every board: rp.*.na.single (one sweep), and
// rp.*.na.cancel / rp.*.na.stop (package acq); the board is the subject's
// second token. It never touches registers itself: it sends hw.txn
// transactions to the board's hardware bridge (package hwbridge) with the
// Go client, cancellable on the bridge (client.HW.Do).
//
// # Measurement
//
// A sweep borrows one IQ module iqk (k = 0..2) and sets it up as PyRPL's
// network_analyzer.py: amplitude 0, input select, output_direct,
// output_signal output_direct, gains g1 = g4 = 0, phase 0, no 2f flags,
// input filter = high-pass at acbandwidth (0: off), quadrature filter =
// two low-pass stages at rbw, na_averages = round(125 MHz / rbw *
// average_per_point), na_sleepcycles = round(125 MHz / rbw * 0.5), the
// first frequency, then the amplitude. Writing the frequency register
// starts a point: the module sleeps na_sleepcycles, then sums na_averages
// products of its input with its local oscillator (I and Q, 62 bits each)
// while the busy bit (bit 31 of the four sum words) is set. A point's
// hardware time is (na_sleepcycles + na_averages) / 125 MHz, about
// (0.5 + average_per_point) / rbw; the first point of each trace sleeps
// longer so that it lasts three points (PyRPL's settling after setup).
//
// Each point becomes, as PyRPL normalises it (regmap.NAValue):
//
//	H(f) = (I + jQ) / na_averages * 2^-24 * 4 / amplitude / tf(f)   [V/V]
//
// tf(f) = regmap.NATransferFunction: the input high-pass modelled as a
// first-order analog filter times exp(-j 2 pi f d), d = (3 + 1 with the
// high-pass) cycles of 8 ns. The amplitude register is g2 = round(a *
// 2^13) * 16, so the DAC (which takes g2 >> 4) sends exactly the
// amplitude the normalisation divides by. Frequencies are those of the
// 32-bit frequency register, f = round(f * 2^32 / 125 MHz) * 125 MHz /
// 2^32. trace_average sweeps are averaged as complex numbers.
// auto_bandwidth follows PyRPL: the rbw starts at the filter step nearest
// min(max(f/q_factor_min, 1.186 Hz), rbw) and doubles whenever a point
// wants a wider one.
//
// Zero span (start_freq == stop_freq): every point at start_freq; the
// reply's time axis is the time since the first point ended: each step is
// the point's hardware time, or the bridge's measured wait for the point
// when that is longer (the bridge noticed the end late, so the next point
// started late).
//
// # Speed: the per-point loop next to the hardware
//
// One transaction carries a chunk of points (about Config.ChunkTime of
// hardware time, 25 ms by default). Two chunks are in flight: the next
// waits at the bridge while the current runs, so no round trip separates
// them. Chunks are sent in order from one goroutine, and the bridge runs
// a module's transactions in arrival order, so the last chunk runs last:
// it turns the output off behind its points. Each chunk is
// self-contained (it writes the bandwidth and averaging registers of its
// first point before its points), as a try at points read early runs
// between chunks. Per sweep there are two more transactions on the way:
// the claim, which also sets the module up, and the reply; the module is
// given back after the reply, unless a try at early points may have run
// after the last chunk, when the sweep turns the output off and gives the
// module back before it answers.
//
// Closed loop (a bridge on the board, and zero span): per point write the
// frequency, wait on the busy bit with the point's time as the hint (the
// simulated board predicts the end to the microsecond), read the four sum
// words. Open loop (hw.info says backend "monitor": the board is a round
// trip away): per point write the frequency and read the sums timed
// (api.Op.After) the point's time plus a margin after it, so the bridge
// sends the next point by its own clock without polling; a read whose
// busy bit is still set came early, and that point is measured again,
// open loop with a wider margin and then closed loop. The margin (pacer)
// is the board's and settles where about 5% of the reads come early.
//
// # Borrowing IQ modules
//
// Per board, a request waits in line (FIFO within the instance) for a
// module no other request holds, or answers 409 with no_wait. Across
// instances a module is claimed by one transaction on it: wait until bit
// 17 of the quadrature_factor register (g3, offset 0x118, unused while
// output_signal is output_direct) is clear, then write bit 17 | the
// instance's 17-bit tag. Release (after success, error, cancel or
// timeout) writes amplitude 0, output_direct off and, if the marker is
// still ours, the register's old value. A marker whose instance no longer
// answers on _RPBUS.na-holder.<tag> (it crashed) is taken over. Other
// users of the IQ modules must leave a module with bit 17 of g3 set
// alone, and a module they use should have it set.
//
// # Events
//
// rp.<board>.na.progress (api.Progress: points done, total, the latest
// point) every Config.ProgressInterval (50 ms) while a sweep runs;
// rp.<board>.na.done (api.NATrace) when it ends, and for a failed sweep
// the error headers of an error reply with what is known of the sweep.
package na
