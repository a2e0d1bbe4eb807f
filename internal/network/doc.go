// Package network sets up the host side of banger's VM networking: one
// bridge (banger0 by default) holding the gateway address of the VM
// subnet, one persistent tap per running VM plugged into it, IPv4
// forwarding, and two nftables tables that masquerade the guests' traffic
// as it leaves the host and hold each VM to its network Policy. It also
// holds the pure helpers the rest of banger needs to address a guest:
// guest IP allocation, the guest MAC and the kernel's ip= argument.
//
// # Libraries, not ip(8) and nft(8)
//
// Links and addresses are managed with github.com/vishvananda/netlink and
// the firewall with github.com/google/nftables rather than by running ip
// and nft. Speaking netlink directly gives typed answers instead of text to
// parse (is this link a tap, who owns it, which bridge is its master),
// errors as errno values that can be turned into advice, changes to the
// rules made in one atomic transaction, and no dependency on the
// version or presence of iproute2 and nftables' command line tools on the
// host. Taps are created with the /dev/net/tun ioctls directly, because the
// netlink library always sets a group on a new tap and banger wants only
// its owner to be able to open it.
//
// # What the host sees
//
//   - The bridge carries the alias "banger uid=N", N being the user whose
//     it is, and a fixed MAC derived from the gateway address, so the
//     guests' ARP entry for the gateway stays valid as taps come and go.
//     An interface of that name that banger did not make for that user is
//     never adopted or removed. (A bridge with the alias "banger", from
//     before bridges had owners, counts as root's.)
//   - The bridge answers the guests' ARP requests for each other
//     (proxy_arp_pvlan, proxy_delay 0) and sends them no redirects:
//     frames are never bridged from tap to tap, so traffic between guests
//     goes through the host's routing and meets the rules.
//   - Taps are named "bg-..." (see TapName), owned by the user that runs
//     the VMM, created with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR.
//   - net.ipv4.ip_forward is set to 1 and left so by Teardown, since other
//     software on the host may rely on it too.
//   - The tables "inet banger-UID-BRIDGE" and "bridge banger-UID-BRIDGE"
//     (see TableName) masquerade the subnet and hold each VM to its policy;
//     docs/internals.md describes their rules. Their base chains accept by
//     default and drop only the bridge's traffic. Each base rule carries a
//     comment, which is how EnsureBridge recognises tables that are already
//     as they should be. A host firewall that drops forwarded packets in
//     its own chains still wins: nftables runs every base chain of a hook,
//     and an accept in banger's chain does not override a drop elsewhere.
//
// # Privileges
//
// All of this needs CAP_NET_ADMIN. bangerd calls it through a Client,
// which turns each call into an Op and hands it to a Runner: Local applies
// it in-process (bangerd is root), Sudo re-executes bangerd as
// `sudo -n bangerd net '<json op>'`, whose net entry point is RunHelper. A sudoers rule such as
//
//	alice ALL=(root) NOPASSWD: /usr/local/bin/bangerd net *
//
// lets a user's daemon do this without a password. Sudo runs, and banger
// suggests such a rule for, only a bangerd that root owns in directories
// no one else can write to (see helperbin.Check): otherwise whoever could
// replace the file would run anything as root. Because the rule lets the
// user run any Op as root, every Op is parsed strictly and checked, and
// the helper acts only for the user who ran sudo (SUDO_UID; the rule must
// not carry SETENV): bridge subnets must be private ranges the host does
// not route elsewhere, taps must carry banger's prefix, and only that
// user's bridge, taps and tables are ever changed or removed.
package network
