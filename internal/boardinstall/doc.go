// Package boardinstall puts the rpbus hardware bridge on a Red Pitaya over
// SSH and looks after it there: install, status, logs, uninstall. It is
// what `rpbus board ...` runs.
//
// An install is one transaction on the board. The files are staged in
// PREFIX.new (the rpbus binary for the board's architecture, PyRPL's
// bitstream, the environment file with the NATS URL, install.json, and
// the plain supervisor script where there is no systemd), checked there
// (the binary runs on the board and reaches the NATS server), then moved
// to PREFIX; a previous install is stopped and kept in PREFIX.previous
// until the new bridge answers rp.<board>.hw.info on the bus. Every step
// that changed the board has an undo; a failed step runs them in reverse,
// so the board is left as it was: with the previous bridge running again,
// or with nothing of rpbus.
//
// Layout on the board (PREFIX defaults to /opt/rpbus):
//
//	PREFIX/bin/rpbus             the rpbus binary
//	PREFIX/bin/rpbus-hwbridge    plain manager only: start|stop|status|restart, and the supervisor loop
//	PREFIX/fpga/<bitstream>      PyRPL's design, loaded by the bridge at each start
//	PREFIX/etc/hwbridge.env      RPBUS_NATS (and RPBUS_CREDS), mode 0600
//	PREFIX/etc/nats.creds        with --creds, mode 0600
//	PREFIX/install.json          what was installed, read by status and uninstall
//	PREFIX/log, PREFIX/run       plain manager only: the bridge's log and the supervisor's pid
//	/etc/systemd/system/rpbus-hwbridge.service   systemd only
//
// SSH is golang.org/x/crypto/ssh: keys from the agent and the usual
// ~/.ssh files or --identity, then the password (prompted without echo on
// a terminal, or RPBUS_SSH_PASSWORD); host keys are checked against
// known_hosts, and a host met for the first time is accepted only when
// the user says so, as OpenSSH does.
package boardinstall
