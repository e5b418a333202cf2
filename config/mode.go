package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Listen addresses when LISTEN_ADDR is unset. The simulator's X-Sim-User
// header logs anyone in as anyone, so simulator mode listens on loopback
// unless told otherwise; production listens on every interface as before.
const (
	defaultListenAddr          = ":8080"
	defaultSimulatorListenAddr = "127.0.0.1:8080"
)

// simulatorMode decides between the built-in simulator and WeChat. With no
// WECHAT_APPID wxlogin used to fall into simulator mode silently, also behind
// an https BASE_URL on a public host, where the simulator hands out logins to
// anyone. Now simulator mode on a BASE_URL other than localhost needs
// SIMULATOR=1, and SIMULATOR=0 lets a deployment insist on WeChat.
func simulatorMode(appID, explicit string, base *url.URL) (bool, error) {
	switch explicit {
	case "", "0", "1":
	default:
		return false, fmt.Errorf("SIMULATOR: want 1 (run the built-in WeChat simulator on purpose) or 0, got %q", explicit)
	}
	sim := appID == ""
	switch {
	case explicit == "1" && !sim:
		return false, errors.New("SIMULATOR: 1 runs the built-in WeChat simulator, but WECHAT_APPID is set; unset one of them")
	case explicit == "0" && sim:
		return false, errors.New("WECHAT_APPID: required when SIMULATOR=0 (without it wxlogin would run the built-in WeChat simulator)")
	case sim && explicit != "1" && !localHost(base.Hostname()):
		return false, fmt.Errorf("BASE_URL: %s is not local (localhost, 127.0.0.0/8, ::1) but WECHAT_APPID is unset, which runs the built-in WeChat simulator, where anyone can log in as anyone; set WECHAT_APPID and WECHAT_SECRET for WeChat, or SIMULATOR=1 to run the simulator there on purpose", base.Host)
	}
	return sim, nil
}

// localHost reports whether host names this machine's loopback: only a
// browser on the same machine reaches such a BASE_URL.
func localHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAddr validates a host:port listen address named by variable.
func checkAddr(variable, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("%s: want host:port such as 127.0.0.1:9090 or :9090, got %q", variable, addr)
	}
	return nil
}

// checkPprofAddr keeps profiles off every network: PPROF_ADDR must be a
// loopback address. It may equal METRICS_ADDR, and then pprof is served on
// the metrics listener.
func checkPprofAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || !localHost(host) {
		return fmt.Errorf("PPROF_ADDR: want a loopback address such as 127.0.0.1:6060, got %q", addr)
	}
	return nil
}
