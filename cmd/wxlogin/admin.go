package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	adminpages "wxlogin/admin"
	"wxlogin/config"
	"wxlogin/models"
)

// admin manages admin accounts from the command line.
func admin(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "wxlogin admin: want create, list, disable, enable or unlock")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "admin user name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	ip := fs.String("ip", "", "unlock: also release this client address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	db, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir, models.Options{MaxOpenConns: 2})
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin admin: %v\n", err)
		return 1
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		fmt.Fprintf(stderr, "wxlogin admin: %v\n", err)
		return 1
	}
	switch sub {
	case "create":
		if err := validUsername(*username); err != nil {
			fmt.Fprintf(stderr, "wxlogin admin create: %v\n", err)
			return 2
		}
		if !*fromStdin {
			fmt.Fprintln(stderr, "wxlogin admin create: --password-stdin is required (passwords never go on the command line)")
			return 2
		}
		pw, err := readPassword(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin admin create: %v\n", err)
			return 1
		}
		if err := CheckPassword(pw, *username); err != nil {
			fmt.Fprintf(stderr, "wxlogin admin create: %v\n", err)
			return 1
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(pw), 12)
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin admin create: %v\n", err)
			return 1
		}
		if _, err := db.CreateAdmin(ctx, *username, string(hash)); err != nil {
			if errors.Is(err, models.ErrExists) {
				fmt.Fprintf(stderr, "wxlogin admin create: admin %q already exists\n", *username)
				return 1
			}
			fmt.Fprintf(stderr, "wxlogin admin create: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "admin %q created\n", *username)
		return 0
	case "list":
		admins, err := db.ListAdmins(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin admin list: %v\n", err)
			return 1
		}
		for _, a := range admins {
			state := "active"
			if a.Disabled {
				state = "disabled"
			}
			last := "never"
			if a.LastLoginAt != nil {
				last = a.LastLoginAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(stdout, "%s\t%s\tlast login %s\n", a.Username, state, last)
		}
		return 0
	case "disable", "enable":
		if *username == "" {
			fmt.Fprintf(stderr, "wxlogin admin %s: --username is required\n", sub)
			return 2
		}
		if err := db.SetAdminDisabled(ctx, *username, sub == "disable"); err != nil {
			if errors.Is(err, models.ErrNotFound) {
				fmt.Fprintf(stderr, "wxlogin admin %s: no admin %q\n", sub, *username)
				return 1
			}
			fmt.Fprintf(stderr, "wxlogin admin %s: %v\n", sub, err)
			return 1
		}
		fmt.Fprintf(stdout, "admin %q %sd\n", *username, sub)
		return 0
	case "unlock":
		return unlock(ctx, db, *username, *ip, stdout, stderr)
	}
	fmt.Fprintf(stderr, "wxlogin admin: unknown subcommand %q\n", sub)
	return 2
}

// unlock releases the login lockout of an account (and optionally of a client
// address) at once, for the operator who cannot wait for it to run out.
func unlock(ctx context.Context, db *models.DB, username, ip string, stdout, stderr io.Writer) int {
	if username == "" && ip == "" {
		fmt.Fprintln(stderr, "wxlogin admin unlock: --username or --ip is required")
		return 2
	}
	if username != "" {
		// The account-wide key and the account's keys under every address and device.
		found, err := db.ThrottleClear(ctx, adminpages.AccountKey(username))
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin admin unlock: %v\n", err)
			return 1
		}
		n, err := db.ThrottleClearPrefix(ctx, adminpages.AccountPrefix(username))
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin admin unlock: %v\n", err)
			return 1
		}
		if found || n > 0 {
			fmt.Fprintf(stdout, "admin %q: failed logins forgotten, lock released\n", username)
		} else {
			fmt.Fprintf(stdout, "admin %q: was not locked\n", username)
		}
	}
	if ip != "" {
		found, err := db.ThrottleClear(ctx, adminpages.AddressKey(ip))
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin admin unlock: %v\n", err)
			return 1
		}
		if found {
			fmt.Fprintf(stdout, "address %s: failed logins forgotten, lock released\n", ip)
		} else {
			fmt.Fprintf(stdout, "address %s: was not locked\n", ip)
		}
	}
	return 0
}

func validUsername(u string) error {
	if len(u) < 3 || len(u) > 64 {
		return errors.New("--username must be 3 to 64 characters")
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return errors.New("--username may contain letters, digits, '.', '_' and '-' only")
		}
	}
	return nil
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// CheckPassword refuses passwords an attacker would guess first.
func CheckPassword(pw, username string) error {
	if pw == "" {
		return errors.New("empty password")
	}
	if len(pw) < 12 {
		return errors.New("password too short: use at least 12 characters")
	}
	if len(pw) > 72 {
		return errors.New("password too long: bcrypt uses at most 72 bytes")
	}
	lower := strings.ToLower(pw)
	if strings.Contains(lower, strings.ToLower(username)) {
		return errors.New("password must not contain the user name")
	}
	for _, weak := range []string{"password", "123456", "qwerty", "admin", "wxlogin", "111111", "abc123", "letmein"} {
		if strings.Contains(lower, weak) {
			return fmt.Errorf("password too easy to guess (contains %q)", weak)
		}
	}
	kinds := 0
	var hasLower, hasUpper, hasDigit, hasOther bool
	distinct := map[rune]bool{}
	for _, r := range pw {
		distinct[r] = true
		switch {
		case unicode.IsLower(r):
			hasLower = true
		case unicode.IsUpper(r):
			hasUpper = true
		case unicode.IsDigit(r):
			hasDigit = true
		default:
			hasOther = true
		}
	}
	for _, b := range []bool{hasLower, hasUpper, hasDigit, hasOther} {
		if b {
			kinds++
		}
	}
	if kinds < 2 || len(distinct) < 6 {
		return errors.New("password too simple: mix letters, digits or symbols, with at least 6 different characters")
	}
	return nil
}
