// Package regmap is the register map of the Red Pitaya (STEMlab 125-14)
// running the PyRPL bitstream, checked against PyRPL's Verilog sources
// (red_pitaya_scope.v, red_pitaya_asg*.v, red_pitaya_dsp.v,
// red_pitaya_iq_block.v, red_pitaya_pid_block.v, red_pitaya_trigger_block.v,
// red_pitaya_iir_block.v, red_pitaya_hk.v) and hardware_modules/*.py.
//
// Addresses are absolute byte addresses of 32-bit words. Blocks (1 MiB
// each): hk 0x40000000, scope 0x40100000, asg 0x40200000, dsp 0x40300000
// (16 slots of 0x10000 bytes, slot n = signal number n), ams 0x40400000.
// Module maps an address to its module ("hk", "scope", "asg", "ams", or the
// DSP slot name); the hardware bridge locks per module.
//
// Encodings (units in brackets):
//
//   - signals and thresholds: 14-bit two's complement, 1 V = 2^13
//     (VoltsToReg, RegToVolts), range -1 .. 1-2^-13 V;
//   - frequency registers: round(f * 2^bits / 125 MHz) [Hz], bits = 32 for
//     the IQ modules, 30 for the ASG (FreqToReg, RegToFreq);
//   - phase registers: round(deg/360 * 2^bits) mod 2^bits [degrees];
//   - filter registers: one byte per first-order stage, shift | 0x80 (on) |
//     0x40 (high-pass); alpha = 2^shift / 2^MaxShift with MaxShift =
//     clog2(125 MHz / MinBW); PyRPL encodes a bandwidth bw [Hz] with
//     alpha = 1 - exp(-2 pi |bw| / 125 MHz), shift = round(log2(alpha *
//     2^MaxShift)) and decodes -ln(1-alpha) * 125 MHz / (2 pi)
//     (EncodeFilter, DecodeFilter). StageResponse gives the exact response
//     of the Verilog filter stage.
//   - scope decimation: powers of two 1..65536; sampling time dec * 8 ns;
//     buffer duration 16384 * 8 ns * dec;
//   - PID gains: p = kp / 2^12, i = ki / (2^32 2 pi 8 ns) [Hz] (24-bit
//     two's complement registers); IIR coefficients: 32-bit two's
//     complement, 1.0 = 2^29, four per biquad (b0, b1, a1, a2), the FPGA
//     adding a1 y1 + a2 y2.
//
// Network analyzer: one IQ module accumulates na_averages products of its
// input and its local oscillator after na_sleepcycles; the result is
// (I + jQ) / na_averages * 2^-24 * 4 / amplitude / tf(f), with tf PyRPL's
// input filter model and a delay of NADelayCycles (+1 for a high-pass, +2 for
// a low-pass input filter) cycles (NAValue, NATransferFunction).
package regmap
