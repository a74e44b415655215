package design

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// OS names the operating system under root ("/" on the board; tests
// pass a directory): Red Pitaya's release from /opt/redpitaya/version.txt
// (lines "Version: 2.00-37", "Build: 37"), or the image version in
// /root/.version, followed by the distribution's PRETTY_NAME from
// /etc/os-release. "" when none of them exists.
func OS(root string) string {
	rp := ""
	if kv := keyValues(filepath.Join(root, "opt/redpitaya/version.txt"), ":"); kv["Version"] != "" {
		rp = "Red Pitaya OS " + kv["Version"]
		if b := kv["Build"]; b != "" && !strings.HasSuffix(kv["Version"], b) {
			rp += " build " + b
		}
	} else if v, err := os.ReadFile(filepath.Join(root, "root/.version")); err == nil && strings.TrimSpace(string(v)) != "" {
		rp = "Red Pitaya OS image " + strings.TrimSpace(string(v))
	}
	distro := strings.Trim(keyValues(filepath.Join(root, "etc/os-release"), "=")["PRETTY_NAME"], `"'`)
	switch {
	case rp != "" && distro != "":
		return rp + " (" + distro + ")"
	case rp != "":
		return rp
	}
	return distro
}

// keyValues reads "key<sep>value" lines.
func keyValues(path, sep string) map[string]string {
	kv := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return kv
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), sep); ok {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return kv
}
