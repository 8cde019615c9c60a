package config

import (
	"fmt"
	"testing"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		desc, addr string
		kws        []string
		want       string // fmt of a few fields, or the error
	}{
		{"defaults", "127.0.0.1:5432", nil, "127.0.0.1 5432 w1 r2 f3 2s/2s/2s false"},
		{"keywords", "10.0.0.1:3306", []string{"check", "weight", "20", "inter", "500ms", "backup"}, "10.0.0.1 3306 w20 r2 f3 500ms/500ms/500ms true"},
		{"no port", "db.example", nil, "db.example 0 w1 r2 f3 2s/2s/2s false"},
		{"bad keyword", "127.0.0.1:1", []string{"cookie", "x"}, "unknown keyword 'cookie'."},
		{"typo", "127.0.0.1:1", []string{"chek"}, "unknown keyword 'chek'; did you mean 'check' maybe ?"},
		{"bad port", "db:5x", nil, "invalid character 'x' in port number '5x' in 'db:5x'\n"},
		{"bad address", "127.0.0.1:99999", nil, `invalid address "127.0.0.1:99999": invalid port "99999".`},
		{"bad weight", "127.0.0.1:1", []string{"weight", "300"}, "weight of server n1 is not within 0 and 256 (300).."},
		{"missing value", "127.0.0.1:1", []string{"maxconn"}, "maxconn: missing value."},
		{"bad value", "127.0.0.1:1", []string{"rise", "x"}, `rise: invalid number "x".`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, err := ParseServer("n1", tt.addr, tt.kws)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = fmt.Sprintf("%s %d w%d r%d f%d %v/%v/%v %v", s.Host, s.Port, s.Weight, s.Rise, s.Fall, s.Inter, s.FastInter, s.DownInter, s.Backup)
			}
			if got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}
