// Package sshdtest gives tests a real OpenSSH server on 127.0.0.1 with a
// random port, its own host key and one authorized client key, configured
// in a temporary folder and stopped when the test ends.
//
// The server logs in the user running the test (root in CI). A missing
// sshd fails the test unless RPBUS_TEST_NO_SSHD=1 says to skip; Debian's
// openssh-server is installed by scripts/setup.
package sshdtest
