package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"banger/internal/network/netpolicy"
)

// Each check returns an error whose message says what is wrong with a value
// and how to fix it. The decoder adds the file, line and key.

func checkImageName(s string) error {
	if s == "" {
		return fmt.Errorf("the image name is empty; remove the key to use the default, %s", DefaultImageName)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return fmt.Errorf("image name %q contains %q; image names have no spaces or control characters", s, s[i:i+1])
	}
	return nil
}

// checkOptionalPath accepts "" (meaning unset) or any path without a NUL.
func checkOptionalPath(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("the path contains a NUL byte; remove it")
	}
	return nil
}

func checkOptionalAbsPath(s string) error {
	if err := checkOptionalPath(s); err != nil {
		return err
	}
	if s != "" && !filepath.IsAbs(s) {
		return errors.New("the path is relative; give an absolute path")
	}
	return nil
}

func checkOptionalURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL; write it like \"https://mirror.example/debian\"", s)
	}
	return nil
}

func checkVMM(s string) error {
	switch VMM(s) {
	case VMMAuto, VMMFirecracker, VMMQEMU:
		return nil
	}
	hint := "use auto, firecracker or qemu"
	if c := closest(s, []string{string(VMMAuto), string(VMMFirecracker), string(VMMQEMU)}); c != "" {
		hint = fmt.Sprintf("did you mean %q? The choices are auto, firecracker and qemu", c)
	}
	return fmt.Errorf("%q is not a supported VMM; %s", s, hint)
}

// checkListenAddr accepts "" (web UI off) or host:port with a port from 1 to
// 65535; the host may be empty (all interfaces), an IP or a host name.
func checkListenAddr(s string) error {
	if s == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port; write it like \"127.0.0.1:7777\"", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q in %q is not a number from 1 to 65535; write it like \"127.0.0.1:7777\"", port, s)
	}
	if _, err := netip.ParseAddr(host); err == nil || host == "" || validHostName(host) {
		return nil
	}
	return fmt.Errorf("host %q in %q is neither an IP address nor a host name; write it like \"127.0.0.1:7777\"", host, s)
}

func validHostName(h string) bool {
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkBridgeName applies the kernel's rules for interface names, narrowed
// to characters that are safe everywhere.
func checkBridgeName(s string) error {
	const rule = "use 1 to 15 letters, digits, '_', '.' or '-', like \"banger0\""
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return fmt.Errorf("%q is not a valid interface name; %s", s, rule)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%q is not a valid interface name; %s", s, rule)
		}
	}
	return nil
}

// checkNetworkPolicy accepts what `vm create --network` does.
func checkNetworkPolicy(s string) error {
	_, err := netpolicy.Parse(s)
	return err
}

// SubnetRanges are the ranges bridge_subnet must lie in: RFC 1918 and
// the shared address space of RFC 6598, the same ranges bangerd's network
// helper accepts (a test holds the two lists equal).
var SubnetRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// checkSubnet accepts an IPv4 network in CIDR form, /16 to /29, written
// with its network address, inside one of SubnetRanges.
func checkSubnet(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("%q is not an IPv4 subnet; write it in CIDR form, like %q", s, DefaultBridgeSubnet)
	}
	if p.Bits() < 16 || p.Bits() > 29 {
		return fmt.Errorf("prefix /%d in %q is out of range; use /16 to /29, like %q", p.Bits(), s, DefaultBridgeSubnet)
	}
	if m := p.Masked(); m != p {
		return fmt.Errorf("%q has host bits set; use the network address, %q", s, m.String())
	}
	for _, r := range SubnetRanges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return nil
		}
	}
	return fmt.Errorf("%q is not a private range; use a subnet within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10, like %q", s, DefaultBridgeSubnet)
}

func checkConsoleLogMax(s string) error {
	size, err := ParseSize(s)
	if err != nil {
		return err
	}
	if size < MinConsoleLogMax {
		return fmt.Errorf("console log size %s is too small; use at least %s", size, MinConsoleLogMax)
	}
	return nil
}

func checkDiskSize(s string) error {
	size, err := ParseSize(s)
	if err != nil {
		return err
	}
	if size < MinDiskSize {
		return fmt.Errorf("disk size %s is too small; use at least %s", size, MinDiskSize)
	}
	if size > MaxDiskSize {
		return fmt.Errorf("disk size %s is too large; use at most %s", size, MaxDiskSize)
	}
	return nil
}
