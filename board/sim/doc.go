// Package sim is the simulated Red Pitaya: the default rpbus backend. It
// implements board.FPGA and board.Waiter at register level with the PyRPL
// bitstream's map (package regmap), in real time: board time is the time
// since New in 125 MHz cycles (8 ns), and every result appears only when
// the hardware would have it.
//
// # Signal model
//
// out1/out2 = sum of the modules routed to them by output_direct (asg0,
// asg1, iq0..2, pid0..2, trig, iir), saturated to 14 bits (+-1 V). The
// device under test (Config): out1 -> in1 through H1(f) = g (j f f0/Q) /
// (f0^2 - f^2 + j f f0/Q), out2 -> in2 through H2(f) = g / (1 + j f/fc),
// each after a delay of AnalogLatencyCycles (0) cycles plus
// Config.CableDelay. in1/in2 add white Gaussian noise of
// Config.NoiseDensity over 62.5 MHz (std NoiseDensity*sqrt(62.5 MHz),
// truncated at 6 sigma) and are quantised to 14 bits (round to nearest).
// hk digital_loop makes in = out exactly.
//
// A signal is the sum of three parts. Its steady state is a harmonic
// model: every periodic source is a harmonic series (a generator table is
// decomposed once per change with gonum's FFT, at most 512 largest
// harmonics kept; an IQ module's amplitude is one tone), each harmonic
// multiplied by the response at its frequency of the DUT and of every
// module on its way (pid.go, iir.go; an IQ module mixes: iq.go). Its DC
// in a module with memory or an output stage of its own (pid, trig, iir)
// is the slow engine's, run through time event by event (slow.go): the
// time-domain model of closed loops. Its noise, where it passes modules or
// the DUT, is simulated cycle by cycle or synthesised from its density
// (noisepath.go). A module's output stage (saturation, clamp) acts on the
// sum. Approximations: burst starts and ends, frequency steps and
// clipping produce no transients in the steady-state part; the ASG's
// zero-order hold and the DAC's sinc are ignored; a module downstream of a
// clamp sees the unclamped tones. A loop of modules (through the DUT or
// not) is closed harmonic by harmonic: each tone of a signal in the loop
// is its open-loop value over 1 - L(f), L the loop gain that a unit probe
// measures around it (dsp.go, closeLoop); the loop's DC closes in the slow
// engine. A loop that is unstable on a board gets a steady state it never
// reaches; a tone that returns at another frequency (through an IQ
// module's mixer) and noise through a loop see the loop opened.
//
// Noise is a pure function of (Seed, input, cycle). Input noise is read
// from two fixed tapes of 2^19 N(0, 1/2) draws each (built once from a
// 2^16-cell inverse-CDF table whose CDF is within 1e-6 of the normal one):
// cycle n of a stream takes entry k = n mod 1024 of a 1024-draw window on
// each tape, at offsets and with signs hashed from (seed, stream, n/1024)
// (splitmix64 finaliser), and sums them, truncated at 6 sigma. Draws are
// independent within a window; two windows share half their variance only
// where one tape's windows overlap (0.4% of pairs, random sign). Reading
// two sequential streams is several times faster than a table lookup per
// draw. Noisy samples are quantised with round-half-even (ties have
// probability zero). The NA's per-point noise draws through the table.
// Samples do not depend on access order. The deterministic part of a
// block is evaluated with per-harmonic recurrences re-anchored on exact
// values every 1024 samples.
// A boxcar-averaged scope sample takes the mean of the deterministic part
// analytically (per harmonic: the Dirichlet kernel) and a noise draw of std
// sqrt((sigma^2 + LSB^2/12)/dec) keyed by (window number, dec), the
// stand-in for the sum of dec conversions; it is floored as the Verilog's
// shift floors the integer sum, half a lattice step (1/(2 dec) LSB) up. At
// a decimation that is not a power of two the Verilog does not shift: the
// sample is the sum's low 14 bits. Without averaging a sample is the last
// cycle of its window. Config.ScopeSampleVariance and ScopeNoiseDensity
// give the resulting noise (TestScopeNoiseFloor checks it).
//
// # Bus
//
// Every Read, ReadHalves and Write costs Config.BusRead or BusWrite per
// 32-bit word, the time the board's CPU takes over the Zynq's AXI GP0 port,
// and WaitFor one read: real time spent in the calling goroutine, asleep
// keeping its P, then spun for the last 20 us. The port carries one word
// at a time: long accesses take turns in order, and a short one (at most
// 20 us) goes at once and pushes the long ones in progress back by its
// time. BusStats counts the words; TraceRateLimit is the board's limit for
// a trace, 1/(acquisition + readout).
//
// # Scope (red_pitaya_scope.v)
//
// Arm (control bit0) starts writing: sample j of the run covers cycles
// [tArm + j*dec, tArm + (j+1)*dec) and is written at its end at address
// (write pointer at arm + j) mod 16384. Control reads bit0 while writing,
// bit2 while the trigger delay runs, bit3 the keep (rolling) flag. A
// trigger is accepted only with enough pretrigger samples (written >
// 16384 - delay, or delay >= 16384); then `delay` more samples are written
// and writing stops (unless keep), the trigger source returns to 0. The
// trigger pointer is the address of the last sample written before the
// trigger. Trigger latencies: software ScopeSWLatencyCycles after the
// source write; edges ScopeEdgeLatencyCycles after the crossing sample is
// written (Schmitt trigger on decimated samples as the Verilog: positive
// edge sets at >= threshold, re-arms below threshold - hysteresis; the
// Schmitt state starts from the first sample after arming); asg0/asg1
// ScopeASGLatencyCycles after the generator starts or wraps a period
// (debounce history before the scope's source write is ignored); dsp: the
// trig module's edge on its input, every cycle. Nothing is connected to
// the ext trigger pin: ext edges never fire. An edge threshold beyond the
// signal's bound plus 6 sigma of noise is proven unreachable and not
// searched until the configuration changes. Samples are materialised
// lazily (only the last 16384 of a run), before every write so that the
// past keeps the old configuration. An edge search more than
// maxSearchLag samples behind compares only the last maxSearchLag, but
// the ring is still made in full: the pre-trigger part of a trace is the
// signal at its cycles, as the FPGA writes it from the arm on.
//
// # Generators (red_pitaya_asg_ch.v)
//
// Pointer (30 bit, 16-bit fraction) starts at the start offset on a
// trigger (software: control write with source 1 and bit0 of the half;
// source 5: always), advances by step per cycle (f = step * 125 MHz /
// 2^30), wraps at counter_wrap+1 (or restarts at the offset without the
// wrap bit); output = table[ptr>>16] * amplitude >> 13 + offset, saturated;
// zero flag (PyRPL on=false) gives 0. Bursts: cycles_per_burst table
// periods, then delay*125+1 cycles, 1+bursts times (a zero delay with
// repetitions never ends, as in the Verilog); afterwards the output holds
// the last pointer's value. Changing step or size while playing keeps the
// phase continuous (continuous mode) or restarts the burst.
//
// # IQ modules and the network analyzer (red_pitaya_iq_block.v)
//
// The demodulator pairs the (input-filtered) input with the LO phase R of
// the module's accumulator: I, Q = x sin/cos(2 pi (R + phase/2^32)) *
// 65535/2^6, ready two cycles later, through the quadrature low-pass; the
// quadrature output is (I g3) >> 10 one cycle after it (iq2_2: Q's). The
// modulator output (output_direct) is ((I g1) >> 20 + g2 >> 4) sin(2 pi
// R) + ((Q g4) >> 20) cos(2 pi R), three cycles after the low-pass: the
// amplitude tone lags R by IQOutputLatencyCycles = 3, so an IQ module
// measuring its own output sees PyRPL's 3 cycles. The mixing is exact on
// the harmonic model (model.mix combines the accumulators), so a tone of
// the module's own LO demodulates to an exact DC; the 2f flags double the
// LO. The PFD (register 0x150, output_signal pfd) counts the filtered
// input's sign-bit rises minus the LO sine's, each cycle, in 14 bits that
// rest against their rails: simulated cycle by cycle over the input's exact
// samples when it is looked at, at most 2^16 cycles a look, the edges of a
// longer stretch counted on the accumulators (pfd.go). Writing the frequency register keeps the LO
// phase continuous and starts a point: busy (bit31 of the four sum words)
// until na_sleepcycles + na_averages + 1 cycles later; the sums over the
// accumulation cycles of input * 65535 sin/cos(LO + phase) / 2^6 (input in
// units of 2^-13 V) are computed in closed form (geometric series per
// harmonic), each product term weighted by the quadrature low-pass's
// steady-state response (its transient after a frequency step is
// neglected), with the input filter's exact discrete response
// (regmap.FilterSpec.StageResponse), plus Gaussian noise of the
// accumulated variance (the input's noise density at the LO, through the
// modules on its way: noisePSD). With PyRPL's readout (regmap.NAValue:
// sum/averages * 2^-24 * 4 / amplitude / NATransferFunction with
// NADelayCycles = 3 and extraDelay = CableDelay) the result is H(f) *
// NAGain (65535/65536), the only difference being PyRPL's analog model of
// the input high-pass versus the exact discrete filter (negligible above
// a few times its corner).
//
// # PID, IIR, trig
//
// pid.go: e = F(x) - setpoint (or the partner's filtered input in
// differential mode), P = floor(e kp / 2^12), I += e ki per cycle (48
// bit, int_shr = I >> 32 is what ival reads), out = clamp(sat14(P + I >>
// 32), min, max); x -> out is kp/2^12 z^-4 + ki/2^32 z^-5/(1 - z^-1)
// after the 4-stage filter; pause_gains freeze I and zero P while the
// sync bit is clear; d does nothing (DERIVATIVE = 0 in the bitstream).
// iir.go: up to 14 parallel biquads, each updated every `loops` cycles in
// turn, their sum held. trig.go: a Schmitt pair with hysteresis on the
// filtered input, armed two cycles after the write, firing three cycles
// after a crossing, taking asg0's table index as its phase.
//
// # Waiting
//
// WaitFor predicts when the scope's control word or an NA point's sum
// words will change and sleeps with nanosleep until shortly before (the
// runtime's timers wake about 1 ms late for short sleeps; nanosleep with
// the thread's timer slack set to 1 us wakes within 10 to 20 us here).
// Scope waits sleep in slices of 250 us so that each wake makes the
// samples written meanwhile, and little is left at the end. Those slices
// keep the goroutine's P (a raw nanosleep, when GOMAXPROCS > 1), so a wake
// runs at once instead of queueing for a P behind a spectrum's DSP. The last
// stretch, 30 us plus 5/4 of the learned oversleep (at most 250 us), is
// spun without yielding, re-reading the register every 10 us:
// runtime.Gosched would hand the goroutine to the other CPU, and an idle
// vCPU can take milliseconds to wake. Otherwise, or when a prediction is
// stale, it polls every 250 us. On a loaded machine the OS can still
// deschedule the spinning thread: BenchmarkWaitFor reports the p50/p99
// lateness and the CPU time per wait.
//
// The FPGA writes samples for free; the sim makes them when they are
// needed. Once a trace's samples cannot decide its trigger (its trigger
// was taken, or does not look at the samples) and both channels' signals
// are pure functions of time, the samples still to come are owed: the
// acquisition reads as done at its own instant, and they are made when
// the buffers are read (inside the read's bus time, 6.6 ms for a trace,
// which the read waits out anyway) or before the next write changes what
// they depend on. Made at the wait's probes instead, 2 x 16384 samples at
// decimation 1 kept the acquisition running 100 to 400 us past its 131
// us.
//
// At decimation 1 and 2 making both channels' samples takes longer than
// the acquisition. When such an acquisition starts apart from a stream
// (more than 500 us after the previous one ended), a helper goroutine is
// woken and spins until the acquisition's last samples are made (at most
// 300 us past its predicted end), making channel 2 while the board's
// goroutine makes channel 1, unless the samples are owed. It spins because a
// goroutine woken when the work appears waits for a CPU to wake; it yields
// every 20 us and stops when a yield shows the CPUs busy.
package sim
