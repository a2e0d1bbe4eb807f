package doctor

// tool is a host program banger needs, with the Debian package that has it.
type tool struct {
	name     string
	pkg      string
	neededTo string
}

var tools = []tool{
	{name: "debootstrap", pkg: "debootstrap", neededTo: "build images"},
	{name: "mkfs.ext4", pkg: "e2fsprogs", neededTo: "make image filesystems"},
	{name: "ip", pkg: "iproute2", neededTo: "set up bridges and taps"},
	{name: "nft", pkg: "nftables", neededTo: "give VMs network access"},
	{name: "ssh", pkg: "openssh-client", neededTo: "connect to VMs"},
}

func checkTool(h Host, t tool) Result {
	path, err := h.LookPath(t.name)
	if err != nil {
		return fail(t.name, notFound(t.name)+" (needed to "+t.neededTo+")", "sudo apt-get install "+t.pkg)
	}
	return pass(t.name, path)
}

// archiveKeyring is what debootstrap checks Debian's packages against.
const archiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

func checkKeyring(h Host) Result {
	if _, err := h.Stat(archiveKeyring); err != nil {
		return fail("keyring", archiveKeyring+" is missing (needed to verify Debian's packages when building images)", "sudo apt-get install debian-archive-keyring")
	}
	return pass("keyring", archiveKeyring)
}
