// Package design loads PyRPL's FPGA design into a Red Pitaya and checks
// that the FPGA really runs it before the hardware bridge touches it.
//
// Loading (Loader): Red Pitaya OS 0.9x and 1.x program the PL by writing
// the bitstream to /dev/xdevcfg; OS 2.x has the kernel's FPGA manager,
// driven by fpgautil -b (on PATH, or /opt/redpitaya/bin/fpgautil).
// Loader.Load uses whichever the board has, refuses a file without a
// Xilinx sync word before anything is written, and waits until the PL
// says it is programmed (sysfs: the FPGA manager's state, or the devcfg
// device's prog_done).
//
// Checking (Check, Probe): an unconfigured PL can hang the bus, and a
// design that is not PyRPL's would take the bridge's writes to mean
// something else, so the bridge first asks sysfs whether the PL is
// programmed at all, then reads registers whose values PyRPL's design
// fixes (red_pitaya_hk.v, red_pitaya_pid_block.v, red_pitaya_iq_block.v):
//
//	hk   +0x000          id = 1 (board type, release 1)
//	pid0 +0x200..+0x20C  PSR 12, ISR 32, DSR 10, GAINBITS 24
//	pid0 +0x220..+0x228  filter stages 4, shift bits 5, min bandwidth 10
//	iq0  +0x200..+0x218  LUTSZ 11, LUTBITS 17, PHASEBITS 32, GAINBITS 18,
//	                     SIGNALBITS 14, LPFBITS 24, SHIFTBITS 8
//	iq0  +0x220..+0x238  input filter 1, 5, 50; quadrature filter 2, 5, 10
//	iq2  +0x230          quadrature filter stages 4
//
// The housekeeping id alone would not do: Red Pitaya's own designs carry
// the same one. The DSP build constants are PyRPL's (its ISR of 32 differs
// from Red Pitaya's 18), read-only, and read 0 in designs without them.
//
// OS names the board's operating system for hw.info.
package design
