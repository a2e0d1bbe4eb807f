package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"banger/internal/errdefs"
)

// TapPrefix starts the name of every tap banger creates. Teardown, DeleteTap
// and EnsureTap act only on interfaces with this prefix.
const TapPrefix = "bg-"

// tapFlags are the flags banger's taps are created with: a layer 2 device,
// no packet information header, and the virtio-net header that both QEMU
// and Firecracker use.
const tapFlags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR

// TapName returns the name of the tap of the VM with the given id: "bg-"
// and the id itself when it is 1 to 11 lower-case letters and digits,
// otherwise "bg-" and 12 hex digits of the id's SHA-256. The result is
// always a valid interface name of at most 15 bytes, the same for the same
// id, and the two forms never collide, as they differ in length.
func TapName(id string) string {
	if len(id) >= 1 && len(id) <= 11 && isLowerAlnum(id) {
		return TapPrefix + id
	}
	sum := sha256.Sum256([]byte(id))
	return TapPrefix + hex.EncodeToString(sum[:6])
}

func isLowerAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkTapName accepts only names banger could have made.
func checkTapName(name string) error {
	if err := checkIfname(name); err != nil {
		return errdefs.InvalidArgument("tap name: %v", err)
	}
	if len(name) <= len(TapPrefix) || name[:len(TapPrefix)] != TapPrefix {
		return errdefs.InvalidArgument("tap name %q does not start with %q; banger only manages its own taps", name, TapPrefix)
	}
	return nil
}

// checkOwner accepts a uid the kernel can record as a tap's owner.
func checkOwner(uid int) error {
	if uid < 0 || int64(uid) >= math.MaxUint32 {
		return errdefs.InvalidArgument("tap owner uid %d is not a valid uid", uid)
	}
	return nil
}

// EnsureTap makes sure the persistent tap name exists with banger's flags,
// is owned by uid owner (so that a VMM running as that user can open it),
// is plugged into the bridge and is up. The bridge must exist. Owner must
// be the calling user, whose bridge it must be: a user's helper never
// makes, changes or removes another user's tap. A tap of that name and
// owner with other flags is replaced; an interface of that name that is
// not a tap, or a tap of another owner, is an error.
func EnsureTap(c Config, name string, owner int) error {
	return ensureTap(myUID(), c, name, owner, false)
}

// EnsureUnpluggedTap is EnsureTap with the tap up but off the bridge, for
// a guest restored from a snapshot: until it has taken its own MAC and
// address it still uses the original VM's, and a frame from it would
// teach the bridge to send the original's traffic to the copy. EnsureTap
// plugs it in afterwards.
func EnsureUnpluggedTap(c Config, name string, owner int) error {
	return ensureTap(myUID(), c, name, owner, true)
}

func ensureTap(caller int, c Config, name string, owner int, unplugged bool) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := checkTapName(name); err != nil {
		return err
	}
	if err := checkOwner(owner); err != nil {
		return err
	}
	if owner != caller {
		return errdefs.InvalidArgument("creating tap %s for uid %d: uid %d may only make taps of its own", name, owner, caller)
	}
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return fmt.Errorf("creating tap %s: %w", name, err)
	}
	if br == nil {
		return errdefs.FailedPrecondition("creating tap %s: bridge %s does not exist; set up the bridge first", name, c.Bridge)
	}
	tap, err := existingTap(caller, name)
	if err != nil {
		return err
	}
	if tap != nil && !tapMatches(tap, owner) {
		if err := netlink.LinkDel(tap); err != nil {
			return fmt.Errorf("replacing tap %s: %w", name, err)
		}
		tap = nil
	}
	created := tap == nil
	if created {
		if err := createTap(name, owner); err != nil {
			return err
		}
	}
	err = enterTap(caller, c, name)
	if err == nil {
		err = placeTap(name, br, !unplugged)
	}
	if err != nil {
		if created {
			_ = deleteLink(name) // undo; the error that matters is err
		}
		return err
	}
	return nil
}

// existingTap returns the caller's tap called name, nil when there is no
// interface of that name, and an error when the interface is not a tap or
// is another user's.
func existingTap(caller int, name string) (*netlink.Tuntap, error) {
	l, err := linkByName(name)
	if err != nil || l == nil {
		return nil, err
	}
	t, ok := l.(*netlink.Tuntap)
	if !ok || t.Mode != netlink.TUNTAP_MODE_TAP {
		return nil, errdefs.FailedPrecondition("interface %s exists and is not a tap (it is a %s); remove it or give the VM another id", name, l.Type())
	}
	if !tapOwnedBy(t, caller) {
		return nil, errdefs.FailedPrecondition("tap %s belongs to %s, not to uid %d; banger leaves it alone", name, tapOwnerName(t), caller)
	}
	return t, nil
}

// tapOwnedBy reports whether the tap's owner is uid. A tap without an
// owner is nobody's.
func tapOwnedBy(t *netlink.Tuntap, uid int) bool {
	return t.Owner != noTapOwner && int64(t.Owner) == int64(uid)
}

// noTapOwner is the owner of a tap that has none.
const noTapOwner = math.MaxUint32

func tapOwnerName(t *netlink.Tuntap) string {
	if t.Owner == noTapOwner {
		return "no user"
	}
	return fmt.Sprintf("uid %d", t.Owner)
}

// tapMatches reports whether an existing tap is what EnsureTap would create.
func tapMatches(t *netlink.Tuntap, owner int) bool {
	want := netlink.TUNTAP_NO_PI | netlink.TUNTAP_VNET_HDR
	return !t.NonPersist && t.Flags&want == want && t.Flags&netlink.TUNTAP_MULTI_QUEUE == 0 && int(t.Owner) == owner
}

// createTap creates a persistent tap through /dev/net/tun. The device
// outlives the file descriptor because of TUNSETPERSIST; the VMM attaches
// to it later by name.
func createTap(name string, owner int) error {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
		return errdefs.FailedPrecondition("creating tap %s: /dev/net/tun is missing; load the tun module (modprobe tun)", name)
	}
	if err != nil {
		return fmt.Errorf("creating tap %s: opening /dev/net/tun: %w", name, err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fmt.Errorf("creating tap %s: %w", name, err)
	}
	ifr.SetUint16(tapFlags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fmt.Errorf("creating tap %s: TUNSETIFF: %w", name, err)
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOWNER, owner); err != nil {
		return fmt.Errorf("creating tap %s: setting owner %d: %w", name, owner, err)
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
		return fmt.Errorf("creating tap %s: making it persistent: %w", name, err)
	}
	return nil
}

// placeTap puts the tap on the bridge, or with plugged false takes it off,
// and brings it up, each only if needed.
func placeTap(name string, br netlink.Link, plugged bool) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("setting up tap %s: %w", name, err)
	}
	switch master := l.Attrs().MasterIndex; {
	case plugged && master != br.Attrs().Index:
		if err := netlink.LinkSetMaster(l, br); err != nil {
			return fmt.Errorf("plugging tap %s into %s: %w", name, br.Attrs().Name, err)
		}
	case !plugged && master != 0:
		if err := netlink.LinkSetNoMaster(l); err != nil {
			return fmt.Errorf("taking tap %s off %s: %w", name, br.Attrs().Name, err)
		}
	}
	if l.Attrs().RawFlags&unix.IFF_UP == 0 {
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("bringing tap %s up: %w", name, err)
		}
	}
	return nil
}

// DeleteTap removes the tap name, which must be this user's, and the
// rules SetPolicy made for it. A missing tap is not an error; an
// interface of that name that is not a tap, or a tap of another user, is
// refused.
func DeleteTap(name string) error { return deleteTap(myUID(), name) }

func deleteTap(caller int, name string) error {
	if err := checkTapName(name); err != nil {
		return err
	}
	tap, err := existingTap(caller, name)
	if err != nil {
		return err
	}
	if tap != nil {
		if err := deleteLink(name); err != nil {
			return err
		}
	}
	return removeVMRules(caller, name)
}

// deleteLink removes the interface name, tolerating that it is already gone.
func deleteLink(name string) error {
	l, err := linkByName(name)
	if err != nil || l == nil {
		return err
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// linkByName returns the link called name, or nil when there is none.
func linkByName(name string) (netlink.Link, error) {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up interface %s: %w", name, err)
	}
	return l, nil
}
