// Package asg is the host-side driver of the two arbitrary signal
// generators (asg0, asg1) of the PyRPL bitstream: it turns PyRPL's user
// settings into register values and 16384-point waveform tables, as
// pyrpl/hardware_modules/asg.py does, and writes them through an board.FPGA.
//
// # Concurrency
//
// A Generator is not safe for concurrent use. Its caller (the hardware
// bridge) must hold the locks of every module in Modules() around Setup:
// "asg" (the shared block, whose control word at 0x0 holds both channels'
// bits) and "asg0" or "asg1" (the DSP slot that holds output_direct).
//
// # Registers and scalings
//
// Channel A (asg0) registers sit at the offsets below; channel B (asg1) at
// the same offsets + 0x20, with its control bits in the high half of the
// shared word (bit n+16). All values are those PyRPL writes.
//
//	0x00  control: bits 2:0 trigger source (off 0, immediately 1,
//	      ext_positive_edge 2, ext_negative_edge 3, ext_raw 4, high 5),
//	      bit 4 wrap (1), bit 5 once (0), bit 6 state-machine reset,
//	      bit 7 output zero, bit 8 gated repetitions (0), bits 11:9 the
//	      advanced trigger (kept as read), bit 12 random table pointer
//	      (1 only for noise).
//	0x04  bits 13:0 amplitude A, bits 29:16 offset O (14-bit two's complement)
//	0x08  counter wrap: 2^30 - 1 (the table pointer is 14.16 fixed point)
//	0x0C  start offset: start_phase / 360 * 2^30
//	0x10  phase step per cycle: frequency * 2^30 / 125 MHz
//	0x18  cycles_per_burst (32 bit, 0 = continuous)
//	0x1C  bursts (the FPGA keeps 16 bits)
//	0x20  delay_between_bursts in microseconds (32 bit)
//	0x10000 / 0x20000  the table, 16384 words, 14-bit two's complement
//
// output_direct is the DSP slot register 0x40380004 (asg0) or 0x40390004
// (asg1): off 0, out1 1, out2 2, both 3.
//
// The FPGA plays table[pointer >> 16], advancing the 30-bit pointer by the
// step every 8 ns, and outputs (table * A) >> 13 + O, saturated to 14 bits;
// 2^13 LSB is 1 V. So:
//
//	frequency  = step * 125 MHz / 2^30, step = round(f * 2^30 / 125 MHz),
//	             0 .. 62.5 MHz (2^29), resolution about 0.1164 Hz
//	amplitude  = A / 2^13 V, A = round(amplitude * 2^13), 0 .. 1 V
//	offset     = O / 2^13 V, O = floor(round(offset * 2^29) / 2^16),
//	             -1 .. 1 V (PyRPL writes the offset as a 30-bit value
//	             masked to bits 29:16, which floors it to the 14-bit
//	             step; +1 V saturates to 8191)
//	start_phase = ofs * 360 / 2^30 degrees, ofs = round(deg / 360 * 2^30)
//	             mod 2^30, reported in 0 .. 360
//	delay_between_bursts = rdly * 1 us, rdly = round(s * 1e6)
//
// Rounding is half to even, as Python's round and numpy's round are.
//
// # Triggers and bursts
//
// Setup holds the channel in reset with its output zeroed, writes the
// registers and the table, then releases it. Every write of the control
// word with bit 0 of a half set is a software trigger for that channel, so
// with trigger_source immediately the channel starts on the release. A
// trigger starts a burst of cycles_per_burst table periods (0: play
// forever). By our reading of red_pitaya_asg_ch.v the FPGA then plays
// `bursts` more bursts (PyRPL's "number of bursts"; its 16-bit repetition
// counter), each after delay_between_bursts; with a delay of 0 and bursts
// > 0 the first burst does not end unless cycles_per_burst is 1.
//
// Hardware quirk, shared with PyRPL: because the software trigger is bit 0
// of the trigger source, a Setup of one channel re-triggers the other
// channel when the other's trigger_source is immediately. A running
// continuous output is not disturbed; a finite burst in progress is
// lengthened and a finished one plays again.
//
// # Tables
//
// With x_i = 2 pi i / 16384 and i = 0 .. 16383, the shapes (peak 1) are
//
//	sin       sin(x_i)
//	cos       cos(x_i)
//	ramp      triangle: -1 + 4 i / 16384 for the first half, then the
//	          first half negated (rises -1 to 1, falls 1 to -1)
//	halframp  sawtooth: -1 + 2 i / 16384
//	square    1 for the first half, -1 for the second
//	dc        0 (the output is the offset alone)
//	noise     normal samples with standard deviation amplitude (V rms)
//
// and each point is stored as round(8191 * y) saturated to -8192 .. 8191,
// in 14-bit two's complement. For noise PyRPL's amplitude is an rms value:
// the table holds the scaled samples, the amplitude register is set to 1 V
// (2^13) and the random-pointer bit makes the FPGA read the table at
// pseudo-random positions; frequency and start_phase have no audible
// effect then. The noise samples come from a PCG generator seeded with
// NoiseSeed and the channel, so a given rms gives the same table every
// time.
//
// # Defaults
//
// New forces PyRPL's attribute defaults into the hardware, except for the
// trigger: waveform sin, frequency 0 Hz, amplitude 0 V, offset 0 V,
// start_phase 0, output_direct off, trigger_source immediately (PyRPL:
// off, which leaves a generator silent until its trigger is set even
// after a setup of its waveform and output), cycles_per_burst 0
// (continuous), bursts 0, delay_between_bursts 0 s. The output is silent
// and disconnected until a Setup says otherwise.
package asg
