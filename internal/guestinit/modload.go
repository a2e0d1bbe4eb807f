package guestinit

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"banger/internal/guestabi"
	"banger/internal/kmod"
)

// loadModulesFrom loads the modules listed in the file at conf, in order.
// A module that fails is reported and skipped: a missing network or vsock
// driver should not stop the guest from booting, and a missing disk driver
// shows up as the root device never appearing.
func loadModulesFrom(log *logger, conf string) error {
	f, err := os.Open(conf)
	if errors.Is(err, os.ErrNotExist) {
		log.Infof("no %s: loading no modules", conf)
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	mods, err := guestabi.ParseModuleList(f)
	if err != nil {
		return fmt.Errorf("%s: %w", conf, err)
	}
	var loaded []string
	for _, m := range mods {
		if err := loadModule(m); err != nil {
			log.Errorf("loading module %s: %v", m, err)
			continue
		}
		loaded = append(loaded, moduleBase(m))
	}
	log.Infof("loaded %d of %d modules: %s", len(loaded), len(mods), strings.Join(loaded, " "))
	return nil
}

// loadModule inserts one module; one that is already loaded is fine.
func loadModule(path string) error {
	err := insertModule(path)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func insertModule(path string) error {
	if c, _ := guestabi.ModuleCompression(path); c == "" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return unix.FinitModule(int(f.Fd()), "", 0)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	img, err := kmod.Decompress(path, data)
	if err != nil {
		return err
	}
	return unix.InitModule(img, "")
}

// moduleBase is a module's name as lsmod shows it.
func moduleBase(path string) string {
	name := path[strings.LastIndexByte(path, '/')+1:]
	if i := strings.Index(name, ".ko"); i >= 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "-", "_")
}
