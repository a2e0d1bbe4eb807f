package workspace

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"
	"time"
)

// Statuses of ExportCommand's script: the copy has no BaseRef (it was
// made by an older banger, or the ref was removed); the guest has no git.
const (
	ExportStatusNoBase = 3
	ExportStatusNoGit  = 4
)

// exportScript runs in a guest's copy and writes, for its argument, the
// base commit ("base"), the commits made since as a mailbox
// ("commits"), or the uncommitted changes as one diff, untracked files
// included ("diff"). It changes nothing of the repository: the diff
// takes untracked files in through a temporary index (GIT_INDEX_FILE),
// and the guest's own configuration cannot change the patches' format.
const exportScript = `set -e
export GIT_OPTIONAL_LOCKS=0 LC_ALL=C
command -v git >/dev/null || { echo "git is not installed in this guest" >&2; exit 4; }
g() {
	git -c diff.noprefix=false -c diff.mnemonicPrefix=false -c diff.relative=false \
		-c color.ui=false -c format.coverLetter=false "$@"
}
base=$(git rev-parse --quiet --verify '` + BaseRef + `^{commit}') || {
	echo "this copy has no ` + BaseRef + `, which marks the commit it was made at" >&2
	exit ` + "3" + `
}
head=$(git rev-parse --quiet --verify 'HEAD^{commit}') || head=
case $1 in
base)
	echo "$base" ;;
commits)
	[ -z "$head" ] || g format-patch --stdout --binary --full-index --no-signature --no-attach \
		--no-ext-diff --no-textconv "$base..$head" -- ;;
diff)
	idx=$(mktemp)
	trap 'rm -f "$idx" "$idx.lock"' EXIT
	real=$(git rev-parse --git-path index)
	if [ -f "$real" ]; then cat -- "$real" >"$idx"; else rm -f "$idx"; fi
	GIT_INDEX_FILE=$idx
	export GIT_INDEX_FILE
	git ls-files -z --others --exclude-standard | xargs -0r git add --intent-to-add --
	[ -n "$head" ] || head=$(git hash-object -t tree /dev/null)
	g diff --binary --full-index --no-color --no-ext-diff --no-textconv --ignore-submodules=dirty "$head" -- ;;
esac
`

// ExportCommand is the argv that writes one part of an export (base,
// commits or diff; see exportScript), run in the copy's top directory.
func ExportCommand(part string) []string {
	return []string{"sh", "-c", exportScript, "sh", part}
}

// Patch joins an export's parts into one mailbox: the commits as `git
// format-patch` wrote them, then, when there are uncommitted changes, one
// more message that carries them, from author ("Name <email>"). `git am`
// applies it as commits; `git apply` applies every patch in it to the
// working tree, uncommitted.
func Patch(commits, diff []byte, vm, author string, now time.Time) []byte {
	if len(diff) == 0 {
		return commits
	}
	var b bytes.Buffer
	b.Write(commits)
	b.WriteString("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n")
	fmt.Fprintf(&b, "From: %s\n", encodeAuthor(author))
	fmt.Fprintf(&b, "Date: %s\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Subject: [PATCH] Uncommitted changes in VM %s\n\n", mime.QEncoding.Encode("utf-8", vm))
	fmt.Fprintf(&b, "What was not committed in the workspace of VM %s when it was exported.\n---\n", vm)
	b.Write(diff)
	return b.Bytes()
}

// DefaultAuthor signs the message of uncommitted changes when git knows
// no author on the host.
const DefaultAuthor = "banger <banger@localhost>"

// encodeAuthor writes "Name <email>" as a mail header wants it.
func encodeAuthor(author string) string {
	name, email, ok := strings.Cut(author, " <")
	if !ok || !strings.HasSuffix(email, ">") || strings.ContainsAny(author, "\r\n") {
		return DefaultAuthor
	}
	return mime.QEncoding.Encode("utf-8", name) + " <" + email
}

// HostAuthor is who git on the host says the author is, in dir, as
// "Name <email>"; DefaultAuthor when it cannot tell.
func HostAuthor(ctx context.Context, dir string) string {
	ident, err := (git{dir: dir}).line(ctx, "var", "GIT_AUTHOR_IDENT")
	if i := strings.LastIndexByte(ident, '>'); err == nil && i > 0 {
		return ident[:i+1]
	}
	return DefaultAuthor
}
