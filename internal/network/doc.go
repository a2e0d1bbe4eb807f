// Package network sets up the host side of banger's VM networking: one
// bridge (banger0 by default) holding the gateway address of the VM
// subnet, one persistent tap per running VM plugged into it, IPv4
// forwarding, and an nftables table named "banger" that masquerades the
// guests' traffic as it leaves the host. It also holds the pure helpers the
// rest of banger needs to address a guest: guest IP allocation, the guest
// MAC and the kernel's ip= argument.
//
// # Libraries, not ip(8) and nft(8)
//
// Links and addresses are managed with github.com/vishvananda/netlink and
// the firewall with github.com/google/nftables rather than by running ip
// and nft. Speaking netlink directly gives typed answers instead of text to
// parse (is this link a tap, who owns it, which bridge is its master),
// errors as errno values that can be turned into advice, an nftables
// ruleset replaced in one atomic transaction, and no dependency on the
// version or presence of iproute2 and nftables' command line tools on the
// host. Taps are created with the /dev/net/tun ioctls directly, because the
// netlink library always sets a group on a new tap and banger wants only
// its owner to be able to open it.
//
// # What the host sees
//
//   - The bridge carries the alias "banger" and a fixed MAC derived from the
//     gateway address, so the guests' ARP entry for the gateway stays valid
//     as taps come and go. An interface of that name that banger did not
//     create is never adopted or removed.
//   - Taps are named "bg-..." (see TapName), owned by the user that runs
//     the VMM, created with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR.
//   - net.ipv4.ip_forward is set to 1 and left so by Teardown, since other
//     software on the host may rely on it too.
//   - The nftables table "ip banger" has a postrouting chain that
//     masquerades traffic from the subnet leaving through any other
//     interface, and a forward chain that accepts traffic from the bridge
//     out and established or related traffic back in. Both chains have an
//     accept policy, so they never drop the host's other traffic. Each rule
//     carries a comment, which is how EnsureBridge recognises a table that is
//     already as it should be. A host firewall that drops forwarded packets
//     in its own chains still wins: nftables runs every base chain of a hook,
//     and an accept in banger's chain does not override a drop elsewhere.
//
// # Privileges
//
// All of this needs CAP_NET_ADMIN. bangerd calls it through a Client:
// Local runs the functions in-process (bangerd is root), Sudo re-executes
// bangerd as `sudo -n bangerd net '<json op>'`, whose net entry point is
// RunHelper. A sudoers rule such as
//
//	alice ALL=(root) NOPASSWD: /usr/local/bin/bangerd net *
//
// lets a user's daemon do this without a password. Because that rule lets
// the user run any Op as root, every Op is checked: taps must carry
// banger's prefix, and only banger's own bridge and taps are ever changed
// or removed.
package network
