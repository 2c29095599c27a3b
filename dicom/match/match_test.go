package match

import "testing"

func TestLike(t *testing.T) {
	for in, want := range map[string]string{"Smith*": "Smith%", "Sm?th": "Sm_th", "100%_a\\b": `100\%\_a\\b`, "": ""} {
		if got := Like(in); got != want {
			t.Errorf("Like(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDateRange(t *testing.T) {
	for _, c := range []struct {
		in       string
		from, to string // "" = open
		bad      bool
	}{
		{"20240101", "20240101", "20240101", false},
		{"20240101-20240131", "20240101", "20240131", false},
		{"20240101-", "20240101", "", false},
		{"-20240131", "", "20240131", false},
		{"-", "", "", true}, {"2024", "", "", true}, {"20241301", "", "", true}, {"2024-01-01", "", "", true},
	} {
		f, to, err := DateRange(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		s := func(p interface{ Format(string) string }, isNil bool) string {
			if isNil {
				return ""
			}
			return p.Format("20060102")
		}
		if !c.bad && (s(f, f == nil) != c.from || s(to, to == nil) != c.to) {
			t.Errorf("%q: %v %v", c.in, f, to)
		}
	}
}

func TestUIDList(t *testing.T) {
	if l := UIDList(`1.2.3\4.5,6.7`); len(l) != 3 {
		t.Errorf("%v", l)
	}
	if UIDList("1.2.x") != nil || UIDList("1.2,../etc") != nil {
		t.Error("bad UIDs accepted")
	}
}
