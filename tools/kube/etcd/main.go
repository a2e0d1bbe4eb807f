// Command etcd is a single-member etcd for the tests' Kubernetes control
// plane: go.etcd.io/etcd/server/v3's embed package behind three flags, so
// that it builds from the module proxy with the same Go as the rest.
//
//	etcd -data-dir DIR -listen-client 127.0.0.1:2379 -listen-peer 127.0.0.1:2380
//
// It serves plain HTTP on loopback only, and stops on SIGINT or SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "etcd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "directory for the member's data (required)")
	client := fs.String("listen-client", "127.0.0.1:2379", "host:port for clients")
	peer := fs.String("listen-peer", "127.0.0.1:2380", "host:port for peers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("-data-dir is required")
	}
	cfg, err := config(*dataDir, *client, *peer)
	if err != nil {
		return err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintln(os.Stderr, "etcd: ready to serve clients on", *client)
	case <-time.After(time.Minute):
		return errors.New("etcd was not ready within a minute")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		return nil
	case err := <-e.Err():
		return fmt.Errorf("etcd stopped: %w", err)
	}
}

func config(dataDir, client, peer string) (*embed.Config, error) {
	cu, err := url.Parse("http://" + client)
	if err != nil {
		return nil, fmt.Errorf("parsing -listen-client: %w", err)
	}
	pu, err := url.Parse("http://" + peer)
	if err != nil {
		return nil, fmt.Errorf("parsing -listen-peer: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "default"
	cfg.Dir = dataDir
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	return cfg, nil
}
