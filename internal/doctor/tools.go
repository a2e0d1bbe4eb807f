package doctor

// tool is a host program banger runs, with the Debian package that has it.
// Bridges, taps and nftables rules are made through netlink from Go, so
// neither ip nor nft is among them.
type tool struct {
	name     string
	pkg      string
	neededTo string
}

var tools = []tool{
	{name: "debootstrap", pkg: "debootstrap", neededTo: "build images"},
	{name: "mkfs.ext4", pkg: "e2fsprogs", neededTo: "make image filesystems"},
	{name: "ssh", pkg: "openssh-client", neededTo: "connect to VMs"},
}

func checkTool(h Host, t tool) Result {
	path, err := h.LookPath(t.name)
	if err != nil {
		return fail(t.name, notFound(t.name)+" (needed to "+t.neededTo+")", "sudo apt-get install "+t.pkg)
	}
	return pass(t.name, path)
}

// archiveKeyring is what debootstrap and kernel pulls check Debian's
// packages against unless the config names another keyring.
const archiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

func checkKeyring(h Host, configured string) Result {
	const why = " is missing (needed to verify Debian's packages when building images and pulling kernels)"
	if configured != "" {
		if _, err := h.Stat(configured); err != nil {
			return fail("keyring", configured+why, "point debian_keyring in banger's config at a keyring with Debian's archive keys, or remove it to use "+archiveKeyring)
		}
		return pass("keyring", configured+" (debian_keyring)")
	}
	if _, err := h.Stat(archiveKeyring); err != nil {
		return fail("keyring", archiveKeyring+why, "sudo apt-get install debian-archive-keyring (or set debian_keyring in banger's config)")
	}
	return pass("keyring", archiveKeyring)
}
